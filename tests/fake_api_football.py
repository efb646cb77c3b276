"""A fake API-Football v3 server for tests: real HTTP on 127.0.0.1, v3 shapes, both quotas.

Matches are played from timelines: a `Script` is a fixture's kick-off and teams plus a list
of `Step`s, each happening some real minutes after kick-off on the fake's clock (phase
changes, goals, cards, VAR decisions, shoot-out kicks; tests/api_football_timelines.py
writes them, and renders football-data's `Timeline`s as v3 too). What ``/fixtures``
answers is the script folded up to the clock's now, so a test moves time and the server
plays on.

Like the real service it wants ``x-apisports-key`` (a wrong or missing key gets 200 with
``errors.token``), sends ``x-ratelimit-requests-limit/-remaining`` (per day, reset at
midnight UTC on its clock) and ``X-RateLimit-Limit/-Remaining`` (per minute) on every answer,
answers a spent day with 200 and ``errors.requests``, a busy minute with 429 and
``errors.rateLimit``, lists without events and ``fixtures?ids=`` (at most 20) with them.
``fail_next`` queues misbehaviour; ``requests`` records everything asked.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Protocol

from aiohttp import web

DAILY_SPENT = (
    "You have reached the request limit for the day, Go to https://dashboard.api-football.com"
    " to upgrade your plan."
)
MISSING_KEY = (
    "Error/Missing application key. Go to https://www.api-football.com/documentation-v3 to "
    "learn how to get your API application key."
)
LONG = {
    "TBD": "Time To Be Defined", "NS": "Not Started", "1H": "First Half", "HT": "Halftime",
    "2H": "Second Half", "ET": "Extra Time", "BT": "Break Time", "P": "Penalty In Progress",
    "FT": "Match Finished", "AET": "Match Finished", "PEN": "Match Finished",
    "SUSP": "Match Suspended", "INT": "Match Interrupted", "PST": "Match Postponed",
    "CANC": "Match Cancelled", "ABD": "Match Abandoned", "AWD": "Technical Loss",
    "WO": "WalkOver", "LIVE": "In Progress",
}  # fmt: skip


_CAPS = {"1H": 45, "2H": 90, "ET": 105}


def real_minutes(minute: int, extra: int = 0) -> float:
    """Real minutes after kick-off at which a match minute happens: 15 for half-time, 5
    before extra time, 2 at its turn-around."""
    after = minute + extra
    if minute > 45:
        after += 15
    if minute > 90:
        after += 5
    if minute > 105:
        after += 2
    return float(after)


@dataclass(frozen=True)
class Step:
    """One change to a fixture, `after` real minutes after kick-off."""

    after: float
    status: str | None = None
    elapsed: int | None = None
    extra: int | None = None
    event: Mapping[str, Any] | None = None
    delta: tuple[int, int] = (0, 0)  # to goals
    pens: tuple[int, int] = (0, 0)  # to the shoot-out tally
    drop_goal_at: tuple[int, int] | None = None  # (side, minute): the goal event vanishes


class Playable(Protocol):
    """A fixture the fake can serve: a `Script`, or another timeline rendered as v3."""

    id: int
    league: int
    season: int

    @property
    def kickoff(self) -> datetime: ...

    def at(self, now: datetime) -> dict[str, Any]: ...


@dataclass
class Team:
    name: str
    id: int


@dataclass
class Script:
    """A fixture and its timeline; steps may be given in any order."""

    id: int
    kickoff: datetime
    home: Team
    away: Team
    league: int = 1
    season: int = 2026
    league_name: str = "World Cup"
    round: str = "Group Stage - 1"
    venue: str = "Estadio Azteca"
    steps: list[Step] = field(default_factory=list)

    def side_team(self, side: int) -> Team:
        return self.home if side == 1 else self.away

    def at(self, now: datetime) -> dict[str, Any]:
        """The v3 fixture object as of `now`."""
        short, elapsed, extra = "NS", None, None
        goals: list[int] | None = None
        pens = [0, 0]
        half = full = None
        events: list[dict[str, Any]] = []
        reached = (now - self.kickoff).total_seconds() / 60
        running = (0.0, 0)  # (real minutes, match minute) where the running phase began
        for step in sorted(self.steps, key=lambda s: s.after):
            if step.after > reached:
                break
            if step.status is not None:
                if step.status == "HT" and goals is not None:
                    half = list(goals)
                if step.status in {"ET", "BT", "FT"} and short == "2H" and goals is not None:
                    full = list(goals)
                short = step.status
            if step.elapsed is not None:
                elapsed, extra = step.elapsed, step.extra
                running = (step.after, step.elapsed)
            if short not in {"NS", "TBD", "PST", "CANC"} and goals is None:
                goals = [0, 0]
            if goals is not None:
                goals = [goals[0] + step.delta[0], goals[1] + step.delta[1]]
            pens = [pens[0] + step.pens[0], pens[1] + step.pens[1]]
            if step.drop_goal_at is not None:
                side, minute = step.drop_goal_at
                team_id = self.side_team(side).id
                events = [
                    e for e in events
                    if not (e["type"] == "Goal" and e["team"]["id"] == team_id
                            and e["time"]["elapsed"] == minute)
                ]  # fmt: skip
            if step.event is not None:
                events.append(dict(step.event))
        if short in _CAPS:  # the clock runs: 90+4 once past 90
            cap = _CAPS[short] if running[1] <= 105 or short != "ET" else 120
            elapsed = running[1] + int(reached - running[0])
            extra = elapsed - cap if elapsed > cap else None
            elapsed = min(elapsed, cap)
        went_extra = short in {"ET", "BT", "P", "AET", "PEN"}
        extratime = None
        if went_extra and goals is not None and full is not None:
            extratime = {"home": goals[0] - full[0], "away": goals[1] - full[1]}
        if short == "FT" and goals is not None:
            full = list(goals)
        shootout = short in {"P", "PEN"}
        return {
            "fixture": {
                "id": self.id, "referee": None, "timezone": "UTC",
                "date": self.kickoff.isoformat(), "timestamp": int(self.kickoff.timestamp()),
                "periods": {"first": None, "second": None},
                "venue": {"id": 1, "name": self.venue, "city": "Somewhere"},
                "status": {"long": LONG.get(short, short), "short": short,
                           "elapsed": elapsed, "extra": extra},
            },
            "league": {
                "id": self.league, "name": self.league_name, "country": "World",
                "season": self.season, "round": self.round,
            },
            "teams": {
                "home": {"id": self.home.id, "name": self.home.name, "winner": None},
                "away": {"id": self.away.id, "name": self.away.name, "winner": None},
            },
            "goals": _pair(goals),
            "score": {
                "halftime": _pair(half), "fulltime": _pair(full),
                "extratime": extratime, "penalty": _pair(pens) if shootout else _pair(None),
            },
            "events": events,
        }  # fmt: skip


def _pair(values: list[int] | None) -> dict[str, int | None]:
    if values is None:
        return {"home": None, "away": None}
    return {"home": values[0], "away": values[1]}


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True, slots=True)
class Recorded:
    path: str
    query: dict[str, str]
    at: datetime
    status: int
    keyed: bool  # the right key came in the header
    errors: Mapping[str, str]


@dataclass
class _Failure:
    status: int
    errors: Mapping[str, str] | None
    raw: bytes | None


class FakeApiFootball:
    """The fake service. `clock` is its wall clock (fixtures and the daily reset follow it);
    `monotonic` its per-minute clock. Both default to real time."""

    def __init__(
        self,
        key: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        daily_limit: int = 100,
        minute_limit: int = 10,
        host: str = "127.0.0.1",
    ) -> None:
        self.key = key
        self.clock = clock
        self.monotonic = monotonic
        self.daily_limit = daily_limit
        self.minute_limit = minute_limit
        self.host = host
        self.scripts: dict[int, Playable] = {}
        self.requests: list[Recorded] = []
        self.daily_used = 0
        self._day: date | None = None
        self._minute: deque[float] = deque()
        self._failures: deque[_Failure | None] = deque()  # None: answer that one normally
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def add(self, *scripts: Playable) -> None:
        for script in scripts:
            self.scripts[script.id] = script

    def fail_next(
        self, status: int = 500, errors: Mapping[str, str] | None = None, raw: bytes | None = None
    ) -> None:
        """The next keyed request gets `status` (with an ``errors`` envelope or a raw body)."""
        self._failures.append(_Failure(status, errors, raw))

    def pass_next(self) -> None:
        """The next keyed request is answered normally (to fail the one after it)."""
        self._failures.append(None)

    def answered(self) -> list[Recorded]:
        """Requests the service counted against the day (keyed, 200, no errors)."""
        return [r for r in self.requests if r.keyed and r.status == 200 and not r.errors]

    # ---- lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/fixtures", self._fixtures)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeApiFootball:
        await self.start()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ---- HTTP

    def _headers(self) -> dict[str, str]:
        now = self.monotonic()
        while self._minute and self._minute[0] <= now - 60:
            self._minute.popleft()
        return {
            "x-ratelimit-requests-limit": str(self.daily_limit),
            "x-ratelimit-requests-remaining": str(max(0, self.daily_limit - self.daily_used)),
            "X-RateLimit-Limit": str(self.minute_limit),
            "X-RateLimit-Remaining": str(max(0, self.minute_limit - len(self._minute))),
        }

    def _envelope(
        self, request: web.Request, response: Iterable[Any], errors: Mapping[str, str]
    ) -> dict[str, Any]:
        items = list(response)
        return {
            "get": request.path.strip("/"), "parameters": dict(request.query),
            "errors": dict(errors) if errors else [], "results": len(items),
            "paging": {"current": 1, "total": 1}, "response": items,
        }  # fmt: skip

    async def _fixtures(self, request: web.Request) -> web.Response:
        now = self.clock()
        if self._day is None:
            self._day = now.date()
        elif self._day != now.date():  # midnight UTC: a new day's quota
            self._day, self.daily_used = now.date(), 0
        keyed = request.headers.get("x-apisports-key") == self.key
        status, errors, body, raw = 200, {}, [], None
        if not keyed:
            errors = {"token": MISSING_KEY}
        elif self.daily_used >= self.daily_limit:
            errors = {"requests": DAILY_SPENT}
        else:
            self._headers()
            if len(self._minute) >= self.minute_limit:
                status = 429
                errors = {"rateLimit": "Too many requests. Your rate limit is "
                          f"{self.minute_limit} requests per minute."}  # fmt: skip
            elif self._failures and self._failures[0] is not None:
                failure = self._failures.popleft()
                status, errors, raw = failure.status, dict(failure.errors or {}), failure.raw
                self._minute.append(self.monotonic())
            else:
                if self._failures:
                    self._failures.popleft()
                self._minute.append(self.monotonic())
                errors, body = self._select(request.query, now)
                if not errors:
                    self.daily_used += 1
        self.requests.append(
            Recorded(request.path, dict(request.query), now, status, keyed, errors)
        )
        headers = self._headers()
        if raw is not None:
            return web.Response(body=raw, status=status, headers=headers,
                                content_type="application/json")  # fmt: skip
        return web.json_response(self._envelope(request, body, errors), status=status,
                                 headers=headers)  # fmt: skip

    def _select(
        self, query: Mapping[str, str], now: datetime
    ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        if "ids" in query:
            raw = [i for i in query["ids"].split("-") if i]
            if not raw or not all(i.isdigit() for i in raw):
                return {"ids": "The Ids field must contain ids separated by a dash."}, []
            if len(raw) > 20:
                return {"ids": "Maximum of 20 ids allowed."}, []
            found = [self.scripts[int(i)].at(now) for i in raw if int(i) in self.scripts]
            return {}, found
        if "league" not in query or "season" not in query:
            return {"required": "At least one parameter is required."}, []
        try:
            league, season = int(query["league"]), int(query["season"])
            start = date.fromisoformat(query.get("from", query.get("date", "")))
            end = date.fromisoformat(query.get("to", query.get("date", "")))
        except ValueError:
            return {"date": "The Date field must contain a valid date (YYYY-MM-DD)."}, []
        out = []
        for script in sorted(self.scripts.values(), key=lambda s: (s.kickoff, s.id)):
            if script.league == league and script.season == season:
                if start <= script.kickoff.date() <= end:
                    item = script.at(now)
                    item.pop("events")  # list views carry no events
                    out.append(item)
        return {}, out
