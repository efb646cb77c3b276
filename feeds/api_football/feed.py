"""API-Football as the live engine's Feed: the day planned around its request budget.

* Once a UTC day (at start, then after midnight when the quota resets) one ``fixtures``
  request per configured league fetches yesterday .. `schedule_days` ahead: every kick-off,
  postponement and final score of the week, for reminders and ``/next``.
* While a followed match is in play (or kicks off within `lead`), ``fixtures?ids=`` asks for
  all of them at once, 20 a request, events included — scorers, cards, VAR.
* How often is the `DayPlanner`'s answer: the requests left today spread over the live
  minutes still to come. When that is slower than its `slowest`, a warning says so once
  per change and `budget_note` carries it to ``/stats`` and ``/metrics``.

Errors never escape `poll`: a spent minute waits for the next one, a spent day for midnight
UTC, a wrong key retries hourly with an error log, anything else backs off exponentially.
"""

from __future__ import annotations

import asyncio
import logging
import random
import traceback
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from feeds.api_football.client import MAX_IDS, ApiFootballClient
from feeds.api_football.errors import (
    ApiFootballAuthError,
    ApiFootballDailyLimit,
    ApiFootballRateLimited,
)
from feeds.api_football.parsing import Fixture, fixture_id
from feeds.api_football.planner import DayPlanner, Plan, next_reset
from feeds.base import FeedError, PollResult
from feeds.model import MatchState, Status

log = logging.getLogger("matchday.feeds.api_football")

Followed = Callable[[datetime, datetime], Awaitable[Collection[str]]]
_STALE = timedelta(hours=4)  # a fixture still "not started" this late is not polled live
_FORGET = timedelta(days=3)
_BACKOFF_START, _BACKOFF_CAP = 30.0, 15 * 60.0
_AUTH_RETRY = timedelta(hours=1)
_IDLE_CHECK = timedelta(minutes=15)  # costs nothing: picks up matches followed meanwhile


class ApiFootballFeed:
    """The Feed the live engine polls; shares one client (and so one quota view)."""

    name = "api-football"

    def __init__(
        self,
        client: ApiFootballClient,
        leagues: Sequence[tuple[int, int]],
        *,
        planner: DayPlanner | None = None,
        followed: Followed | None = None,
        schedule_days: int = 7,
        lead: timedelta = timedelta(minutes=2),
        rng: random.Random | None = None,
    ) -> None:
        if not leagues:
            raise ValueError("API-Football needs at least one league:season (API_FOOTBALL_LEAGUES)")
        self.client = client
        self.leagues = tuple(dict.fromkeys(leagues))
        self.planner = planner or DayPlanner()
        self.followed = followed
        self.schedule_days = schedule_days
        self.lead = lead
        self.plan: Plan | None = None
        self._rng = rng or random.Random()
        self._known: dict[str, Fixture] = {}
        self._scheduled: set[tuple[date, tuple[int, int]]] = set()  # (day, league) fetched
        self._schedule_day: date | None = None  # the UTC day whose schedule is complete
        self._last_live: datetime | None = None
        self._retry_at: datetime | None = None
        self._failures = 0
        self._warned: timedelta | None = None  # the interval the last warning announced

    # ---- figures for /stats and /metrics

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    @property
    def quota_remaining(self) -> int | None:
        return self.client.daily_remaining()

    @property
    def budget_note(self) -> str | None:
        """The planner's last word on today's budget (None before the first plan)."""
        return self.plan.note if self.plan else None

    @property
    def known(self) -> Mapping[str, Fixture]:
        return dict(self._known)

    # ---- the Feed protocol

    async def poll(self, now: datetime, watched: Collection[str]) -> PollResult:
        """Fetch what is due and affordable; never raises but CancelledError."""
        now = now.astimezone(UTC)
        try:
            return await self._poll(now, watched)
        except asyncio.CancelledError:
            raise
        except ApiFootballDailyLimit as exc:
            self._retry_at = max(now + timedelta(seconds=60), next_reset(now))
            log.warning("%s; next try after the reset at %s", exc, f"{self._retry_at:%H:%M} UTC")
        except ApiFootballRateLimited as exc:
            self._retry_at = now + timedelta(seconds=exc.retry_after + self._rng.uniform(0, 1))
            log.info("API-Football: %s", exc)
        except ApiFootballAuthError as exc:
            self._retry_at = now + _AUTH_RETRY
            log.error("API-Football refused the key (%s); check API_FOOTBALL_KEY", exc)
        except FeedError as exc:
            self._failures += 1
            self._retry_at = now + self._backoff()
            log.warning("API-Football poll failed (%s): %s; retry %d at %s", type(exc).__name__,
                        exc, self._failures, f"{self._retry_at:%H:%M:%S}")  # fmt: skip
        except Exception as exc:
            self._failures += 1
            self._retry_at = now + self._backoff()
            text = self.client._redact("".join(traceback.format_exception(exc)))
            log.error("API-Football poll crashed; retry %d\n%s", self._failures, text)
        return PollResult([], self._retry_at)

    async def refresh(self, now: datetime, keys: Collection[str]) -> list[MatchState]:
        """These fixtures by id, 20 a request, as far as both budgets allow now."""
        ids = sorted({i for k in keys if (i := fixture_id(k)) is not None})
        out: list[MatchState] = []
        for start in range(0, len(ids), MAX_IDS):
            left = self.client.daily_remaining()
            if self.client.seconds_until_slot() > 0 or (left is not None and left <= 0):
                break
            try:
                fixtures = await self.client.fixtures_by_ids(ids[start : start + MAX_IDS])
            except FeedError as exc:
                log.warning("API-Football: could not refresh %d fixtures: %s", len(ids), exc)
                break
            out += self._remember(now, fixtures)
        return out

    async def aclose(self) -> None:
        await self.client.aclose()

    # ---- the plan

    def _backoff(self) -> timedelta:
        base = min(_BACKOFF_CAP, _BACKOFF_START * 2 ** max(0, self._failures - 1))
        return timedelta(seconds=base * self._rng.uniform(0.8, 1.2))

    def _remember(self, now: datetime, fixtures: Sequence[Fixture]) -> list[MatchState]:
        for fixture in fixtures:
            self._known[fixture.key] = fixture
        horizon = now - _FORGET
        for key in [k for k, f in self._known.items() if f.state.kickoff < horizon]:
            del self._known[key]
        return [f.state for f in fixtures]

    def _wants_live(self, fixture: Fixture, now: datetime) -> bool:
        state = fixture.state
        if state.status.in_play or fixture.status_short == "INT":  # interrupted: may resume
            return now <= state.kickoff + _STALE + _STALE
        return (
            state.status is Status.SCHEDULED
            and state.kickoff - self.lead <= now <= state.kickoff + _STALE
        )

    async def _followed_states(self, now: datetime) -> list[MatchState]:
        """Followed fixtures up to the daily reset; all known ones without a `followed` hook
        (planning for more than is followed only makes the plan cautious)."""
        if self.followed is None:
            return [f.state for f in self._known.values()]
        keys = await self.followed(now, next_reset(now))
        return [self._known[k].state for k in keys if k in self._known]

    def _replan(self, now: datetime, followed: Sequence[MatchState]) -> Plan:
        left = self.client.daily_remaining()
        if left is None:
            left = self.client.quota.daily_limit or 100  # the free plan until told otherwise
        pending = 0 if self._schedule_day == now.date() else len(self.leagues)
        plan = self.planner.plan(now, followed, left, held_back=pending)
        if plan.covered:
            if self._warned is not None:
                log.info("API-Football budget covers the day again: %s", plan.note)
            self._warned = None
        elif (
            self._warned is None
            or plan.interval is None
            or plan.interval > self._warned * 1.25  # noticeably worse than last said
        ):
            log.warning("API-Football budget: %s", plan.note)
            self._warned = plan.interval or timedelta.max / 2
        self.plan = plan
        return plan

    async def _poll(self, now: datetime, watched: Collection[str]) -> PollResult:
        if self._retry_at is not None and now < self._retry_at:
            return PollResult([], self._retry_at)
        self._retry_at = None
        states: list[MatchState] = []
        if self._schedule_day != now.date():
            states += await self._fetch_schedule(now)
        plan = self._replan(now, await self._followed_states(now))
        live = sorted(
            f.id for k in watched if (f := self._known.get(k)) and self._wants_live(f, now)
        )
        due = self._last_live is None or (
            plan.interval is not None and now >= self._last_live + plan.interval
        )
        if live and due and plan.interval is not None:
            for start in range(0, len(live), MAX_IDS):
                fixtures = await self.client.fixtures_by_ids(live[start : start + MAX_IDS])
                states += self._remember(now, fixtures)
            self._last_live = now
        self._failures = 0
        return PollResult(states, self._next(now, watched, plan))

    async def _fetch_schedule(self, now: datetime) -> list[MatchState]:
        """One request per league not yet fetched today; a failure keeps the others."""
        today = now.date()
        self._scheduled = {done for done in self._scheduled if done[0] == today}
        states: list[MatchState] = []
        for league in self.leagues:
            if (today, league) in self._scheduled:
                continue
            fixtures = await self.client.fixtures(
                league[0], league[1], today - timedelta(days=1),
                today + timedelta(days=self.schedule_days),
            )  # fmt: skip
            self._scheduled.add((today, league))
            states += self._remember(now, fixtures)
        self._schedule_day = today
        log.info("API-Football: schedule of %d leagues, %d fixtures", len(self.leagues),
                 len(states))  # fmt: skip
        return states

    def _next(self, now: datetime, watched: Collection[str], plan: Plan) -> datetime:
        """The next instant worth a look on the bot's clock (a look costs nothing by itself)."""
        wake = min(next_reset(now) + timedelta(seconds=30), now + _IDLE_CHECK)
        live = any(
            (f := self._known.get(k)) is not None and self._wants_live(f, now) for k in watched
        )
        if live and plan.interval is not None and self._last_live is not None:
            wake = min(wake, max(now, self._last_live + plan.interval))
        for fixture in self._known.values():
            start = fixture.state.kickoff - self.lead
            if fixture.state.status is Status.SCHEDULED and now < start < wake:
                wake = start
        return wake
