"""Matches for the fake API-Football server, written as fans would tell them: phases, goals
(with assists, own goals, penalties), cards, VAR decisions and shoot-out kicks, each placed
on the fake's clock by its match minute (`real_minutes`). `knockout()` is the match with a
bit of everything that the parser and end-to-end tests share, with what a follower of
Mexico must be told about it.

`TimelineFixture` serves the football-data.org tests' `Timeline`s (tests/timeline.py: real
matches with long added time, late kick-offs, lagging details, VAR) as v3 fixtures, so the
same matches are judged by the same `expected()` whichever feed tells them.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.fake_api_football import Script, Step, Team, real_minutes
from tests.timeline import MIN, Timeline, TrueGoal


def phases(*, extra_time: bool = False, shootout: bool = False) -> list[Step]:
    """A match's phase changes: two halves, optionally extra time and a shoot-out."""
    steps = [
        Step(0, "1H", 0), Step(real_minutes(45, 2), "HT", 45, 2), Step(real_minutes(46), "2H", 46),
    ]  # fmt: skip
    if not extra_time:
        return [*steps, Step(real_minutes(90, 5), "FT", 90, 5)]
    steps += [
        Step(real_minutes(90, 5), "BT", 90, 5), Step(real_minutes(91), "ET", 91),
        Step(real_minutes(105, 1), "BT", 105, 1), Step(real_minutes(106), "ET", 106),
    ]  # fmt: skip
    if not shootout:
        return [*steps, Step(real_minutes(120, 3), "AET", 120, 3)]
    return [*steps, Step(real_minutes(120, 3), "P", 120, 3)]


def _event(
    script: Script, side: int, minute: int, extra: int | None, kind: str, detail: str,
    player: str | None, assist: str | None = None, comments: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    team = script.side_team(side)
    return {
        "time": {"elapsed": minute, "extra": extra},
        "team": {"id": team.id, "name": team.name},
        "player": {"id": zlib.crc32(player.encode()) if player else None, "name": player},
        "assist": {"id": None, "name": assist},
        "type": kind, "detail": detail, "comments": comments,
    }  # fmt: skip


def goal(
    script: Script, side: int, minute: int, player: str, *, extra: int | None = None,
    assist: str | None = None, detail: str = "Normal Goal",
) -> Step:  # fmt: skip
    """A goal by `side`'s player (an own goal: a `side` player puts it in his own net)."""
    counts_for = 3 - side if detail == "Own Goal" else side
    delta = (1, 0) if counts_for == 1 else (0, 1)
    event = _event(script, side, minute, extra, "Goal", detail, player, assist)
    return Step(real_minutes(minute, extra or 0), event=event, delta=delta)


def missed_penalty(script: Script, side: int, minute: int, player: str) -> Step:
    event = _event(script, side, minute, None, "Goal", "Missed Penalty", player)
    return Step(real_minutes(minute), event=event)


def card(script: Script, side: int, minute: int, player: str, detail: str = "Red Card") -> Step:
    event = _event(script, side, minute, None, "Card", detail, player)
    return Step(real_minutes(minute), event=event)


def var_cancel(
    script: Script, side: int, minute: int, goal_minute: int, player: str, *,
    detail: str = "Goal cancelled", drop_goal: bool = False,
) -> Step:  # fmt: skip
    """VAR takes back `side`'s goal of `goal_minute`: a Var event, the score down by one, and
    (`drop_goal`) the goal's own event gone from the list, as the live service sometimes does."""
    delta = (-1, 0) if side == 1 else (0, -1)
    event = _event(script, side, minute, None, "Var", detail, player)
    return Step(
        real_minutes(minute) + 0.5, event=event, delta=delta,
        drop_goal_at=(side, goal_minute) if drop_goal else None,
    )  # fmt: skip


def shootout_kick(script: Script, side: int, order: int, player: str, scored: bool) -> Step:
    """A shoot-out kick, `order` (1, 2, ...) minutes into the shoot-out."""
    detail = "Penalty" if scored else "Missed Penalty"
    event = _event(script, side, 120, None, "Goal", detail, player, comments="Penalty Shootout")
    pens = ((1, 0) if side == 1 else (0, 1)) if scored else (0, 0)
    return Step(real_minutes(120, 3) + 1 + order, event=event, pens=pens)


def finish(after: float, status: str = "PEN") -> Step:
    return Step(after, status)


MEX, KOR = Team("Mexico", 16), Team("South Korea", 17)


def knockout(kickoff: datetime, *, fixture: int = 2001, drop_goal: bool = False) -> Script:
    """Mexico v South Korea, round of 16: 2-2 after 90 minutes, 3-3 after extra time, Mexico
    through 4-3 on penalties; an own goal, a penalty missed and one scored, two reds (one a
    second yellow), a goal VAR takes back, a goal at 90+4."""
    s = Script(fixture, kickoff, MEX, KOR, round="Round of 16")
    s.steps += phases(extra_time=True, shootout=True)
    s.steps += [
        goal(s, 1, 12, "Raúl Jiménez", assist="Hirving Lozano"),
        goal(s, 2, 27, "Kim Min-jae", detail="Own Goal"),
        missed_penalty(s, 2, 38, "Son Heung-min"),
        goal(s, 2, 55, "Son Heung-min", detail="Penalty"),
        card(s, 1, 60, "Edson Álvarez", "Yellow Card"),
        card(s, 1, 63, "Edson Álvarez", "Second Yellow card"),
        goal(s, 1, 78, "Hirving Lozano"),
        var_cancel(s, 1, 80, 78, "Hirving Lozano", drop_goal=drop_goal),
        card(s, 2, 88, "Kim Young-gwon", "Red Card"),
        goal(s, 2, 90, "Cho Gue-sung", extra=4),
        goal(s, 1, 104, "Raúl Jiménez"),
        goal(s, 2, 117, "Lee Kang-in", assist="Hwang Hee-chan"),
    ]
    kicks = [(1, "Jiménez", True), (2, "Son", True), (1, "Lozano", True), (2, "Hwang", False),
             (1, "Chávez", False), (2, "Lee", True), (1, "Vega", True), (2, "Cho", True),
             (1, "Montes", True), (2, "Kim", False)]  # fmt: skip
    s.steps += [shootout_kick(s, side, n, who, ok) for n, (side, who, ok) in enumerate(kicks, 1)]
    s.steps.append(Step(real_minutes(120, 3) + 12, "PEN"))
    return s


#: What a follower of Mexico is told about `knockout()`, in order: a fragment of each alert
#: as the chat shows it.
KNOCKOUT_ALERTS = [
    "Kick-off: Mexico v South Korea",
    "GOAL! Mexico 1–0 South Korea\n⚽ Raúl Jiménez 12' (assist Hirving Lozano) — Mexico",
    "GOAL! Mexico 2–0 South Korea\n⚽ Kim Min-jae 27' (og) — Mexico",
    "Penalty missed — Son Heung-min 38', South Korea\nMexico 2–0 South Korea",
    "Half-time: Mexico 2–0 South Korea",
    "GOAL! Mexico 2–1 South Korea\n⚽ Son Heung-min 55' (pen) — South Korea",
    "Red card — Edson Álvarez 63' (second yellow), Mexico\nMexico 2–1 South Korea",
    "GOAL! Mexico 3–1 South Korea\n⚽ Hirving Lozano 78' — Mexico",
    "Goal disallowed by VAR — ⚽ Hirving Lozano 78' — Mexico\nScore: Mexico 2–1 South Korea",
    "Red card — Kim Young-gwon 88', South Korea\nMexico 2–1 South Korea",
    "GOAL! Mexico 2–2 South Korea\n⚽ Cho Gue-sung 90+4' — South Korea",
    "Extra time: Mexico 2–2 South Korea",
    "GOAL! Mexico 3–2 South Korea\n⚽ Raúl Jiménez 104' — Mexico",
    "GOAL! Mexico 3–3 South Korea\n⚽ Lee Kang-in 117' (assist Hwang Hee-chan) — South Korea",
    "Full time: Mexico 3–3 South Korea (after extra time)",
    "Mexico win 4–3 on penalties",
]


_DETAIL = {"REGULAR": "Normal Goal", "OWN": "Own Goal", "PENALTY": "Penalty"}
_ROUND = {"GROUP_STAGE": "Group Stage - 1", "QUARTER_FINALS": "Quarter-finals", "FINAL": "Final"}


@dataclass
class TimelineFixture:
    """A football-data `Timeline` as API-Football v3 would serve it at each instant: the
    same clock, score and minute; goals as events once their details are out, each VAR
    decision as a Var event beside the goal it takes back."""

    timeline: Timeline
    league: int = 1
    season: int = 2026

    @property
    def id(self) -> int:
        return self.timeline.id

    @property
    def kickoff(self) -> datetime:
        return self.timeline.scheduled

    def _team(self, side: int) -> dict[str, Any]:
        name = (self.timeline.home if side == 1 else self.timeline.away)[0]
        return {"id": zlib.crc32(name.encode()) % 100_000, "name": name}

    def _status(self, t: datetime) -> tuple[str, int | None, int | None]:
        tl = self.timeline
        status, minute, added = tl._minute(t)
        short = {
            "TIMED": "NS", "PAUSED": "HT", "PENALTY_SHOOTOUT": "P",
            "IN_PLAY": "1H" if t < tl.half_time else "2H",
            "EXTRA_TIME": "BT" if t < tl.extra_start else "ET",
            "FINISHED": "PEN" if tl.penalties else "AET" if tl.extra_time else "FT",
        }[status]  # fmt: skip
        return short, minute if tl.feed_minute else None, added if tl.feed_minute else None

    def _events(self, t: datetime) -> list[dict[str, Any]]:
        tl = self.timeline
        events = []
        for goal in sorted(tl.goals, key=tl.scored_at):
            if not tl.details or tl.scored_at(goal) + tl.details_lag > t:
                continue
            named = 3 - goal.side if goal.kind == "OWN" else goal.side  # the scorer's team
            events.append(self._event(named, goal.minute, goal.added, "Goal",
                                      _DETAIL.get(goal.kind, "Normal Goal"), goal.scorer))
            ruled = goal.ruled_out_after
            if ruled is not None and tl.scored_at(goal) + ruled <= t:
                minute = goal.minute + goal.added + math.ceil(ruled / MIN)
                events.append(self._event(named, minute, 0, "Var", "Goal cancelled", goal.scorer))
        return events  # fmt: skip

    def _event(
        self, side: int, minute: int, added: int, kind: str, detail: str, player: str
    ) -> dict[str, Any]:
        return {
            "time": {"elapsed": minute, "extra": added or None}, "team": self._team(side),
            "player": {"id": None, "name": player}, "assist": {"id": None, "name": None},
            "type": kind, "detail": detail, "comments": None,
        }  # fmt: skip

    def at(self, now: datetime) -> dict[str, Any]:
        tl = self.timeline
        short, elapsed, added = self._status(now)
        started = short != "NS"
        score = tl.score_at(now) if started else None
        half = tl.score_at(now, tl.half_time) if started and now >= tl.half_time else None
        full = extra = pens = None
        if started and now >= tl.regular_end:
            full = tl.score_at(now, tl.regular_end)
            if tl.extra_time and score is not None:
                extra = {"home": score[0] - full[0], "away": score[1] - full[1]}
        if short == "PEN":
            pens = tl.penalties

        def pair(p: tuple[int, int] | None) -> dict[str, int | None]:
            return {"home": p[0], "away": p[1]} if p else {"home": None, "away": None}

        return {
            "fixture": {
                "id": tl.id, "timezone": "UTC", "date": tl.scheduled.isoformat(),
                "venue": {"name": "Kazan Arena"},
                "status": {"short": short, "elapsed": elapsed, "extra": added},
            },
            "league": {"id": self.league, "name": "World Cup", "season": self.season,
                       "round": _ROUND.get(tl.stage, tl.stage.replace("_", " ").title())},
            "teams": {"home": self._team(1), "away": self._team(2)},
            "goals": pair(score),
            "score": {"halftime": pair(half), "fulltime": pair(full), "extratime": extra,
                      "penalty": pair(pens)},
            "events": self._events(now),
        }  # fmt: skip


__all__ = ["TimelineFixture", "TrueGoal"]
