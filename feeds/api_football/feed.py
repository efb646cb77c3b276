"""API-Football as the live engine's Feed: the day planned around its request budget.

* Once a UTC day (at start, then after midnight when the quota resets) one ``fixtures``
  request per configured league fetches yesterday .. `schedule_days` ahead: every kick-off,
  postponement and final score of the week, for reminders and ``/next``.
* While a followed match is in play (or kicks off within `lead`), ``fixtures?ids=`` asks for
  all of them at once, 20 a request, events included — scorers, cards, VAR.
* How often is the `DayPlanner`'s answer: the requests left today spread over the live
  minutes still to come. When that is slower than its `slowest`, a warning says so (again
  only when it gets noticeably worse) and `budget_note` carries it to ``/stats``.

Error handling, backoff and the per-minute budget are the shared `QuotaPoller`'s and
`RequestBudget`'s (feeds/polling.py, feeds/quota.py); only the plan is this feed's own: a
day's budget, not a minute's, is what API-Football's free plan runs out of.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import date, datetime, timedelta

from feeds.api_football.client import MAX_IDS, ApiFootballClient
from feeds.api_football.parsing import Fixture, fixture_id
from feeds.api_football.planner import DayPlanner, Plan, next_reset
from feeds.base import FeedError, PollResult
from feeds.model import MatchState, Status
from feeds.polling import FORGET_AFTER, STALE_KICKOFF, QuotaPoller

log = logging.getLogger("matchday.feeds.api_football")

#: Followed fixtures between two instants (the store's answer), for planning the day.
Followed = Callable[[datetime, datetime], Awaitable[Collection[str]]]
# A look costs nothing: it replans the day for matches followed since (one followed while
# live or about to start makes the engine ask at once, bot/engine.py).
_IDLE_CHECK = timedelta(minutes=15)


class ApiFootballFeed(QuotaPoller):
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
        super().__init__(client.budget, lead=lead, rng=rng)
        self.client = client
        self.leagues = tuple(dict.fromkeys(leagues))
        self.planner = planner or DayPlanner()
        self.followed = followed
        self.schedule_days = schedule_days
        self.plan: Plan | None = None
        self._fixtures: dict[str, Fixture] = {}
        self._scheduled: set[tuple[date, tuple[int, int]]] = set()  # (day, league) fetched
        self._schedule_day: date | None = None  # the UTC day whose schedule is complete
        self._last_live: datetime | None = None
        self._warned: timedelta | None = None  # the interval the last warning announced
        self._unsent: list[MatchState] = []
        self._urgent: set[int] = set()  # fixtures to ask for by id, events and all

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

    # ---- what QuotaPoller asks of a source

    def _redact(self, text: str) -> str:
        return self.client._redact(text)

    async def _fetch_match(self, key: str) -> MatchState | None:
        fid = fixture_id(key)
        if fid is None:
            return None  # another source's match (an import): nothing to settle here
        fixtures = await self.client.fixtures_by_ids([fid])
        return fixtures[0].state if fixtures else None

    async def refresh(self, now: datetime, keys: Collection[str]) -> list[MatchState]:
        """Fixtures the engine wants settled, 20 a request, only from what today's plan
        leaves over: a stuck match must not eat the followed matches' live updates."""
        ids = sorted({i for k in keys if (i := fixture_id(k)) is not None})
        spare = (self.plan.spendable - self._live_cost(now)) if self.plan else 0
        out: list[MatchState] = []
        for start in range(0, len(ids), MAX_IDS):
            if spare <= 0 or self.client.seconds_until_slot() > 0:
                break
            try:
                fixtures = await self.client.fixtures_by_ids(ids[start : start + MAX_IDS])
            except asyncio.CancelledError:
                raise
            except FeedError as exc:
                log.warning("API-Football: could not settle %d fixtures: %s", len(ids), exc)
                break
            spare -= 1
            out += self._keep(now, fixtures)
        return out

    # ---- the plan

    def _live_cost(self, now: datetime) -> int:
        """Requests the plan still means to spend on live polls today."""
        plan = self.plan
        if plan is None or plan.interval is None:
            return 0
        return math.ceil(plan.live_minutes / (plan.interval.total_seconds() / 60) - 1e-6)

    def _keep(self, now: datetime, fixtures: Sequence[Fixture]) -> list[MatchState]:
        for fixture in fixtures:
            self._fixtures[fixture.key] = fixture
        horizon = now - FORGET_AFTER
        for key in [k for k, f in self._fixtures.items() if f.state.kickoff < horizon]:
            del self._fixtures[key]
        states = [f.state for f in fixtures]
        self._remember(now, states)
        return states

    def _wants_live(self, fixture: Fixture, now: datetime) -> bool:
        state = fixture.state
        if state.status.in_play or fixture.status_short == "INT":  # interrupted: may resume
            return now <= state.kickoff + 2 * STALE_KICKOFF
        return (
            state.status is Status.SCHEDULED
            and state.kickoff - self.lead <= now <= state.kickoff + STALE_KICKOFF
        )

    async def _followed_states(self, now: datetime, watched: Collection[str]) -> list[MatchState]:
        """Followed fixtures up to the daily reset, and whatever the engine watches now; all
        known ones without a `followed` hook (planning for more only makes it cautious)."""
        if self.followed is None:
            return [f.state for f in self._fixtures.values()]
        keys = {*await self.followed(now, next_reset(now)), *watched}
        return [self._fixtures[k].state for k in keys if k in self._fixtures]

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
        elif self._warned is None or plan.interval is None or plan.interval > self._warned * 1.25:
            log.warning("API-Football budget: %s", plan.note)
            self._warned = plan.interval or timedelta.max / 2
        self.plan = plan
        return plan

    async def _poll(self, now: datetime, watched: Collection[str]) -> PollResult:
        if self._last_now is not None and now < self._last_now:
            # the bot's clock went back (a new replay): forget what was due when
            self._last_live = self._retry_at = self._schedule_day = None
        self._last_now = now
        if self._retry_at is not None and now < self._retry_at:
            return PollResult([], self._retry_at, observed=False)
        self._retry_at = None
        # Everything fetched goes to `_unsent` first and leaves it only with a poll that
        # succeeds whole: a request failing half-way through loses nothing already fetched.
        asked = self._schedule_day != now.date()
        if asked:
            schedule = await self._fetch_schedule(now)
            # Lists carry no events: a watched match the schedule shows started or over (the
            # bot was down, or it is midnight) is asked for by id at once, events and all.
            self._urgent |= {
                i for s in schedule if s.key in watched and (i := fixture_id(s.key))
                and (s.status.in_play or s.status is Status.FINISHED)
            }  # fmt: skip
        plan = self._replan(now, await self._followed_states(now, watched))
        live = {f.id for k in watched if (f := self._fixtures.get(k)) and self._wants_live(f, now)}
        due = plan.interval is not None and (
            self._last_live is None or now >= self._last_live + plan.interval
        )
        wanted = sorted(self._urgent | (live if due else set()))
        for start in range(0, len(wanted), MAX_IDS):
            fixtures = await self.client.fixtures_by_ids(wanted[start : start + MAX_IDS])
            self._unsent += self._keep(now, fixtures)
        if wanted:
            self._last_live = now
        self._urgent = set()
        self._failures = 0
        # The latest state of each match only: a list's event-less word on a match asked for
        # by id just after must not reach the store first as goals without scorers.
        latest = {state.key: state for state in self._unsent}
        states, self._unsent = list(latest.values()), []
        return PollResult(states, self._next(now, watched, plan), observed=asked or bool(wanted))

    async def _fetch_schedule(self, now: datetime) -> list[MatchState]:
        """One request per league not yet fetched today; what a failure interrupts keeps
        what came before it (in `_unsent`) and asks only for the rest next time."""
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
            fetched = self._keep(now, fixtures)
            self._unsent += fetched
            states += fetched
        self._schedule_day = today
        log.info("API-Football: schedule of %d leagues, %d fixtures", len(self.leagues),
                 len(states))  # fmt: skip
        return states

    def _next(self, now: datetime, watched: Collection[str], plan: Plan) -> datetime:
        """The next instant worth a look on the bot's clock (a look costs nothing by itself)."""
        wake = min(next_reset(now) + timedelta(seconds=30), now + _IDLE_CHECK)
        live = any(
            (f := self._fixtures.get(k)) is not None and self._wants_live(f, now) for k in watched
        )
        if live and plan.interval is not None and self._last_live is not None:
            wake = min(wake, max(now, self._last_live + plan.interval))
        for fixture in self._fixtures.values():
            start = fixture.state.kickoff - self.lead
            if fixture.state.status is Status.SCHEDULED and now < start < wake:
                wake = start
        return wake

    async def aclose(self) -> None:
        await self.client.aclose()
