"""The live engine: poll the feed on the virtual clock, diff into the store, queue reminders."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from feeds.base import Feed, FeedError
from handlers.alerts import render_alert
from storage.store import Store, from_db, to_db

log = logging.getLogger("matchday.engine")

WATCH_LEAD = timedelta(minutes=15)
LAST_POLL = "engine.last_poll"
ERROR_BACKOFF = timedelta(minutes=1)


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
        self._first = True

    async def tick(self) -> None:
        now = self.clock.now()
        queued = 0
        if self.next_poll is None or now >= self.next_poll:
            queued += await self._poll(now)
        queued += await self.store.queue_due_reminders(now, render_alert)
        if queued:
            self.on_alerts()

    async def _poll(self, now: datetime) -> int:
        try:
            result = await self.feed.poll(now, await self.store.watched_keys(now, WATCH_LEAD))
        except FeedError as exc:  # feeds should not raise, but a store must outlive a feed
            log.warning("feed %s failed: %s", self.feed.name, exc)
            self.next_poll = now + ERROR_BACKOFF
            return 0
        silent = self._first and await self._rewound(now)
        self._first = False
        applied = await self.store.apply(result.states, now, render_alert, silent=silent)
        if applied.alerts:
            self.on_alerts()  # before the bookkeeping below: a goal should not wait for it
        await self.store.set_meta(LAST_POLL, to_db(now))
        self.next_poll = result.next_poll_at
        if applied.changed:
            log.info(
                "feed %s: %d matches changed, %d alerts queued, %d old events recorded quietly",
                self.feed.name, applied.changed, applied.alerts, applied.silent_events,
            )  # fmt: skip
        return applied.alerts

    async def _rewound(self, now: datetime) -> bool:
        """A clock started before the store's last poll replays the past: alert nothing of it."""
        last = await self.store.get_meta(LAST_POLL)
        return last is not None and from_db(last) > now + timedelta(minutes=1)
