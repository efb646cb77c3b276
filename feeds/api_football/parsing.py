"""API-Football v3 fixtures (with their events) -> the project's MatchState, and what else
fans are told about: red cards, missed penalties, goals VAR took back.

v3 semantics relied on:

* ``goals`` is the running score, extra time included, the shoot-out never; ``score`` holds
  ``halftime``, ``fulltime`` (after 90 minutes), ``extratime`` (goals *in* extra time only)
  and ``penalty`` (the shoot-out).
* ``fixture.status``: ``short`` (NS, 1H, HT, 2H, ET, BT, P, FT, AET, PEN, SUSP, INT, PST,
  CANC, ABD, AWD, WO, TBD, LIVE), ``elapsed`` (the running minute) and ``extra`` (its added
  time: 90 and 4 is 90+4).
* ``events[]`` (in ``fixtures?ids=``): ``time {elapsed, extra}``, ``team {id, name}``,
  ``player {name}``, ``assist {name}``, ``type`` Goal/Card/subst/Var and ``detail`` — Normal
  Goal, Own Goal, Penalty, Missed Penalty; Yellow Card, Second Yellow card, Red Card; Goal
  cancelled, Penalty cancelled, Goal Disallowed - offside, Penalty confirmed. Shoot-out kicks
  are Goal events at 120' with ``comments: "Penalty Shootout"``.
* An own goal's ``team`` is read as the player's team; when the score says otherwise (the
  other reading adds up and this one does not), the score wins.
* A goal VAR cancels may stay in the list next to a Var event, or vanish from it: either
  way it is not in `MatchState.goals`, so the engine sees the goal taken back exactly once;
  the decision stays as a VAR incident, for the alert's reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feeds.api_football.errors import ApiFootballDataError
from feeds.model import (
    Goal,
    Incident,
    IncidentKind,
    MatchState,
    Pair,
    Status,
    TeamRef,
    fold,
    int_or_none,
)
from feeds.teams import fifa_code

log = logging.getLogger("matchday.feeds.api_football")

KEY_PREFIX = "af:"

STATUS: dict[str, Status] = {
    "TBD": Status.SCHEDULED, "NS": Status.SCHEDULED,
    "1H": Status.LIVE, "2H": Status.LIVE, "LIVE": Status.LIVE,
    "HT": Status.HALF_TIME,
    "ET": Status.EXTRA_TIME, "BT": Status.EXTRA_TIME,  # BT: the breaks around extra time
    "P": Status.PENALTIES,
    "FT": Status.FINISHED, "AET": Status.FINISHED, "PEN": Status.FINISHED,
    "AWD": Status.FINISHED, "WO": Status.FINISHED,  # awarded, walkover: a result stands
    "SUSP": Status.SUSPENDED, "INT": Status.SUSPENDED,
    "ABD": Status.SUSPENDED,  # abandoned: stopped, its outcome is decided later
    "PST": Status.POSTPONED,
    "CANC": Status.CANCELLED,
}  # fmt: skip
_AFTER_90 = {"ET", "BT", "P", "AET", "PEN"}
_EXTRA_DONE = {"P", "AET", "PEN"}
_SHOOTOUT = {"P", "PEN"}
_BEFORE_HT = {"TBD", "NS", "1H", "PST", "CANC"}


@dataclass(frozen=True, slots=True)
class Fixture:
    """One v3 fixture: its MatchState and the ids the feed plans and asks with."""

    id: int
    league_id: int | None
    season: int | None
    status_short: str  # v3's own status: tells INT (resumes soon) from SUSP and ABD
    home_id: int | None
    away_id: int | None
    state: MatchState

    @property
    def key(self) -> str:
        return self.state.key


def fixture_id(key: str) -> int | None:
    """The fixture id inside one of our keys (``af:1035037``), or None for another feed's."""
    if not key.startswith(KEY_PREFIX) or not key[len(KEY_PREFIX) :].isdigit():
        return None
    return int(key[len(KEY_PREFIX) :])


def _pair(node: object, what: str) -> Pair | None:
    if not isinstance(node, Mapping):
        return None
    home, away = node.get("home"), node.get("away")
    if home is None or away is None:
        return None
    h, a = int_or_none(home), int_or_none(away)
    if h is None or a is None or h < 0 or a < 0:
        raise ApiFootballDataError(f"{what} is not a pair of counts: {dict(node)!r}")
    return h, a


def _kickoff(fixture: Mapping[str, Any]) -> datetime:
    raw = fixture.get("date")
    if isinstance(raw, str) and raw:
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ApiFootballDataError(f"fixture.date is not ISO 8601: {raw!r}") from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    stamp = int_or_none(fixture.get("timestamp"))
    if stamp is None:
        raise ApiFootballDataError("fixture without a date or timestamp")
    return datetime.fromtimestamp(stamp, UTC)


def _stage(round_: object) -> str:
    """"Regular Season - 12" -> "Matchday 12"; "Group Stage - 1" -> "Group stage"."""
    text = str(round_ or "").strip()
    head, _, tail = text.rpartition(" - ")
    if head.casefold() == "regular season" and tail.isdigit():
        return f"Matchday {tail}"
    if head.casefold().startswith("group") and tail.isdigit():
        return head[:1].upper() + head[1:].lower()
    return text


def _team(node: object, where: str) -> tuple[TeamRef, int | None]:
    if not isinstance(node, Mapping):
        raise ApiFootballDataError(f"{where} team is not an object")
    name = str(node.get("name") or "").strip() or "TBD"
    # v3 fixtures carry no codes; a national team's FIFA code lets the store find the team
    # another source (openfootball, football-data.org) created under another name.
    return TeamRef(name, fifa_code(name)), int_or_none(node.get("id"))


@dataclass(frozen=True, slots=True)
class _Kick:
    """A goal event before sides are settled: `team` is the side named by the event."""

    team: int
    goal: Goal  # side 0 until settled
    assist: str | None


def _name(node: object) -> str | None:
    if isinstance(node, Mapping) and node.get("name"):
        return str(node["name"]).strip() or None
    return None


def parse_fixture(raw: object) -> Fixture:
    """One v3 fixture object -> Fixture. Raises ApiFootballDataError on a bad shape."""
    if not isinstance(raw, Mapping):
        raise ApiFootballDataError(f"fixture is not an object: {type(raw).__name__}")
    fixture = raw.get("fixture")
    if not isinstance(fixture, Mapping):
        raise ApiFootballDataError("fixture without a 'fixture' object")
    fid = int_or_none(fixture.get("id"))
    if fid is None or fid <= 0:
        raise ApiFootballDataError("fixture without an id")
    status_node = fixture.get("status") if isinstance(fixture.get("status"), Mapping) else {}
    short = str(status_node.get("short") or "").upper()
    status = STATUS.get(short)
    if status is None:
        raise ApiFootballDataError(f"fixture {fid}: unknown status {short!r}")
    league = raw.get("league") if isinstance(raw.get("league"), Mapping) else {}
    teams = raw.get("teams")
    if not isinstance(teams, Mapping):
        raise ApiFootballDataError(f"fixture {fid}: no teams")
    home, home_id = _team(teams.get("home"), "home")
    away, away_id = _team(teams.get("away"), "away")
    score_node = raw.get("score") if isinstance(raw.get("score"), Mapping) else {}
    running = _pair(raw.get("goals"), "goals")
    if running is None and status is not Status.SCHEDULED and status.in_play:
        running = (0, 0)
    half = _pair(score_node.get("halftime"), "score.halftime") if short not in _BEFORE_HT else None
    full_time = extra_time = penalties = None
    if short in _AFTER_90 and running is not None:
        full_time = _pair(score_node.get("fulltime"), "score.fulltime")
        extra = _pair(score_node.get("extratime"), "score.extratime")
        if full_time is None and extra is not None:
            full_time = (running[0] - extra[0], running[1] - extra[1])
        if short in _EXTRA_DONE:
            extra_time = running
        if short == "PEN":  # the kicks' tally is a result only once the shoot-out is over
            penalties = _pair(score_node.get("penalty"), "score.penalty")
    goals, incidents = _events(
        raw.get("events"), fid, home_id, away_id, running, shootout=short in _SHOOTOUT
    )
    venue = fixture.get("venue")
    state = MatchState(
        key=f"{KEY_PREFIX}{fid}",
        competition=str(league.get("name") or ""),
        stage=_stage(league.get("round")),
        kickoff=_kickoff(fixture),
        home=home,
        away=away,
        status=status,
        venue=_name(venue),
        score=running,
        half_time=half,
        full_time=full_time,
        extra_time=extra_time,
        penalties=penalties,
        minute=int_or_none(status_node.get("elapsed")) if status.in_play else None,
        goals=goals,
        incidents=incidents,
        added=int_or_none(status_node.get("extra")) if status.in_play else None,
    )
    return Fixture(
        id=fid,
        league_id=int_or_none(league.get("id")),
        season=int_or_none(league.get("season")),
        status_short=short,
        home_id=home_id,
        away_id=away_id,
        state=state,
    )


_Parsed = tuple[tuple[Goal, ...], tuple[Incident, ...]]


def _events(
    raw: object,
    fid: int,
    home_id: int | None,
    away_id: int | None,
    score: Pair | None,
    *,
    shootout: bool,
) -> _Parsed:
    """Goals (with assists) and incidents (red cards, missed penalties, VAR) from ``events[]``.

    A malformed single event is skipped with a log line: one bad row must not cost the
    match its score, and the next poll may carry it repaired.
    """
    if not isinstance(raw, list):
        return (), ()
    kicks: list[_Kick] = []
    incidents: list[Incident] = []
    for item in raw:
        if not isinstance(item, Mapping):
            log.warning("API-Football fixture %d: skipping an event that is not an object", fid)
            continue
        time_node = item.get("time") if isinstance(item.get("time"), Mapping) else {}
        minute = int_or_none(time_node.get("elapsed"))
        offset = int_or_none(time_node.get("extra")) or 0
        team = item.get("team")
        team_id = int_or_none(team.get("id")) if isinstance(team, Mapping) else None
        side = 1 if team_id is not None and team_id == home_id else None
        if side is None and team_id is not None and team_id == away_id:
            side = 2
        if minute is None or minute < 0 or side is None:
            log.warning("API-Football fixture %d: skipping an event without minute or team", fid)
            continue
        kind = str(item.get("type") or "").casefold()
        detail = str(item.get("detail") or "").strip()
        folded = detail.casefold()
        player = _name(item.get("player"))
        in_shootout = "shootout" in str(item.get("comments") or "").casefold() or (
            shootout and minute >= 120 and offset == 0 and "penalty" in folded
        )
        if kind == "goal" and not in_shootout:
            if folded == "missed penalty":
                missed = Incident(IncidentKind.MISSED_PENALTY, side, minute, offset, player)
                incidents.append(missed)
                continue
            goal = Goal(
                side=0, minute=minute, offset=offset, scorer=player,
                penalty=folded == "penalty", own_goal=folded == "own goal",
            )  # fmt: skip
            kicks.append(_Kick(side, goal, _name(item.get("assist"))))
        elif kind == "card" and ("red" in folded or "second yellow" in folded):
            red = Incident(IncidentKind.RED_CARD, side, minute, offset, player, detail or None)
            incidents.append(red)
        elif kind == "var" and ("cancelled" in folded or "disallowed" in folded):
            taken = _take_back(kicks, side, minute, offset, player, penalty="penalty" in folded)
            if taken is not None or "goal" in folded:
                who = taken.goal.scorer if taken is not None else player
                incidents.append(Incident(IncidentKind.VAR, side, minute, offset, who, detail))
    sides = _settle_sides(kicks, score)
    goals = [
        Goal(s, k.goal.minute, k.goal.offset, k.goal.scorer, k.goal.penalty, k.goal.own_goal,
             k.assist)
        for s, k in zip(sides, kicks, strict=True)
    ]  # fmt: skip
    goals.sort(key=lambda g: g.sort_key)
    incidents.sort(key=lambda i: i.sort_key)
    return tuple(goals), tuple(incidents)


def _take_back(
    kicks: list[_Kick], side: int, minute: int, offset: int, player: str | None, *, penalty: bool
) -> _Kick | None:
    """Remove the goal a VAR decision cancels: the latest goal of that team at or before the
    decision (the same player's first), within five minutes. None when the feed has already
    dropped it (or never listed it)."""
    at = minute * 100 + offset
    candidates = [
        k for k in kicks
        if k.team == side and 0 <= at - (k.goal.minute * 100 + k.goal.offset) <= 500
        and (k.goal.penalty or not penalty)
    ]  # fmt: skip
    if player is not None:
        same = [k for k in candidates if k.goal.scorer and fold(k.goal.scorer) == fold(player)]
        candidates = same or candidates
    if not candidates:
        return None
    chosen = candidates[-1]
    kicks.remove(chosen)
    return chosen


def _settle_sides(kicks: list[_Kick], score: Pair | None) -> list[int]:
    """The side each goal counts for. An own goal counts for the other team than the one the
    event names, unless only the opposite reading adds up to the score."""

    def reading(own_for_named_team: bool) -> list[int]:
        return [
            k.team if (not k.goal.own_goal or own_for_named_team) else 3 - k.team for k in kicks
        ]

    sides = reading(False)
    if score is not None and any(k.goal.own_goal for k in kicks):
        tally = (sides.count(1), sides.count(2))
        other = reading(True)
        if tally != score and (other.count(1), other.count(2)) == score:
            sides = other
    return sides
