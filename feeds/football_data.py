"""football-data.org v4 as a live feed: an HTTP client plus a quota-aware poller.

The free tier allows 10 requests a minute for the whole token, so the client keeps the
request window and the server's quota headers in one place (every caller shares them),
and the feed asks for one ``/matches`` window covering every competition at a time.

v4 semantics this module relies on (https://docs.football-data.org/general/v4/):

* ``score.fullTime`` is the running score; when ``score.duration`` is
  ``PENALTY_SHOOTOUT`` it *includes* the shoot-out goals (overtime.html: EC 1996 sample,
  fullTime 7-6 = regularTime 1-1 + extraTime 0-0 + penalties 6-5), so the match score is
  rebuilt from ``regularTime + extraTime`` (or ``fullTime - penalties``).
* ``score.extraTime`` counts only the goals scored in extra time; ``regularTime`` is the
  score after 90 minutes.
* Goals carry a ``score`` node (the score right after that goal, v4 changelog), which
  tells us unambiguously which side a goal counts for, own goals included.
* List resources fold ``goals`` away unless the ``X-Unfold-Goals: true`` header is sent.
* ``dateTo`` is an exclusive bound and a window may span at most 10 days.
* Every response carries ``X-Requests-Available-Minute`` and ``X-RequestCounter-Reset``
  (seconds until the per-minute counter resets); a 429 body reads
  ``{"message": "You reached your request limit. Wait 48 seconds.", "errorCode": 429}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import time
import traceback
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from feeds.base import FeedDataError, FeedError, PollResult
from feeds.model import Goal, MatchState, Pair, Status, TeamRef

log = logging.getLogger("matchday.feeds.football_data")

DEFAULT_BASE_URL = "https://api.football-data.org/v4"

#: Competitions the free tier (TIER_ONE) may read.
FREE_TIER_COMPETITIONS: tuple[str, ...] = (
    "WC", "CL", "BL1", "DED", "BSA", "PD", "FL1", "ELC", "PPL", "EC", "SA", "PL",
)  # fmt: skip

#: The API refuses date windows longer than this many days.
MAX_WINDOW_DAYS = 10

_RATE_WINDOW = 60.0  # seconds: the API's quota is per minute
_CODE_RE = re.compile(r"[A-Z0-9]{2,5}")
_WAIT_RE = re.compile(r"[Ww]ait (\d+(?:\.\d+)?) ?s")
_REDACTED = "[redacted]"


# --------------------------------------------------------------------------- errors


class FootballDataError(FeedError):
    """football-data.org could not answer; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FootballDataAuthError(FootballDataError):
    """401/403: the token is missing, wrong, or the plan does not cover the resource."""


class FootballDataNotFound(FootballDataError):
    """404: no such match or competition (also standings of a cup competition)."""


class FootballDataRateLimited(FootballDataError):
    """429 (or refused locally before sending): wait `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class FootballDataServerError(FootballDataError):
    """5xx: the API's fault; retry later."""


class FootballDataTimeout(FootballDataError):
    """The request took longer than the client's timeout."""


class FootballDataConnectionError(FootballDataError):
    """The API could not be reached at all (DNS, refused, reset)."""


class FootballDataDataError(FootballDataError, FeedDataError):
    """The API answered 200 with something we cannot use (bad JSON, unexpected shape)."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Quota:
    """The per-minute quota as the last response reported it.

    `updated_at` is on the client's monotonic clock, so `reset_seconds` can be turned into
    a deadline without trusting wall-clock time.
    """

    requests_available_minute: int | None = None
    reset_seconds: float | None = None
    updated_at: float | None = None


@dataclass(frozen=True, slots=True)
class Scorer:
    """One line of a competition's top-scorer list."""

    player: str
    team: str
    goals: int
    penalties: int | None = None
    assists: int | None = None
    played_matches: int | None = None


@dataclass(frozen=True, slots=True)
class StandingsRow:
    """One team's line in a table."""

    position: int
    team: TeamRef
    played: int
    won: int
    draw: int
    lost: int
    goals_for: int
    goals_against: int
    goal_difference: int
    points: int


@dataclass(frozen=True, slots=True)
class StandingsTable:
    """One table: a league's whole table or one group of a tournament.

    `stage` is humanised ("Group stage", "Regular season"), `group` is "Group A" or None,
    `kind` is v4's TOTAL/HOME/AWAY.
    """

    stage: str
    group: str | None
    kind: str
    rows: tuple[StandingsRow, ...]

    @property
    def title(self) -> str:
        """What to print above the table."""
        return self.group or self.stage


# --------------------------------------------------------------------------- mapping

_STATUS: dict[str, Status] = {
    "SCHEDULED": Status.SCHEDULED,
    "TIMED": Status.SCHEDULED,
    "IN_PLAY": Status.LIVE,
    "LIVE": Status.LIVE,  # only a filter pseudo-status, accepted defensively
    "PAUSED": Status.HALF_TIME,
    "EXTRA_TIME": Status.EXTRA_TIME,
    "PENALTY_SHOOTOUT": Status.PENALTIES,
    "FINISHED": Status.FINISHED,
    "AWARDED": Status.FINISHED,
    "SUSPENDED": Status.SUSPENDED,
    "POSTPONED": Status.POSTPONED,
    "CANCELLED": Status.CANCELLED,
}

_STAGES: dict[str, str] = {
    "GROUP_STAGE": "Group stage",
    "LEAGUE_STAGE": "League stage",
    "LAST_64": "Round of 64",
    "LAST_32": "Round of 32",
    "LAST_16": "Round of 16",
    "ROUND_OF_16": "Round of 16",
    "QUARTER_FINALS": "Quarter-finals",
    "SEMI_FINALS": "Semi-finals",
    "THIRD_PLACE": "Third place",
    "FINAL": "Final",
    "PLAYOFFS": "Play-offs",
}


def humanise_stage(stage: str | None, matchday: int | None = None) -> str:
    """v4 stage enum -> what a fan reads ("QUARTER_FINALS" -> "Quarter-finals")."""
    if not stage:
        return f"Matchday {matchday}" if matchday else ""
    if stage == "REGULAR_SEASON":
        return f"Matchday {matchday}" if matchday else "Regular season"
    if stage in _STAGES:
        return _STAGES[stage]
    return stage.replace("_", " ").strip().title()


def humanise_group(group: str | None) -> str | None:
    """Turn v4's "GROUP_A" into "Group A"; already-readable names pass through."""
    if not group:
        return None
    words = group.replace("_", " ").split()
    return " ".join(w if len(w) <= 2 else w.capitalize() for w in words) or None


def _pair(node: object) -> Pair | None:
    """A v4 {home, away} node (or v2's {homeTeam, awayTeam}) -> (home, away), or None."""
    if not isinstance(node, Mapping):
        return None
    home = node.get("home", node.get("homeTeam"))
    away = node.get("away", node.get("awayTeam"))
    if home is None or away is None:
        return None
    if isinstance(home, bool) or isinstance(away, bool):
        raise FootballDataDataError(f"score is not a number: {node!r}")
    try:
        return int(home), int(away)
    except (TypeError, ValueError):
        raise FootballDataDataError(f"score is not a number: {node!r}") from None


def _add(a: Pair, b: Pair) -> Pair:
    return a[0] + b[0], a[1] + b[1]


def _sub(a: Pair, b: Pair) -> Pair:
    return a[0] - b[0], a[1] - b[1]


def _int_or_none(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _kickoff(value: object) -> datetime:
    if not isinstance(value, str) or not value:
        raise FootballDataDataError(f"utcDate missing or not a string: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FootballDataDataError(f"utcDate is not ISO 8601: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _team(node: object) -> tuple[TeamRef, int | None]:
    """A v4 team node -> TeamRef and its id. Undecided knock-out slots have null names."""
    if not isinstance(node, Mapping):
        raise FootballDataDataError(f"team is not an object: {node!r}")
    name = node.get("name") or node.get("shortName") or "TBD"
    tla = node.get("tla") or None
    return TeamRef(str(name), str(tla) if tla else None), _int_or_none(node.get("id"))


@dataclass(frozen=True, slots=True)
class _Scores:
    score: Pair | None
    half_time: Pair | None
    full_time: Pair | None
    extra_time: Pair | None
    penalties: Pair | None


def _scores(node: object, status: Status) -> _Scores:
    """Map v4's score node; MatchState.score never includes the shoot-out."""
    if node is None:
        return _Scores(None, None, None, None, None)
    if not isinstance(node, Mapping):
        raise FootballDataDataError(f"score is not an object: {node!r}")
    full = _pair(node.get("fullTime"))
    half = _pair(node.get("halfTime"))
    regular = _pair(node.get("regularTime"))
    extra = _pair(node.get("extraTime"))
    pens = _pair(node.get("penalties"))
    duration = str(node.get("duration") or "REGULAR")
    shootout = duration == "PENALTY_SHOOTOUT" or status is Status.PENALTIES
    went_extra = shootout or duration == "EXTRA_TIME" or status is Status.EXTRA_TIME

    running = full
    if shootout:
        if regular is not None and extra is not None:
            running = _add(regular, extra)
        elif full is not None and pens is not None and min(_sub(full, pens)) >= 0:
            running = _sub(full, pens)
        # else: the feed left the shoot-out out of fullTime already (or is inconsistent)

    full_time = None
    if went_extra:
        if regular is not None:
            full_time = regular
        elif running is not None and extra is not None and min(_sub(running, extra)) >= 0:
            full_time = _sub(running, extra)

    extra_done = shootout or (duration == "EXTRA_TIME" and status is Status.FINISHED)
    extra_time = running if extra_done and went_extra else None
    return _Scores(
        score=running,
        half_time=half,
        full_time=full_time,
        extra_time=extra_time,
        penalties=pens if shootout else None,
    )


def _goals(
    raw: object, home_id: int | None, away_id: int | None, score: Pair | None
) -> tuple[Goal, ...]:
    """v4 goals[] (paid tiers) -> Goals with `side` = the team the goal counts FOR.

    Each v4 goal carries the score right after it, which settles the side even for own
    goals. Without it we read the team id, and for own goals choose whichever reading
    (team = beneficiary, or team = the scorer's side) adds up to the match score,
    defaulting to the beneficiary.
    """
    if not isinstance(raw, list) or not raw:
        return ()
    parsed: list[tuple[int | None, int | None, bool, Goal]] = []  # (by_score, by_team, own)
    previous: Pair = (0, 0)
    for item in raw:
        if not isinstance(item, Mapping):
            raise FootballDataDataError(f"goal is not an object: {item!r}")
        minute = _int_or_none(item.get("minute"))
        if minute is None:
            raise FootballDataDataError(f"goal without a minute: {item!r}")
        kind = str(item.get("type") or "REGULAR").upper()
        own = kind in {"OWN", "OWN_GOAL"}
        team = item.get("team")
        team_id = _int_or_none(team.get("id")) if isinstance(team, Mapping) else None
        by_team = 1 if team_id is not None and team_id == home_id else None
        if by_team is None and team_id is not None and team_id == away_id:
            by_team = 2
        by_score = None
        after = _pair(item.get("score"))
        if after is not None:
            if after == (previous[0] + 1, previous[1]):
                by_score = 1
            elif after == (previous[0], previous[1] + 1):
                by_score = 2
            previous = after
        scorer = item.get("scorer")
        name = scorer.get("name") if isinstance(scorer, Mapping) else None
        goal = Goal(
            side=0,
            minute=minute,
            offset=_int_or_none(item.get("injuryTime")) or 0,
            scorer=str(name) if name else None,
            penalty=kind == "PENALTY",
            own_goal=own,
        )
        parsed.append((by_score, by_team, own, goal))

    def resolve(own_team_is_scorers: bool) -> list[int | None]:
        sides: list[int | None] = []
        for by_score, by_team, own, _goal in parsed:
            if by_score is not None:
                sides.append(by_score)
            elif by_team is not None and own and own_team_is_scorers:
                sides.append(3 - by_team)
            else:
                sides.append(by_team)
        return sides

    sides = resolve(own_team_is_scorers=False)
    if score is not None and any(own for _s, _t, own, _g in parsed):
        tally = (sides.count(1), sides.count(2))
        alternative = resolve(own_team_is_scorers=True)
        if tally != score and (alternative.count(1), alternative.count(2)) == score:
            sides = alternative
    goals = []
    for side, (_s, _t, _own, goal) in zip(sides, parsed, strict=True):
        if side is None:
            log.debug("football-data goal with an unknown team dropped: %s", goal)
            continue
        goals.append(Goal(side, goal.minute, goal.offset, goal.scorer, goal.penalty, goal.own_goal))
    return tuple(goals)


def parse_match(raw: Mapping[str, Any]) -> MatchState:
    """One v4 match object -> MatchState. Raises FootballDataDataError on a bad shape."""
    if not isinstance(raw, Mapping):
        raise FootballDataDataError(f"match is not an object: {type(raw).__name__}")
    match_id = _int_or_none(raw.get("id"))
    if match_id is None:
        raise FootballDataDataError("match without an id")
    status_raw = raw.get("status")
    status = _STATUS.get(str(status_raw).upper()) if status_raw is not None else None
    if status is None:
        raise FootballDataDataError(f"match {match_id}: unknown status {status_raw!r}")
    competition = raw.get("competition")
    comp_name = ""
    if isinstance(competition, Mapping):
        comp_name = str(competition.get("name") or competition.get("code") or "")
    home, home_id = _team(raw.get("homeTeam"))
    away, away_id = _team(raw.get("awayTeam"))
    scores = _scores(raw.get("score"), status)
    minute = _int_or_none(raw.get("minute")) if status.in_play else None
    venue = raw.get("venue")
    return MatchState(
        key=f"fd:{match_id}",
        competition=comp_name,
        stage=humanise_stage(
            str(raw["stage"]) if raw.get("stage") else None, _int_or_none(raw.get("matchday"))
        ),
        kickoff=_kickoff(raw.get("utcDate")),
        home=home,
        away=away,
        status=status,
        group=humanise_group(str(raw["group"]) if raw.get("group") else None),
        venue=str(venue) if venue else None,
        score=scores.score,
        half_time=scores.half_time,
        full_time=scores.full_time,
        extra_time=scores.extra_time,
        penalties=scores.penalties,
        minute=minute,
        goals=_goals(raw.get("goals"), home_id, away_id, scores.score),
    )


def parse_scorer(raw: Mapping[str, Any]) -> Scorer:
    """One v4 scorers[] entry -> Scorer."""
    if not isinstance(raw, Mapping):
        raise FootballDataDataError("scorer is not an object")
    player = raw.get("player")
    team = raw.get("team")
    goals = _int_or_none(raw.get("goals"))
    if not isinstance(player, Mapping) or not player.get("name") or goals is None:
        raise FootballDataDataError(f"scorer without a player name or goals: {raw!r}")
    team_name = ""
    if isinstance(team, Mapping):
        team_name = str(team.get("name") or team.get("shortName") or "")
    return Scorer(
        player=str(player["name"]),
        team=team_name,
        goals=goals,
        penalties=_int_or_none(raw.get("penalties")),
        assists=_int_or_none(raw.get("assists")),
        played_matches=_int_or_none(raw.get("playedMatches")),
    )


def parse_standings(raw: Mapping[str, Any]) -> list[StandingsTable]:
    """A v4 /standings body -> one StandingsTable per (stage, group, kind)."""
    tables = raw.get("standings")
    if not isinstance(tables, list):
        raise FootballDataDataError("standings body without a 'standings' list")
    out: list[StandingsTable] = []
    for table in tables:
        if not isinstance(table, Mapping) or not isinstance(table.get("table"), list):
            raise FootballDataDataError("standing without a 'table' list")
        rows: list[StandingsRow] = []
        for line in table["table"]:
            if not isinstance(line, Mapping):
                raise FootballDataDataError("standings row is not an object")
            team, _ = _team(line.get("team"))
            numbers = {
                field: _int_or_none(line.get(source))
                for field, source in (
                    ("position", "position"),
                    ("played", "playedGames"),
                    ("won", "won"),
                    ("draw", "draw"),
                    ("lost", "lost"),
                    ("goals_for", "goalsFor"),
                    ("goals_against", "goalsAgainst"),
                    ("points", "points"),
                )
            }
            missing = [k for k, v in numbers.items() if v is None]
            if missing:
                raise FootballDataDataError(f"standings row for {team.name} lacks {missing}")
            values: dict[str, int] = {k: v for k, v in numbers.items() if v is not None}
            diff = _int_or_none(line.get("goalDifference"))
            if diff is None:
                diff = values["goals_for"] - values["goals_against"]
            rows.append(StandingsRow(team=team, goal_difference=diff, **values))
        out.append(
            StandingsTable(
                stage=humanise_stage(str(table.get("stage") or "")) or "Table",
                group=humanise_group(str(table["group"]) if table.get("group") else None),
                kind=str(table.get("type") or "TOTAL").upper(),
                rows=tuple(rows),
            )
        )
    return out


# --------------------------------------------------------------------------- client


def _server_message(response: httpx.Response) -> str:
    """The `message` of a v4 error body (or `error` of older ones), short."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return response.reason_phrase or ""
    if isinstance(body, Mapping):
        text = body.get("message") or body.get("error") or ""
        return str(text)[:200]
    return ""


def _header_float(headers: httpx.Headers, *names: str) -> float | None:
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            number = float(value.strip())
        except ValueError:
            continue
        if math.isfinite(number) and number >= 0:
            return number
    return None


class FootballDataClient:
    """A thin async client for football-data.org v4.

    One request per public call. The token only ever travels in the X-Auth-Token header
    and is scrubbed from every error message. The client also remembers when it sent
    recent requests and what the quota headers said, so every user of one token (the
    live feed, /scorers, /table) shares a single view of the per-minute budget.
    """

    def __init__(
        self,
        token: str | None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        max_requests_per_minute: int | None = None,
    ) -> None:
        self._token = token or None
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._owns_http = client is None
        self._http = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self.monotonic = monotonic
        self.max_requests_per_minute = max_requests_per_minute
        self.quota = Quota()
        self.requests_made = 0
        self._sent: deque[float] = deque()
        self._sent_since_quota = 0
        self._blocked_until = 0.0

    def __repr__(self) -> str:  # never show the token
        return f"FootballDataClient(base_url={self._base_url!r}, requests={self.requests_made})"

    # ---- quota bookkeeping

    def _prune(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - _RATE_WINDOW:
            self._sent.popleft()

    def recent_requests(self) -> int:
        """Requests sent in the last 60 s (monotonic)."""
        self._prune(self.monotonic())
        return len(self._sent)

    def seconds_until_slot(self, limit: int | None = None) -> float:
        """How long until one more request fits both our window and the server's quota."""
        now = self.monotonic()
        self._prune(now)
        wait = max(0.0, self._blocked_until - now)
        if limit is not None and len(self._sent) >= limit:
            wait = max(wait, self._sent[len(self._sent) - limit] + _RATE_WINDOW - now)
        quota = self.quota
        if quota.requests_available_minute is not None and quota.updated_at is not None:
            resets_at = quota.updated_at + (
                quota.reset_seconds if quota.reset_seconds is not None else _RATE_WINDOW
            )
            if now < resets_at and quota.requests_available_minute <= self._sent_since_quota:
                wait = max(wait, resets_at - now)
        return max(0.0, wait)

    def _redact(self, text: str) -> str:
        if self._token and self._token in text:
            text = text.replace(self._token, _REDACTED)
        return text

    def _read_quota(self, response: httpx.Response, now: float) -> None:
        available = _header_float(
            response.headers, "X-Requests-Available-Minute", "X-RequestsAvailable"
        )
        reset = _header_float(response.headers, "X-RequestCounter-Reset")
        if available is None and reset is None:
            return
        self._sent_since_quota = 0
        self.quota = Quota(
            requests_available_minute=int(available) if available is not None else None,
            reset_seconds=reset,
            updated_at=now,
        )

    # ---- the one request path

    async def _request(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """GET base_url/path and return the JSON object, or raise a FootballDataError."""
        where = "/" + path.lstrip("/")
        if self.max_requests_per_minute is not None:
            wait = self.seconds_until_slot(self.max_requests_per_minute)
            if wait > 0:
                raise FootballDataRateLimited(
                    f"football-data GET {where}: local request budget spent, wait {wait:.0f}s",
                    retry_after=wait,
                    status=None,
                )
        send_headers = {"Accept": "application/json", **(headers or {})}
        if self._token:
            send_headers["X-Auth-Token"] = self._token
        sent_at = self.monotonic()
        self._prune(sent_at)
        self._sent.append(sent_at)
        self._sent_since_quota += 1
        self.requests_made += 1
        try:
            response = await self._http.get(
                self._base_url + where,
                params=dict(params or {}),
                headers=send_headers,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise FootballDataTimeout(
                f"football-data GET {where} timed out after {self._timeout:g}s"
            ) from exc
        except httpx.TransportError as exc:
            raise FootballDataConnectionError(
                self._redact(f"football-data GET {where} failed: {type(exc).__name__}: {exc}")
            ) from exc
        now = self.monotonic()
        self._read_quota(response, now)
        status = response.status_code
        if status >= 400:
            raise self._error(where, response, now)
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise FootballDataDataError(
                f"football-data GET {where}: response is not valid JSON", status=status
            ) from None
        if not isinstance(body, dict):
            raise FootballDataDataError(
                f"football-data GET {where}: expected a JSON object, got {type(body).__name__}",
                status=status,
            )
        return body

    def _error(self, where: str, response: httpx.Response, now: float) -> FootballDataError:
        status = response.status_code
        detail = self._redact(_server_message(response))
        message = f"football-data GET {where} -> HTTP {status}" + (f": {detail}" if detail else "")
        if status == 429:
            retry = _header_float(response.headers, "X-RequestCounter-Reset", "Retry-After")
            if retry is None:
                found = _WAIT_RE.search(detail)
                retry = float(found.group(1)) if found else _RATE_WINDOW
            retry = max(retry, 1.0)
            self._blocked_until = max(self._blocked_until, now + retry)
            return FootballDataRateLimited(message, retry_after=retry)
        if status in (401, 403):
            return FootballDataAuthError(message, status=status)
        if status == 404:
            return FootballDataNotFound(message, status=status)
        if status >= 500:
            return FootballDataServerError(message, status=status)
        return FootballDataError(message, status=status)

    # ---- resources

    async def matches(
        self,
        *,
        date_from: date,
        date_to: date,
        competitions: Sequence[str],
        status: Sequence[str] | None = None,
    ) -> list[MatchState]:
        """Matches of `competitions` from `date_from` to `date_to` (exclusive, v4), one request.

        A single malformed match is logged and skipped so it cannot hide the others.
        """
        start = date_from.date() if isinstance(date_from, datetime) else date_from
        end = date_to.date() if isinstance(date_to, datetime) else date_to
        if end < start:
            raise ValueError(f"date_to {end} is before date_from {start}")
        if (end - start).days > MAX_WINDOW_DAYS:
            raise ValueError(f"football-data allows at most {MAX_WINDOW_DAYS} days per request")
        params = {"dateFrom": start.isoformat(), "dateTo": end.isoformat()}
        codes = _codes(competitions)
        if codes:
            params["competitions"] = ",".join(codes)
        if status:
            params["status"] = ",".join(s.upper() for s in status)
        body = await self._request("/matches", params, headers={"X-Unfold-Goals": "true"})
        items = body.get("matches")
        if not isinstance(items, list):
            raise FootballDataDataError("football-data GET /matches: no 'matches' list")
        states: list[MatchState] = []
        for item in items:
            try:
                states.append(parse_match(item))
            except FeedDataError as exc:
                log.warning("football-data: skipping a malformed match: %s", self._redact(str(exc)))
        return states

    async def match(self, match_id: int) -> MatchState:
        """One match by id (goals unfolded when the plan includes them)."""
        if isinstance(match_id, bool) or not isinstance(match_id, int) or match_id <= 0:
            raise ValueError(f"match id must be a positive int, not {match_id!r}")
        body = await self._request(f"/matches/{match_id}")
        raw = body.get("match") if isinstance(body.get("match"), dict) else body
        return parse_match(raw)

    async def scorers(self, code: str, limit: int = 10) -> list[Scorer]:
        """The competition's current top scorers."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        comp = _codes([code])[0]
        body = await self._request(f"/competitions/{comp}/scorers", {"limit": str(limit)})
        items = body.get("scorers")
        if not isinstance(items, list):
            raise FootballDataDataError(f"football-data scorers of {comp}: no 'scorers' list")
        return [parse_scorer(item) for item in items]

    async def standings(self, code: str, *, kind: str | None = "TOTAL") -> list[StandingsTable]:
        """The competition's tables; `kind=None` keeps HOME/AWAY tables too."""
        comp = _codes([code])[0]
        tables = parse_standings(await self._request(f"/competitions/{comp}/standings"))
        if kind is not None:
            tables = [t for t in tables if t.kind == kind.upper()]
        return tables

    async def aclose(self) -> None:
        """Close the HTTP client if we created it."""
        if self._owns_http:
            await self._http.aclose()


def _codes(competitions: Sequence[str]) -> list[str]:
    if isinstance(competitions, str):
        competitions = [c for c in competitions.split(",") if c]
    codes = [c.strip().upper() for c in competitions]
    for code in codes:
        if not _CODE_RE.fullmatch(code):
            raise ValueError(f"not a football-data competition code: {code!r}")
    return codes


# --------------------------------------------------------------------------- feed

_BACKOFF_START = 30.0
_BACKOFF_CAP = 15 * 60.0
_STALE_KICKOFF = timedelta(hours=4)  # a "scheduled" match this late is stale data
_FORGET_AFTER = timedelta(days=3)


class FootballDataFeed:
    """The Feed the live engine polls, spending the per-minute quota only where it matters.

    * a schedule refresh (yesterday .. +9 days, one request) at start and every
      `schedule_every`, which tells the feed every kick-off;
    * a fast loop (every `live_every`) only while a watched match is live or kicks off
      within `lead`, asking one /matches window around today for all competitions;
    * otherwise the same window every `idle_every`.

    `now` is the bot's (possibly virtual) clock and decides *what* to fetch; the request
    budget runs on the client's real monotonic clock, so a fast replay cannot outrun it.
    """

    name = "football-data"

    def __init__(
        self,
        client: FootballDataClient,
        competitions: Sequence[str] = FREE_TIER_COMPETITIONS,
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
        self.client = client
        self.competitions = tuple(_codes(competitions))
        self.max_requests_per_minute = max_requests_per_minute
        self.schedule_every = schedule_every
        self.live_every = live_every
        self.idle_every = idle_every
        self.lead = lead
        self._rng = rng or random.Random()
        self._known: dict[str, MatchState] = {}
        self._last_schedule_at: datetime | None = None
        self._last_fetch_at: datetime | None = None
        self._retry_at: datetime | None = None
        self._failures = 0
        self._last_now: datetime | None = None

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
        except FootballDataRateLimited as exc:
            delay = exc.retry_after + self._rng.uniform(0.0, 1.0)
            log.warning("football-data rate limited; next try in %.0fs", delay)
        except FeedError as exc:
            self._failures += 1
            delay = self._backoff()
            log.warning(
                "football-data poll failed (%s): %s; retry %d in %.0fs",
                type(exc).__name__,
                self.client._redact(str(exc)),
                self._failures,
                delay,
            )
        except Exception as exc:
            self._failures += 1
            delay = self._backoff()
            text = "".join(traceback.format_exception(exc))
            log.error(
                "football-data poll crashed; retry %d in %.0fs\n%s",
                self._failures,
                delay,
                self.client._redact(text),
            )
        self._retry_at = now + timedelta(seconds=delay)
        return PollResult([], self._retry_at)

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
                and state.kickoff - self.lead <= now <= state.kickoff + _STALE_KICKOFF
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
            return PollResult([], self._retry_at)
        schedule_due = (
            self._last_schedule_at is None or now >= self._last_schedule_at + self.schedule_every
        )
        if not schedule_due and now < self._next_due(now, watched):
            return PollResult([], self._next_due(now, watched))
        wait = self.client.seconds_until_slot(self.max_requests_per_minute)
        if wait > 0:
            log.debug("football-data: request budget spent, waiting %.1fs", wait)
            return PollResult([], now + timedelta(seconds=wait))

        today = now.date()
        if schedule_due:
            states = await self.client.matches(
                date_from=today - timedelta(days=1),
                date_to=today + timedelta(days=MAX_WINDOW_DAYS - 1),
                competitions=self.competitions,
            )
            self._last_schedule_at = now
            log.info("football-data: schedule refreshed, %d matches", len(states))
        else:
            # yesterday too: a match that kicked off before midnight UTC may still be live
            states = await self.client.matches(
                date_from=today - timedelta(days=1),
                date_to=today + timedelta(days=1),
                competitions=self.competitions,
            )
            log.debug("football-data: %d matches around today", len(states))
        self._last_fetch_at = now
        self._failures = 0
        self._retry_at = None
        self._remember(now, states)
        return PollResult(states, max(now, self._next_due(now, watched)))

    def _remember(self, now: datetime, states: Sequence[MatchState]) -> None:
        for state in states:
            self._known[state.key] = state
        horizon = now - _FORGET_AFTER
        for key in [k for k, s in self._known.items() if s.kickoff < horizon]:
            del self._known[key]

    async def aclose(self) -> None:
        """Close the client (and its HTTP connections)."""
        await self.client.aclose()
