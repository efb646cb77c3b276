"""football-data.org v4 match objects -> MatchState. Bad shapes raise FootballDataDataError.

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

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feeds.football_data.errors import FootballDataDataError
from feeds.model import Goal, MatchState, Pair, Status, TeamRef, int_or_none

log = logging.getLogger("matchday.feeds.football_data")

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


def _updated(value: object) -> datetime | None:
    """`lastUpdated`, when present and readable: a hint, never a reason to refuse a match."""
    try:
        return _kickoff(value)
    except FootballDataDataError:
        return None


def _team(node: object) -> tuple[TeamRef, int | None]:
    """A v4 team node -> TeamRef and its id. Undecided knock-out slots have null names."""
    if not isinstance(node, Mapping):
        raise FootballDataDataError(f"team is not an object: {node!r}")
    name = node.get("name") or node.get("shortName") or "TBD"
    tla = node.get("tla") or None
    return TeamRef(str(name), str(tla) if tla else None), int_or_none(node.get("id"))


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
        minute = int_or_none(item.get("minute"))
        if minute is None:
            raise FootballDataDataError(f"goal without a minute: {item!r}")
        kind = str(item.get("type") or "REGULAR").upper()
        own = kind in {"OWN", "OWN_GOAL"}
        team = item.get("team")
        team_id = int_or_none(team.get("id")) if isinstance(team, Mapping) else None
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
            offset=int_or_none(item.get("injuryTime")) or 0,
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
    match_id = int_or_none(raw.get("id"))
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
    minute = int_or_none(raw.get("minute")) if status.in_play else None
    venue = raw.get("venue")
    return MatchState(
        key=f"fd:{match_id}",
        competition=comp_name,
        stage=humanise_stage(
            str(raw["stage"]) if raw.get("stage") else None, int_or_none(raw.get("matchday"))
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
        added=int_or_none(raw.get("injuryTime")) if minute is not None else None,
        updated=_updated(raw.get("lastUpdated")),
        goals=_goals(raw.get("goals"), home_id, away_id, scores.score),
    )

