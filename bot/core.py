"""What every front end shares: settings, clock, store, feed, live engine and delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

from bot.clock import Clock
from bot.delivery import Delivery, RateGate, Sender
from bot.engine import LiveEngine
from bot.ops import Metrics, Ops
from bot.settings import Settings, SettingsError
from feeds.base import Feed
from handlers.base import Reply, Request
from handlers.commands import dispatch
from storage.store import Store

log = logging.getLogger("matchday")

PRUNE_BATCH = 500  # rows a tick: a few milliseconds of write lock
PRUNE_EVERY = timedelta(minutes=10)  # of clock time, once the ledger is pruned up to date


def make_feed(settings: Settings) -> Feed:
    """The configured source of match states."""
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
    from feeds.openfootball import load_bundled_world_cup_2018
    from feeds.replay import ReplayFeed

    return ReplayFeed(
        load_bundled_world_cup_2018().matches,
        poll_interval=timedelta(seconds=settings.poll_seconds),
    )


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
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    next_prune: datetime | None = None  # on the clock; None: prune on the next tick
    _ops: web.AppRunner | None = None
    # One tick at a time, whoever asks (PTB's job, the background ticker, a caller that
    # wants the world as of now): a poll's observations must not interleave with another's.
    _ticking: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    async def open(cls, settings: Settings, clock: Clock) -> Core:
        feed = make_feed(settings)
        store = await Store.open(settings.db_path)
        gate = RateGate(settings.max_send_rate)
        delivery = Delivery(store, {}, clock, gate)
        engine = LiveEngine(store, feed, clock, on_alerts=delivery.wake)
        core = cls(settings, clock, store, feed, gate, delivery, engine)
        if settings.metrics_listen is not None:
            try:
                core._ops = await Ops(core).serve(*settings.metrics_listen)
            except OSError as exc:
                await core.close()
                raise SettingsError(
                    f"MATCHDAY_METRICS_LISTEN: cannot listen there ({exc.strerror or exc})"
                ) from exc
        return core

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

    async def tick(self) -> None:
        try:
            async with self._ticking, self.metrics.tick():
                await self.engine.tick()
        except Exception:
            log.exception("live engine tick failed; trying again next tick")
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
        except Exception:
            log.exception("pruning the alert ledger failed; trying again later")
            pruned = 0
        if pruned:
            log.info("pruned %d settled alerts from before %s", pruned, older_than.isoformat())
        self.next_prune = None if pruned >= PRUNE_BATCH else now + PRUNE_EVERY

    def start_delivery(self) -> None:
        self.tasks.append(asyncio.create_task(self.delivery.run(), name="delivery"))

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

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._ops is not None:
            await self._ops.cleanup()
        await self.feed.aclose()
        await self.store.close()
