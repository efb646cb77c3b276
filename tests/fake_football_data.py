"""A fake football-data.org v4 server for tests: real HTTP on 127.0.0.1, documented shapes.

It answers the resources the bot uses (``/v4/matches``, ``/v4/matches/{id}``,
``/v4/competitions/{code}/scorers`` and ``/standings``) the way
https://docs.football-data.org/general/v4/ describes them: ``X-Auth-Token`` is required
(403 with the documented error body otherwise), every response carries
``X-Requests-Available-Minute`` and ``X-RequestCounter-Reset``, a per-minute quota answers
429 past the limit, list views fold ``goals`` away unless ``X-Unfold-Goals: true``, and
``dateTo`` is exclusive with at most 10 days per window.

Tests script it: ``set_match``/``v4_match`` build the data, ``fail_next``,
``malformed_next`` and ``delay_next`` queue misbehaviour, and ``requests`` records every
request (path, query, time on the injectable clock) so quota tests can count them.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any

from aiohttp import web

#: code -> (id, name, type) for the free-tier competitions, as v4 lists them.
COMPETITIONS: dict[str, tuple[int, str, str]] = {
    "WC": (2000, "FIFA World Cup", "CUP"),
    "CL": (2001, "UEFA Champions League", "CUP"),
    "BL1": (2002, "Bundesliga", "LEAGUE"),
    "DED": (2003, "Eredivisie", "LEAGUE"),
    "BSA": (2013, "Campeonato Brasileiro Série A", "LEAGUE"),
    "PD": (2014, "Primera Division", "LEAGUE"),
    "FL1": (2015, "Ligue 1", "LEAGUE"),
    "ELC": (2016, "Championship", "LEAGUE"),
    "PPL": (2017, "Primeira Liga", "LEAGUE"),
    "EC": (2018, "European Championship", "CUP"),
    "SA": (2019, "Serie A", "LEAGUE"),
    "PL": (2021, "Premier League", "LEAGUE"),
}

ERROR_MESSAGES: dict[int, str] = {
    400: "Bad Request.",
    401: "Your API token is invalid.",
    403: (
        "The resource you are looking for is restricted and apparently not within your "
        "permissions. Please check your subscription."
    ),
    404: "The resource you are looking for does not exist.",
    500: "Internal Server Error.",
    502: "Bad Gateway.",
    503: "Service Unavailable.",
}

LIVE_STATUSES = ("IN_PLAY", "PAUSED", "EXTRA_TIME", "PENALTY_SHOOTOUT")
MAX_WINDOW_DAYS = 10

Team = str | tuple[str, str] | Mapping[str, Any]
Score = tuple[int, int]


# --------------------------------------------------------------------------- builders


def team_id(name: str) -> int:
    """A stable fake team id derived from the name."""
    return 100 + zlib.crc32(name.encode()) % 100_000


def v4_team(team: Team) -> dict[str, Any]:
    """A v4 team node from "Name", ("Name", "TLA") or a ready dict."""
    if isinstance(team, Mapping):
        return dict(team)
    name, tla = (team, team[:3].upper()) if isinstance(team, str) else team
    return {
        "id": team_id(name),
        "name": name,
        "shortName": name,
        "tla": tla,
        "crest": f"https://crests.football-data.org/{team_id(name)}.png",
    }


def v4_competition(code: str) -> dict[str, Any]:
    """A v4 competition node for a known code."""
    ident, name, kind = COMPETITIONS[code]
    return {
        "id": ident,
        "name": name,
        "code": code,
        "type": kind,
        "emblem": f"https://crests.football-data.org/{code}.png",
    }


def _score_node(score: Score | None) -> dict[str, int | None]:
    return {"home": score[0], "away": score[1]} if score else {"home": None, "away": None}


def _iso(moment: datetime | str) -> str:
    if isinstance(moment, str):
        return moment
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def v4_goal(
    minute: int,
    team: Team,
    scorer: str,
    *,
    type: str = "REGULAR",
    injury_time: int | None = None,
    score: Score | None = None,
    assist: str | None = None,
) -> dict[str, Any]:
    """A v4 goals[] entry; `score` is the score right after the goal (v4 changelog)."""
    team_node = v4_team(team)
    goal: dict[str, Any] = {
        "minute": minute,
        "injuryTime": injury_time,
        "type": type,
        "team": {"id": team_node["id"], "name": team_node["name"]},
        "scorer": {"id": team_id(scorer), "name": scorer},
        "assist": {"id": team_id(assist), "name": assist} if assist else None,
    }
    if score is not None:
        goal["score"] = _score_node(score)
    return goal


def v4_match(
    id: int,
    home: Team,
    away: Team,
    utc_date: datetime | str,
    status: str = "TIMED",
    score: Score | None = None,
    *,
    half_time: Score | None = None,
    regular_time: Score | None = None,
    extra_time: Score | None = None,
    penalties: Score | None = None,
    duration: str | None = None,
    winner: str | None = None,
    minute: int | None = None,
    injury_time: int | None = None,
    goals: Sequence[Mapping[str, Any]] | None = None,
    competition: str = "WC",
    stage: str = "GROUP_STAGE",
    group: str | None = "GROUP_A",
    matchday: int | None = 1,
    venue: str | None = None,
) -> dict[str, Any]:
    """A v4 match object. `score` is v4's fullTime as the API sends it.

    Mind the v4 rule: after a shoot-out, fullTime *includes* the shoot-out goals.
    """
    if duration is None:
        duration = "PENALTY_SHOOTOUT" if penalties else "EXTRA_TIME" if extra_time else "REGULAR"
    if winner is None and status in ("FINISHED", "AWARDED") and score is not None:
        decider = penalties or score
        winner = (
            "HOME_TEAM"
            if decider[0] > decider[1]
            else "AWAY_TEAM"
            if decider[1] > decider[0]
            else "DRAW"
        )
    score_node: dict[str, Any] = {
        "winner": winner,
        "duration": duration,
        "fullTime": _score_node(score),
        "halfTime": _score_node(half_time),
    }
    if regular_time is not None:
        score_node["regularTime"] = _score_node(regular_time)
    if extra_time is not None:
        score_node["extraTime"] = _score_node(extra_time)
    if penalties is not None:
        score_node["penalties"] = _score_node(penalties)
    comp = v4_competition(competition)
    match: dict[str, Any] = {
        "area": {"id": 2267, "name": "World", "code": "INT", "flag": None},
        "competition": comp,
        "season": {"id": 1382, "startDate": "2026-06-11", "endDate": "2026-07-19"},
        "id": id,
        "utcDate": _iso(utc_date),
        "status": status,
        "minute": minute,
        "injuryTime": injury_time,
        "venue": venue,
        "matchday": matchday,
        "stage": stage,
        "group": group,
        "lastUpdated": "2026-06-01T00:00:00Z",
        "homeTeam": v4_team(home),
        "awayTeam": v4_team(away),
        "score": score_node,
        "goals": [dict(g) for g in goals] if goals is not None else [],
        "odds": {"msg": "Activate Odds-Package in User-Panel to retrieve odds."},
        "referees": [],
    }
    return match


def v4_scorer(
    player: str,
    team: Team,
    goals: int,
    *,
    assists: int | None = None,
    penalties: int | None = None,
    played: int | None = None,
) -> dict[str, Any]:
    """A v4 scorers[] entry."""
    return {
        "player": {
            "id": team_id(player),
            "name": player,
            "firstName": player.split()[0],
            "lastName": player.split()[-1],
            "nationality": None,
            "position": "Offence",
        },
        "team": v4_team(team),
        "playedMatches": played,
        "goals": goals,
        "assists": assists,
        "penalties": penalties,
    }


def v4_table_row(
    position: int,
    team: Team,
    won: int,
    draw: int,
    lost: int,
    goals_for: int,
    goals_against: int,
) -> dict[str, Any]:
    """A v4 standings table row; played, points and goal difference are derived."""
    return {
        "position": position,
        "team": v4_team(team),
        "playedGames": won + draw + lost,
        "form": None,
        "won": won,
        "draw": draw,
        "lost": lost,
        "points": 3 * won + draw,
        "goalsFor": goals_for,
        "goalsAgainst": goals_against,
        "goalDifference": goals_for - goals_against,
    }


def v4_standing(
    rows: Iterable[Mapping[str, Any]],
    *,
    stage: str = "REGULAR_SEASON",
    type: str = "TOTAL",
    group: str | None = None,
) -> dict[str, Any]:
    """One v4 standings[] entry (a league table or one group)."""
    return {"stage": stage, "type": type, "group": group, "table": [dict(r) for r in rows]}


# --------------------------------------------------------------------------- server


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake saw it. The token itself is never recorded."""

    method: str
    path: str
    query: dict[str, str]
    at: float  # on the fake's clock
    status: int
    authenticated: bool
    unfold_goals: bool


@dataclass(frozen=True, slots=True)
class _Action:
    kind: str  # "fail" | "malformed" | "delay"
    status: int = 0
    message: str | None = None
    retry_after: int | None = None
    seconds: float = 0.0


class FakeFootballData:
    """The fake server. Use as ``async with FakeFootballData(token=...) as fake``."""

    def __init__(
        self,
        token: str = "fd-secret-token",
        *,
        quota_per_minute: int = 10,
        clock: Callable[[], float] = time.monotonic,
        today: date | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.quota_per_minute = quota_per_minute
        self.clock = clock
        self.today = today
        self.host = host
        self.matches: dict[int, dict[str, Any]] = {}
        self.scorers: dict[str, list[dict[str, Any]]] = {}
        self.standings: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[RecordedRequest] = []
        self._served: deque[float] = deque()
        self._actions: deque[_Action] = deque()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ---- scripting

    def set_match(self, match: Mapping[str, Any]) -> None:
        """Add or replace a match (keyed by its id)."""
        self.matches[int(match["id"])] = dict(match)

    def remove_match(self, match_id: int) -> None:
        self.matches.pop(match_id, None)

    def set_scorers(self, code: str, scorers: Sequence[Mapping[str, Any]]) -> None:
        self.scorers[code] = [dict(s) for s in scorers]

    def set_standings(self, code: str, standings: Sequence[Mapping[str, Any]]) -> None:
        self.standings[code] = [dict(s) for s in standings]

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next `times` authenticated requests with `status` and the v4 error body."""
        for _ in range(times):
            self._actions.append(
                _Action("fail", status=status, message=message, retry_after=retry_after)
            )

    def malformed_next(self, times: int = 1) -> None:
        """Answer the next requests 200 with a body that is not valid JSON."""
        for _ in range(times):
            self._actions.append(_Action("malformed"))

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Stall the next requests `seconds` before answering (for client timeouts)."""
        for _ in range(times):
            self._actions.append(_Action("delay", seconds=seconds))

    # ---- inspection

    @property
    def url(self) -> str:
        """Base URL including /v4, like https://api.football-data.org/v4."""
        if self._port is None:
            raise RuntimeError("the fake is not running")
        return f"http://{self.host}:{self._port}/v4"

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def max_in_window(self, window: float = 60.0) -> int:
        """The most requests that reached the fake in any `window` seconds."""
        times = sorted(r.at for r in self.requests)
        best = 0
        start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # ---- lifecycle

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/v4/matches", self._list_matches)
        app.router.add_get("/v4/matches/{match_id}", self._one_match)
        app.router.add_get("/v4/competitions/{code}/scorers", self._scorers)
        app.router.add_get("/v4/competitions/{code}/standings", self._standings)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeFootballData:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ---- HTTP plumbing

    def _quota_headers(self, now: float) -> dict[str, str]:
        while self._served and self._served[0] <= now - 60.0:
            self._served.popleft()
        available = max(0, self.quota_per_minute - len(self._served))
        reset = math.ceil(self._served[0] + 60.0 - now) if self._served else 60
        return {
            "X-API-Version": "v4",
            "X-Authenticated-Client": "matchday tests",
            "X-Requests-Available-Minute": str(available),
            "X-RequestCounter-Reset": str(max(1, reset)),
        }

    @staticmethod
    def _error(status: int, message: str | None, headers: Mapping[str, str]) -> web.Response:
        body = {"message": message or ERROR_MESSAGES.get(status, "Error."), "errorCode": status}
        return web.json_response(body, status=status, headers=dict(headers))

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        now = self.clock()
        authenticated = bool(self.token) and request.headers.get("X-Auth-Token") == self.token
        response = await self._answer(request, handler, now, authenticated)
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                at=now,
                status=response.status,
                authenticated=authenticated,
                unfold_goals=request.headers.get("X-Unfold-Goals", "").lower() == "true",
            )
        )
        return response

    async def _answer(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        now: float,
        authenticated: bool,
    ) -> web.StreamResponse:
        if not authenticated:
            return self._error(403, None, self._quota_headers(now))
        headers = self._quota_headers(now)
        if len(self._served) >= self.quota_per_minute:
            wait = int(headers["X-RequestCounter-Reset"])
            headers["X-Requests-Available-Minute"] = "0"
            return self._error(
                429, f"You reached your request limit. Wait {wait} seconds.", headers
            )
        self._served.append(now)
        headers = self._quota_headers(now)
        action = self._actions.popleft() if self._actions else None
        if action is not None and action.kind == "delay":
            await asyncio.sleep(action.seconds)
        elif action is not None and action.kind == "malformed":
            return web.Response(
                body=b'{"matches": [{"id": 1, "status": ',
                content_type="application/json",
                headers=headers,
            )
        elif action is not None and action.kind == "fail":
            message = action.message
            if action.status == 429:
                wait = action.retry_after if action.retry_after is not None else 60
                headers["X-RequestCounter-Reset"] = str(wait)
                headers["X-Requests-Available-Minute"] = "0"
                message = message or f"You reached your request limit. Wait {wait} seconds."
            return self._error(action.status, message, headers)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            return self._error(exc.status, exc.text, headers)
        response.headers.update(headers)
        return response

    # ---- resources

    def _today(self) -> date:
        return self.today or datetime.now(UTC).date()

    @staticmethod
    def _date(value: str, name: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise web.HTTPBadRequest(
                text=f"Filter '{name}' is expected to be a date in format yyyy-MM-dd."
            ) from None

    async def _list_matches(self, request: web.Request) -> web.Response:
        query = request.query
        if ("dateFrom" in query) != ("dateTo" in query):
            raise web.HTTPBadRequest(text="Filters 'dateFrom' and 'dateTo' go together.")
        if "dateFrom" in query:
            start = self._date(query["dateFrom"], "dateFrom")
            end = self._date(query["dateTo"], "dateTo")
        elif "date" in query:
            start = self._date(query["date"], "date")
            end = start + timedelta(days=1)
        else:
            start = self._today()
            end = start + timedelta(days=1)
        if end < start:
            raise web.HTTPBadRequest(text="'dateTo' must not be before 'dateFrom'.")
        if (end - start).days > MAX_WINDOW_DAYS:
            raise web.HTTPBadRequest(text="The given date range is too big. Max. 10 days.")
        codes = [c for c in query.get("competitions", "").split(",") if c]
        unknown = [c for c in codes if c not in COMPETITIONS]
        if unknown:
            raise web.HTTPBadRequest(text=f"Unknown competition code(s): {','.join(unknown)}")
        statuses = set()
        for status in (s for s in query.get("status", "").split(",") if s):
            statuses.update(LIVE_STATUSES if status == "LIVE" else (status,))
        ids = {int(i) for i in query.get("ids", "").split(",") if i.isdigit()}
        unfold = request.headers.get("X-Unfold-Goals", "").lower() == "true"

        selected = []
        for match in sorted(self.matches.values(), key=lambda m: (m["utcDate"], m["id"])):
            day = datetime.fromisoformat(match["utcDate"].replace("Z", "+00:00")).date()
            if ids and match["id"] not in ids:
                continue
            if not ids and not start <= day < end:
                continue
            if codes and match["competition"]["code"] not in codes:
                continue
            if statuses and match["status"] not in statuses:
                continue
            item = dict(match)
            if not unfold:
                item.pop("goals", None)  # v4 folds goals in list views
            selected.append(item)

        filters: dict[str, Any] = {"dateFrom": start.isoformat(), "dateTo": end.isoformat()}
        if codes:
            filters["competitions"] = ",".join(codes)
        if statuses:
            filters["status"] = sorted(statuses)
        filters["permission"] = "TIER_ONE"
        days = [m["utcDate"][:10] for m in selected]
        result_set = {
            "count": len(selected),
            "competitions": ",".join(sorted({m["competition"]["code"] for m in selected})),
            "first": min(days) if days else None,
            "last": max(days) if days else None,
            "played": sum(1 for m in selected if m["status"] == "FINISHED"),
        }
        return web.json_response({"filters": filters, "resultSet": result_set, "matches": selected})

    async def _one_match(self, request: web.Request) -> web.Response:
        raw = request.match_info["match_id"]
        if not raw.isdigit():
            raise web.HTTPBadRequest(text=f"Argument 'id' is expected to be an integer, not {raw}.")
        match = self.matches.get(int(raw))
        if match is None:
            raise web.HTTPNotFound(text=ERROR_MESSAGES[404])
        return web.json_response(match)

    def _competition(self, request: web.Request) -> str:
        code = request.match_info["code"].upper()
        if code not in COMPETITIONS:
            raise web.HTTPNotFound(text=ERROR_MESSAGES[404])
        return code

    async def _scorers(self, request: web.Request) -> web.Response:
        code = self._competition(request)
        try:
            limit = int(request.query.get("limit", "10"))
        except ValueError:
            raise web.HTTPBadRequest(text="Filter 'limit' is expected to be an integer.") from None
        scorers = self.scorers.get(code, [])[:limit]
        return web.json_response(
            {
                "count": len(scorers),
                "filters": {"season": "2026", "limit": limit},
                "competition": v4_competition(code),
                "season": {"id": 1382, "startDate": "2026-06-11", "endDate": "2026-07-19"},
                "scorers": scorers,
            }
        )

    async def _standings(self, request: web.Request) -> web.Response:
        code = self._competition(request)
        if code not in self.standings:
            raise web.HTTPNotFound(text=ERROR_MESSAGES[404])
        return web.json_response(
            {
                "filters": {"season": "2026"},
                "area": {"id": 2267, "name": "World", "code": "INT", "flag": None},
                "competition": v4_competition(code),
                "season": {"id": 1382, "startDate": "2026-06-11", "endDate": "2026-07-19"},
                "standings": self.standings[code],
            }
        )
