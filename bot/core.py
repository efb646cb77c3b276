"""What every front end shares: settings, clock, store, feed, live engine and delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

from bot.clock import Clock
from bot.delivery import Delivery, RateGate, Sender
from bot.engine import LiveEngine
from bot.ops import Metrics, Ops
from bot.settings import Settings, SettingsError
from feeds.base import Feed
from feeds.model import MatchState
from handlers.alerts import render_alert
from handlers.base import Reply, Request
from handlers.commands import dispatch
from handlers.countries import warm_up
from storage.health import Health
from storage.leadership import ENGINE, LeadershipLost, SoleProcess
from storage.store import Store

log = logging.getLogger("matchday")
RESTART_CAP = 60.0  # seconds, at most, before a failed background task runs again
EXIT_LEADERSHIP_LOST = 75  # EX_TEMPFAIL: restart me (as a standby)
# Replicas: one sender per platform sends every alert, at this share of MATCHDAY_MAX_SEND_RATE,
# so command replies the other replicas send meanwhile fit in the rest (README, Replicas).
ALERT_SHARE = 0.9


def stop_at_once(exc: LeadershipLost) -> None:
    """Our roles' lock session is gone, so another replica may run them already: stop now,
    sending nothing more (never two senders), and exit non-zero for the supervisor."""
    log.critical("%s: stopping this process at once (exit %d); restarted, it stands by",
                 exc, EXIT_LEADERSHIP_LOST)  # fmt: skip
    logging.shutdown()
    os._exit(EXIT_LEADERSHIP_LOST)


async def supervised(name: str, work: Callable[[], Awaitable[None]], health: Health) -> None:
    """Run `work` until it returns; after an error log it, count it for /stats and run it
    again (1 s, 2 s, ... up to a minute later), so background work never ends silently."""
    delay = 1.0
    while True:
        try:
            await work()
            return
        except Exception as exc:
            log.exception("%s failed; restarting it in %.0f s", name, delay)
            health.failed(name, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_CAP)

PRUNE_BATCH = 500  # rows a tick: a few milliseconds of write lock
PRUNE_EVERY = timedelta(minutes=10)  # of clock time, once the ledger is pruned up to date


def make_feed(settings: Settings, store: Store) -> Feed:
    """The configured source of match states; the replay tells the bundled World Cup and
    every season imported into `store`, on the clock."""
    if settings.feed == "football-data":
        from feeds.football_data import (
            FREE_TIER_COMPETITIONS,
            FootballDataClient,
            FootballDataFeed,
        )

        if not settings.football_data_token:
            raise SettingsError("MATCHDAY_FEED=football-data needs FOOTBALL_DATA_TOKEN")
        client = FootballDataClient(
            settings.football_data_token,
            settings.football_data_url,
            max_requests_per_minute=settings.football_data_rate,
        )
        return FootballDataFeed(
            client,
            settings.football_data_competitions or FREE_TIER_COMPETITIONS,
            max_requests_per_minute=settings.football_data_rate,
        )
    if settings.feed == "api-football":
        from feeds.api_football import ApiFootballClient, ApiFootballFeed

        if not settings.api_football_key:
            raise SettingsError("MATCHDAY_FEED=api-football needs API_FOOTBALL_KEY")
        if not settings.api_football_leagues:
            raise SettingsError(
                "MATCHDAY_FEED=api-football needs API_FOOTBALL_LEAGUES, e.g. 1:2026 (league:season)"
            )
        client = ApiFootballClient(settings.api_football_key, settings.api_football_url)
        return ApiFootballFeed(client, settings.api_football_leagues)
    from feeds.openfootball import load_bundled_world_cup_2018
    from feeds.replay import ReplayFeed

    return ReplayFeed(
        load_bundled_world_cup_2018().matches,
        poll_interval=timedelta(seconds=settings.poll_seconds),
        sources=store,
    )


def _plan_by_follows(feed: Feed, store: Store) -> None:
    """A feed that spreads a daily budget (API-Football) plans by the matches chats follow
    until the budget resets: the store's answer, not every match of the day."""
    from feeds.api_football import ApiFootballFeed

    if isinstance(feed, ApiFootballFeed) and feed.followed is None:

        async def followed(now: datetime, until: datetime) -> list[str]:
            return await store.watched_keys(now, until - now)

        feed.followed = followed


@contextlib.contextmanager
def stop_signals() -> Iterator[asyncio.Event]:
    """An event set by SIGTERM or SIGINT, for front ends that run their own loop (console,
    Discord alone; PTB's `run_polling` does the same for Telegram): they then stop taking
    work and shut down in order instead of dying mid-send."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stopping.set)
    try:
        yield stopping
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def until_either(work: Awaitable[object], stopping: asyncio.Event) -> None:
    """Wait for `work` to end or `stopping` to be set; `work`'s errors propagate."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if task.done():
        task.result()
    else:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class Core:
    settings: Settings
    clock: Clock
    store: Store
    feed: Feed
    gate: RateGate
    delivery: Delivery
    engine: LiveEngine
    metrics: Metrics = field(default_factory=Metrics)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)  # engine ticks
    _delivering: asyncio.Task[None] | None = None
    next_prune: datetime | None = None  # on the clock; None: prune on the next tick
    _ops: web.AppRunner | None = None
    # One tick at a time, whoever asks (PTB's job, the background ticker, a caller that
    # wants the world as of now): a poll's observations must not interleave with another's.
    _ticking: asyncio.Lock = field(default_factory=asyncio.Lock)
    roles: set[str] = field(default_factory=set)  # singleton roles this process runs
    standby: set[str] = field(default_factory=set)  # roles asked for and held elsewhere
    on_leadership_lost: Callable[[LeadershipLost], None] = stop_at_once

    @classmethod
    async def open(cls, settings: Settings, clock: Clock) -> Core:
        store = await Store.open(settings.db_path)
        try:
            feed = make_feed(settings, store)
        except BaseException:
            await store.close()
            raise
        _plan_by_follows(feed, store)
        replicas = not isinstance(store.leadership, SoleProcess)
        gate = RateGate(settings.max_send_rate * (ALERT_SHARE if replicas else 1.0))
        delivery = Delivery(store, {}, clock, gate)
        engine = LiveEngine(store, feed, clock, on_alerts=delivery.wake)
        core = cls(settings, clock, store, feed, gate, delivery, engine)
        delivery.holds = core.holds
        try:
            await core._rewind()
        except BaseException:
            await core.close()
            raise
        # Every CLDR locale's country names take about a second to load: in a worker
        # thread now, rather than in the event loop at the first name a fan types.
        core.tasks.append(asyncio.create_task(asyncio.to_thread(warm_up), name="names"))
        if settings.metrics_listen is not None:
            try:
                core._ops = await Ops(core).serve(*settings.metrics_listen)
            except OSError as exc:
                await core.close()
                raise SettingsError(
                    f"MATCHDAY_METRICS_LISTEN: cannot listen there ({exc.strerror or exc})"
                ) from exc
        return core

    async def _rewind(self) -> None:
        """A replay is the record, not a cache that may be stale: before anyone asks, every
        match the store holds at a later stage than the clock's is set back to it, quietly.
        The live engine takes a step backwards only when a feed confirms it
        (feeds/observe.py), which a store that has seen a later instant — an import, a run
        with a later --now — would otherwise wait a poll for, answering from the future."""
        from feeds.observe import progress
        from feeds.replay import ReplayFeed

        if not isinstance(self.feed, ReplayFeed) or not await self.holds(ENGINE):
            return  # (a standby's replay is the engine holder's business)
        now = self.clock.now()
        states = await self.feed.states_at(now)
        stored = await self.store.matches_by_key([s.key for s in states])

        def behind(state: MatchState) -> bool:
            old = stored.get(state.key)
            if old is None:
                return False
            before, after = progress(old), progress(state)
            return any(a < b for a, b in zip(after, before, strict=True))

        # Only steps backwards: what moved forward is news for the engine to tell.
        rewound = [s for s in states if behind(s)]
        if rewound:
            await self.store.apply(rewound, now, render_alert, silent=True)

    async def run(self, request: Request) -> Reply:
        """Every front end's way into the handlers: one place that times and counts commands."""
        async with self.metrics.command(request.chat.platform):
            return await dispatch(request)

    def add_sender(self, sender: Sender) -> None:
        self.delivery.senders[sender.platform] = sender

    @property
    def tick_seconds(self) -> float:
        """Real seconds between engine ticks: often enough for the clock's speed."""
        return min(5.0, max(0.2, self.settings.poll_seconds / self.clock.speed))

    async def holds(self, role: str) -> bool:
        """Whether this process runs `role` now, taking it if it is free (replicas on one
        PostgreSQL database take turns; a SQLite store's one process runs every role)."""
        try:
            held = await self.store.leadership.holds(role)
        except LeadershipLost as exc:
            self.on_leadership_lost(exc)
            raise
        except Exception as exc:  # the database is unreachable: stand by, ask again later
            log.warning("cannot ask the database who runs %s (%s); standing by", role, exc)
            self.store.health.failed("leadership", exc)
            held = False
        (self.roles if held else self.standby).add(role)
        (self.standby if held else self.roles).discard(role)
        return held

    async def tick(self) -> None:
        if not await self.holds(ENGINE):  # another replica runs the engine: stand by
            self.metrics.last_tick = time.monotonic()  # (alive: /healthz stays green)
            return
        try:
            async with self._ticking, self.metrics.tick():
                await self.engine.tick()
        except Exception as exc:
            log.exception("live engine tick failed; trying again next tick")
            self.store.health.failed("live engine", exc)
        await self.prune_ledger()

    async def prune_ledger(self) -> None:
        """One small batch of settled alerts older than MATCHDAY_LEDGER_DAYS, on the clock.

        A full batch means more are due, so the next tick takes another; otherwise the
        ledger is looked at again after PRUNE_EVERY of clock time.
        """
        now = self.clock.now()
        if self.next_prune is not None and now < self.next_prune:
            return
        older_than = now - timedelta(days=self.settings.ledger_days)
        try:
            pruned = await self.store.prune_ledger(older_than, now, PRUNE_BATCH)
        except Exception as exc:
            log.exception("pruning the alert ledger failed; trying again later")
            self.store.health.failed("ledger pruning", exc)
            pruned = 0
        if pruned:
            log.info("pruned %d settled alerts from before %s", pruned, older_than.isoformat())
        self.next_prune = None if pruned >= PRUNE_BATCH else now + PRUNE_EVERY

    def start_delivery(self) -> None:
        work = supervised("delivery", self.delivery.run, self.store.health)
        self._delivering = asyncio.create_task(work, name="delivery")

    async def start_without_job_queue(self) -> None:
        """For front ends without PTB's JobQueue (console, Discord alone): know the world as
        of the clock's start, then keep ticking and delivering in the background."""
        await self.tick()
        self.tasks.append(asyncio.create_task(self._tick_forever(), name="live-engine"))
        self.start_delivery()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            await self.tick()

    async def stop(self) -> None:
        """Stop taking work (engine ticks), let delivery finish the sends on the wire and
        write their marks. Before any transport closes; safe to call twice."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
        if self._delivering is not None:
            await self.delivery.stop()
            self._delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivering
            self._delivering = None

    async def close(self) -> None:
        await self.stop()
        if self._ops is not None:
            await self._ops.cleanup()
            self._ops = None
        await self.feed.aclose()
        await self.store.close()
