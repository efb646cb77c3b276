"""The live engine: poll the feed on the virtual clock, diff into the store, queue reminders."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from feeds.base import Feed, FeedError
from feeds.model import MatchState, Status
from feeds.observe import MatchClock, Observer, Watch
from handlers.alerts import render_alert
from storage.store import Store, from_db, to_db

log = logging.getLogger("matchday.engine")

WATCH_LEAD = timedelta(minutes=15)
LAST_POLL = "engine.last_poll"
LAST_OBSERVED = "engine.last_observed"  # the last poll that fetched: the observation gap
FEED_BUDGET = "feed.budget"  # the feed's own word on its request budget, for /stats
CLOCKS = "engine.clocks"  # each match in play's own clock (feeds/observe.py)
ERROR_BACKOFF = timedelta(minutes=1)
STUCK_AFTER = timedelta(hours=3)  # "in play" this long after kick-off: fetch it by id
SETTLE_EVERY = timedelta(minutes=5)


class LiveEngine:
    """One poll shared by every chat; each tick is safe to repeat and to interrupt."""

    def __init__(
        self, store: Store, feed: Feed, clock: Clock, on_alerts: Callable[[], None]
    ) -> None:
        self.store = store
        self.feed = feed
        self.clock = clock
        self.on_alerts = on_alerts
        self.next_poll: datetime | None = None
        self.observer = Observer()
        self._first = True
        self._last_observed: datetime | None = None
        self._settled_at: datetime | None = None
        self._budget_note: str | None = None
        self._watched: frozenset[str] = frozenset()  # what the last poll was told to watch

    async def tick(self) -> None:
        now = self.clock.now()
        queued = 0
        watched = await self.store.watched_keys(now, WATCH_LEAD)
        if self.next_poll is None or now >= self.next_poll or self._newly_watched(watched):
            queued += await self._poll(now, watched)
        queued += await self.store.queue_due_reminders(now, render_alert)
        if queued:
            self.on_alerts()

    def _newly_watched(self, watched: list[str]) -> bool:
        """A match became watched since the last poll (a /follow, a new chat following, a
        kick-off coming within the lead): the feed planned that poll's `next_poll_at` without
        it, maybe 15 minutes of idle away, so it is asked again now and plans anew — its own
        budget still decides whether it spends a request. The store is the one place every
        replica's follows meet, so one indexed query a tick sees them all."""
        return not self._watched.issuperset(watched)

    async def _poll(self, now: datetime, watched: list[str]) -> int:
        self._watched = frozenset(watched)
        try:
            result = await self.feed.poll(now, watched)
            states = list(result.states)
            settled = await self._settle(now, {s.key for s in states})
        except FeedError as exc:  # feeds should not raise, but a store must outlive a feed
            log.warning("feed %s failed: %s", self.feed.name, exc)
            self.next_poll = now + ERROR_BACKOFF
            return 0
        if self._first:
            await self._load(now)
        silent = self._first and await self._rewound(now)
        self._first = False
        admitted = await self._admit([*states, *settled], now, trust=silent)
        watch = Watch(now, self._last_observed)
        applied = await self.store.apply(
            admitted, now, render_alert, silent=silent, watch=watch, meta={LAST_POLL: to_db(now)}
        )  # what was seen and when, in one transaction: a kill cannot part them
        if applied.alerts:
            self.on_alerts()  # before the bookkeeping below: a goal should not wait for it
        await self._remember(now, admitted, observed=result.observed or bool(settled))
        self.next_poll = result.next_poll_at
        if applied.changed:
            log.info(
                "feed %s: %d matches changed, %d alerts queued, %d events caught up quietly",
                self.feed.name, applied.changed, applied.alerts, applied.silent_events,
            )  # fmt: skip
        return applied.alerts

    async def _admit(
        self, states: list[MatchState], now: datetime, *, trust: bool
    ) -> list[MatchState]:
        """What the observer lets through: stale answers and unconfirmed drops stay out
        (unless the clock was rewound, when the feed's past is the truth to record)."""
        stored = await self.store.matches_by_key([s.key for s in states]) if states else {}
        admitted = []
        for state in states:
            state = self.observer.admit(
                stored.get(state.key), state, now, self._last_observed, trust=trust
            )
            if state is not None:
                admitted.append(state)
        return admitted

    async def _settle(self, now: datetime, polled: set[str]) -> list[MatchState]:
        """Matches the store holds "in play" long past kick-off: ask the feed for each by id,
        so none stays live forever (the bot was down across a final whistle, or the match
        left the polled window)."""
        if self._settled_at is not None and now - self._settled_at < SETTLE_EVERY:
            return []
        self._settled_at = now
        stuck = [k for k in await self.store.stuck_keys(now - STUCK_AFTER) if k not in polled]
        return await self.feed.refresh(now, stuck) if stuck else []

    async def _load(self, now: datetime) -> None:
        """The observation record a previous run left: its last look and the match clocks."""
        # A store from before observations were recorded: its last poll is the best guess.
        last = await self.store.get_meta(LAST_OBSERVED) or await self.store.get_meta(LAST_POLL)
        self._last_observed = from_db(last) if last else None
        try:
            raw = json.loads(await self.store.get_meta(CLOCKS) or "{}")
            self.observer.clocks.update({k: MatchClock.loads(v) for k, v in raw.items()})
        except (ValueError, AttributeError):
            log.warning("unreadable match clocks in the store; minutes fall back to the feed")

    async def _remember(self, now: datetime, admitted: list[MatchState], observed: bool) -> None:
        for state in admitted:
            if state.status is Status.FINISHED and state.key in self.observer.clocks:
                self.observer.forget(state.key)
                self.observer.dirty.add(state.key)
        if self.observer.dirty:
            clocks = {k: c.dumps() for k, c in self.observer.clocks.items()}
            await self.store.set_meta(CLOCKS, json.dumps(clocks))
            self.observer.dirty.clear()
        note = getattr(self.feed, "budget_note", None)  # a feed on a daily budget says how it goes
        if isinstance(note, str) and note != self._budget_note:
            await self.store.set_meta(FEED_BUDGET, note)  # for /stats, in any process
            self._budget_note = note
        if observed:
            await self.store.set_meta(LAST_OBSERVED, to_db(now))
            self._last_observed = now

    async def _rewound(self, now: datetime) -> bool:
        """A clock started before the store's last poll replays the past: alert nothing of it."""
        last = await self.store.get_meta(LAST_POLL)
        return last is not None and from_db(last) > now + timedelta(minutes=1)
