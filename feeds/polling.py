"""Quota-aware polling, written once for every live feed that pays per request.

A live feed spends a per-minute (or per-day) budget. What to ask and when is the same for
every such source: a schedule refresh now and then, a fast loop only while a followed match
is in play or about to start, an idle loop otherwise, exponential backoff on failures, and
fetching single matches by id to settle ones the windowed answers no longer cover. A source
(football-data.org, API-Football) subclasses `QuotaPoller` and supplies the requests.
"""

from __future__ import annotations

import asyncio
import logging
import random
import traceback
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from feeds.base import FeedError, PollResult
from feeds.model import MatchState, Status
from feeds.quota import RequestBudget

log = logging.getLogger("matchday.feeds.polling")

_BACKOFF_START = 30.0
_BACKOFF_CAP = 15 * 60.0
STALE_KICKOFF = timedelta(hours=4)  # a "scheduled" match this late is stale data
FORGET_AFTER = timedelta(days=3)


class RateLimited(FeedError):
    """Marker base for a source's "429": wait `retry_after` seconds, no backoff growth."""

    retry_after: float


class QuotaPoller:
    """The polling plan of a quota-limited live feed; subclasses make the requests.

    `now` is the bot's (possibly virtual) clock and decides *what* to fetch; the request
    budget runs on the real monotonic clock, so a fast replay cannot outrun it.
    """

    name = "live"

    def __init__(
        self,
        budget: RequestBudget,
        *,
        max_requests_per_minute: int = 10,
        schedule_every: timedelta = timedelta(hours=24),
        live_every: timedelta = timedelta(seconds=30),
        idle_every: timedelta = timedelta(minutes=15),
        lead: timedelta = timedelta(minutes=15),
        rng: random.Random | None = None,
    ) -> None:
        if max_requests_per_minute < 1:
            raise ValueError("max_requests_per_minute must be at least 1")
        self.budget = budget
        self.max_requests_per_minute = max_requests_per_minute
        self.schedule_every = schedule_every
        # Every 30 s when the budget allows; a tiny budget keeps half of it for commands.
        per_poll = timedelta(seconds=60 / max(1, max_requests_per_minute // 2))
        self.live_every = max(live_every, per_poll)
        self.idle_every = idle_every
        self.lead = lead
        self._rng = rng or random.Random()
        self._known: dict[str, MatchState] = {}
        self._last_schedule_at: datetime | None = None
        self._last_fetch_at: datetime | None = None
        self._retry_at: datetime | None = None
        self._failures = 0
        self._last_now: datetime | None = None

    # ---- what a source supplies

    async def _fetch_schedule(self, now: datetime) -> list[MatchState]:
        """Every match of the coming days (one request where the source allows)."""
        raise NotImplementedError

    async def _fetch_live(self, now: datetime) -> list[MatchState]:
        """The matches around now, as cheaply as the source allows."""
        raise NotImplementedError

    async def _fetch_match(self, key: str) -> MatchState | None:
        """One match by its key; None when the source does not know it (any more)."""
        raise NotImplementedError

    def _redact(self, text: str) -> str:
        return text

    # ---- the plan

    @property
    def known(self) -> Mapping[str, MatchState]:
        """The latest state of every match the feed has seen (for diagnostics)."""
        return dict(self._known)

    async def poll(self, now: datetime, watched: Collection[str]) -> PollResult:
        """Fetch if something is due and the budget allows; never raises but CancelledError."""
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        try:
            return await self._poll(now, watched)
        except asyncio.CancelledError:
            raise
        except RateLimited as exc:
            delay = exc.retry_after + self._rng.uniform(0.0, 1.0)
            log.warning("%s rate limited; next try in %.0fs", self.name, delay)
        except FeedError as exc:
            self._failures += 1
            delay = self._backoff()
            log.warning(
                "%s poll failed (%s): %s; retry %d in %.0fs",
                self.name, type(exc).__name__, self._redact(str(exc)), self._failures, delay,
            )  # fmt: skip
        except Exception as exc:
            self._failures += 1
            delay = self._backoff()
            text = "".join(traceback.format_exception(exc))
            log.error(
                "%s poll crashed; retry %d in %.0fs\n%s",
                self.name, self._failures, delay, self._redact(text),
            )  # fmt: skip
        self._retry_at = now + timedelta(seconds=delay)
        return PollResult([], self._retry_at, observed=False)

    async def refresh(self, now: datetime, keys: Collection[str]) -> list[MatchState]:
        """Matches fetched one by one (stuck "in play", or gone from the window), as far as
        the budget allows now; the rest wait for a later tick."""
        states: list[MatchState] = []
        for key in keys:
            if self.budget.seconds_until_slot(self.max_requests_per_minute) > 0:
                break
            try:
                state = await self._fetch_match(key)
            except asyncio.CancelledError:
                raise
            except FeedError as exc:
                log.warning("%s: could not settle %s: %s", self.name, key, self._redact(str(exc)))
                break
            if state is not None:
                states.append(state)
        self._remember(now, states)
        return states

    def _backoff(self) -> float:
        """30 s doubling per consecutive failure, capped at 15 min, ±20 % jitter."""
        base = min(_BACKOFF_CAP, _BACKOFF_START * 2 ** max(0, self._failures - 1))
        return base * self._rng.uniform(0.8, 1.2)

    def _hot(self, now: datetime, watched: Collection[str]) -> bool:
        """A watched match is live, or kicks off within `lead` (and is not long overdue)."""
        for key in watched:
            state = self._known.get(key)
            if state is None:
                continue
            if state.status.in_play:
                return True
            if (
                state.status is Status.SCHEDULED
                and state.kickoff - self.lead <= now <= state.kickoff + STALE_KICKOFF
            ):
                return True
        return False

    def _next_due(self, now: datetime, watched: Collection[str]) -> datetime:
        """When the next request is due on the bot's clock."""
        if self._last_schedule_at is None or self._last_fetch_at is None:
            return now
        due = self._last_schedule_at + self.schedule_every
        hot = self._hot(now, watched)
        due = min(due, self._last_fetch_at + (self.live_every if hot else self.idle_every))
        if not hot:
            for key in watched:
                state = self._known.get(key)
                if state is not None and state.status is Status.SCHEDULED:
                    wake = state.kickoff - self.lead
                    if wake > now:
                        due = min(due, wake)
        return due

    async def _poll(self, now: datetime, watched: Collection[str]) -> PollResult:
        if self._last_now is not None and now < self._last_now:
            # the bot's clock went back (a new replay): forget what was due when
            self._last_schedule_at = self._last_fetch_at = self._retry_at = None
        self._last_now = now
        if self._retry_at is not None and now < self._retry_at:
            return PollResult([], self._retry_at, observed=False)
        schedule_due = (
            self._last_schedule_at is None or now >= self._last_schedule_at + self.schedule_every
        )
        if not schedule_due and now < self._next_due(now, watched):
            return PollResult([], self._next_due(now, watched), observed=False)
        wait = self.budget.seconds_until_slot(self.max_requests_per_minute)
        if wait > 0:
            log.debug("%s: request budget spent, waiting %.1fs", self.name, wait)
            return PollResult([], now + timedelta(seconds=wait), observed=False)
        if schedule_due:
            states = await self._fetch_schedule(now)
            self._last_schedule_at = now
            log.info("%s: schedule refreshed, %d matches", self.name, len(states))
        else:
            states = await self._fetch_live(now)
            log.debug("%s: %d matches around now", self.name, len(states))
        self._last_fetch_at = now
        self._failures = 0
        self._retry_at = None
        self._remember(now, states)
        return PollResult(states, max(now, self._next_due(now, watched)))

    def _remember(self, now: datetime, states: Sequence[MatchState]) -> None:
        for state in states:
            self._known[state.key] = state
        horizon = now - FORGET_AFTER
        for key in [k for k, s in self._known.items() if s.kickoff < horizon]:
            del self._known[key]
