"""MatchState as JSON and back: how the replay's source of truth is kept in the store.

An imported season is stored whole (every score, goal and kick-off as the file gave them) so
the replay feed can tell it again on any clock; the `matches` table only ever holds what the
bot has observed by `now`. JSON keeps that one column readable and the schema small.
"""

from __future__ import annotations

import json
from datetime import datetime

from feeds.model import Goal, MatchState, Pair, Status, TeamRef

__all__ = ["decode_match", "encode_match"]


def _pair(value: object) -> Pair | None:
    if value is None:
        return None
    a, b = value  # type: ignore[misc]
    return int(a), int(b)


def encode_match(match: MatchState) -> str:
    """A compact, deterministic JSON text: equal states give equal texts (idempotent import)."""
    data = {
        "key": match.key,
        "competition": match.competition,
        "stage": match.stage,
        "kickoff": match.kickoff.isoformat(),
        "home": [match.home.name, match.home.code, match.home.placeholder, match.home.scope],
        "away": [match.away.name, match.away.code, match.away.placeholder, match.away.scope],
        "status": match.status.value,
        "group": match.group,
        "venue": match.venue,
        "score": match.score,
        "ht": match.half_time,
        "ft": match.full_time,
        "et": match.extra_time,
        "p": match.penalties,
        "goals": [
            [g.side, g.minute, g.offset, g.scorer, g.penalty, g.own_goal] for g in match.goals
        ],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode_match(text: str) -> MatchState:
    data = json.loads(text)
    return MatchState(
        key=data["key"],
        competition=data["competition"],
        stage=data["stage"],
        kickoff=datetime.fromisoformat(data["kickoff"]),
        home=TeamRef(*data["home"]),
        away=TeamRef(*data["away"]),
        status=Status(data["status"]),
        group=data["group"],
        venue=data["venue"],
        score=_pair(data["score"]),
        half_time=_pair(data["ht"]),
        full_time=_pair(data["ft"]),
        extra_time=_pair(data["et"]),
        penalties=_pair(data["p"]),
        goals=tuple(
            Goal(side, minute, offset, scorer, bool(pen), bool(og))
            for side, minute, offset, scorer, pen, og in data["goals"]
        ),
    )
