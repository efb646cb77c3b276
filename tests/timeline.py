"""Real matches minute by minute, as football-data.org v4 reports them while they happen.

A `Timeline` is the truth of one match: the scheduled and the actual kick-off, how much time
each half added, when each goal went in (and whether VAR took it back), extra time and a
shoot-out. `v4_at(t)` is what the live API would answer at instant `t`: the status, the
running minute and `injuryTime`, the score, `goals[]` only once details have caught up (and
never on the free tier), and `lastUpdated`. `expected()` is what a follower must be told.

`TimelineFootballData` serves timelines on loopback, reading the instant from the bot's
own clock (shared in-process), and can answer one request from a stale cache.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.clock import Clock
from tests.fake_football_data import FakeFootballData, v4_goal, v4_match

MIN = timedelta(minutes=1)


class HandClock(Clock):
    """The bot's clock, moved by the test: every instant is chosen, none waited for."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start, 1.0)
        self.at = start

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> datetime:
        self.at += delta
        return self.at


@dataclass(frozen=True)
class TrueGoal:
    """A goal as it happened: `minute` (+`added`) as fans write it, for side 1 or 2."""

    side: int
    minute: int
    added: int = 0
    scorer: str = "Someone"
    kind: str = "REGULAR"
    ruled_out_after: timedelta | None = None  # VAR: shown, then taken back this much later

    @property
    def label(self) -> str:
        return f"{self.minute}+{self.added}'" if self.added else f"{self.minute}'"


@dataclass
class Timeline:
    """One match's truth; instants derive from the actual kick-off and the added time."""

    id: int
    home: tuple[str, str]
    away: tuple[str, str]
    scheduled: datetime
    delay: timedelta = timedelta(0)
    first_added: int = 3
    second_added: int = 5
    goals: list[TrueGoal] = field(default_factory=list)
    extra_time: bool = False
    penalties: tuple[int, int] | None = None
    details: bool = True  # False: the free tier, scores without goals[]
    details_lag: timedelta = timedelta(0)
    feed_minute: bool = True
    stage: str = "GROUP_STAGE"

    # ---- the match's own clock

    @property
    def kickoff(self) -> datetime:
        return self.scheduled + self.delay

    @property
    def half_time(self) -> datetime:
        return self.kickoff + (45 + self.first_added) * MIN

    @property
    def second_half(self) -> datetime:
        return self.half_time + 15 * MIN

    @property
    def regular_end(self) -> datetime:
        return self.second_half + (45 + self.second_added) * MIN

    @property
    def extra_start(self) -> datetime:
        return self.regular_end + 5 * MIN

    @property
    def extra_end(self) -> datetime:
        return self.extra_start + 32 * MIN

    @property
    def finish(self) -> datetime:
        if not self.extra_time:
            return self.regular_end
        return self.extra_end + (10 * MIN if self.penalties else timedelta(0))

    def scored_at(self, goal: TrueGoal) -> datetime:
        """Half-way through the goal's minute (minute 13 is 12:00-13:00 elapsed)."""
        start, base = (
            (self.kickoff, 0) if goal.minute <= 45
            else (self.second_half, 45) if goal.minute <= 90
            else (self.extra_start, 90)
        )  # fmt: skip
        return start + (goal.minute - base + goal.added - 0.5) * MIN

    def stands(self, goal: TrueGoal, t: datetime) -> bool:
        shown = self.scored_at(goal) <= t
        undone = goal.ruled_out_after is not None and self.scored_at(goal) + goal.ruled_out_after
        return shown and not (undone and undone <= t)

    def score_at(self, t: datetime, until: datetime | None = None) -> tuple[int, int]:
        counted = [g for g in self.goals if self.stands(g, t) and self.scored_at(g) <= (until or t)]
        return sum(g.side == 1 for g in counted), sum(g.side == 2 for g in counted)

    def _minute(self, t: datetime) -> tuple[str, int | None, int | None]:
        """Status, running minute and injury time at `t`."""

        def count(start: datetime, base: int, cap: int) -> tuple[int, int | None]:
            minute = base + math.floor((t - start) / MIN) + 1
            return (minute, None) if minute <= cap else (cap, minute - cap)

        if t < self.kickoff:
            return "TIMED", None, None
        if t < self.half_time:
            return "IN_PLAY", *count(self.kickoff, 0, 45)
        if t < self.second_half:
            return "PAUSED", 45, None
        if t < self.regular_end:
            return "IN_PLAY", *count(self.second_half, 45, 90)
        if not self.extra_time:
            return "FINISHED", None, None
        if t < self.extra_start:
            return "EXTRA_TIME", 90, None
        if t < self.extra_end:
            return "EXTRA_TIME", *count(self.extra_start, 90, 120)
        if self.penalties and t < self.finish:
            return "PENALTY_SHOOTOUT", 120, None
        return "FINISHED", None, None

    def changes(self) -> list[datetime]:
        """Every instant the feed's data changes (what `lastUpdated` follows)."""
        moments = [self.kickoff, self.half_time, self.second_half, self.regular_end, self.finish]
        if self.extra_time:
            moments += [self.extra_start, self.extra_end]
        for goal in self.goals:
            moments += [self.scored_at(goal), self.scored_at(goal) + self.details_lag]
            if goal.ruled_out_after is not None:
                moments.append(self.scored_at(goal) + goal.ruled_out_after)
        return sorted(moments)

    def v4_at(self, t: datetime) -> dict[str, Any]:
        """The v4 match object the live API serves at `t`."""
        status, minute, injury = self._minute(t)
        started = status != "TIMED"
        score = self.score_at(t) if started else None
        half = self.score_at(t, self.half_time) if started and t >= self.half_time else None
        regular = extra = pens = None
        if self.extra_time and t >= self.regular_end:
            regular = self.score_at(t, self.regular_end)
            if score is not None:
                extra = (score[0] - regular[0], score[1] - regular[1])
        if self.penalties and t >= self.finish:
            pens = self.penalties
            assert score is not None
            score = (score[0] + pens[0], score[1] + pens[1])  # v4: fullTime counts the kicks
        running = (0, 0)
        goals = []
        for goal in sorted(self.goals, key=self.scored_at):
            if not self.stands(goal, t):
                continue
            running = (running[0] + (goal.side == 1), running[1] + (goal.side == 2))
            if self.details and self.scored_at(goal) + self.details_lag <= t:
                team = self.home if goal.side == 1 else self.away
                goals.append(
                    v4_goal(goal.minute, team, goal.scorer, type=goal.kind, score=running,
                            injury_time=goal.added or None)
                )  # fmt: skip
        raw = v4_match(
            self.id, self.home, self.away, self.scheduled, status, score,
            half_time=half, regular_time=regular, extra_time=extra, penalties=pens,
            duration="PENALTY_SHOOTOUT" if self.penalties and t >= self.extra_end
            else "EXTRA_TIME" if regular is not None else "REGULAR",
            minute=minute if self.feed_minute else None,
            injury_time=injury if self.feed_minute else None,
            goals=goals, stage=self.stage, group="GROUP_A" if self.stage == "GROUP_STAGE" else None,
        )  # fmt: skip
        changed = [c for c in self.changes() if c <= t]
        raw["lastUpdated"] = _iso(max(changed) if changed else self.scheduled - 24 * 60 * MIN)
        return raw

    # ---- what a follower must be told

    def expected(self) -> list[tuple[datetime, str]]:
        """(instant, text fragment) of every alert, in the order things happened."""
        home, away = self.home[0], self.away[0]
        out: list[tuple[datetime, str]] = [(self.kickoff, f"Kick-off: {home} v {away}")]
        for goal in self.goals:
            at = self.scored_at(goal)
            running = self.score_at(at + timedelta(seconds=1))  # while it stood
            out.append((at, f"{home} {running[0]}–{running[1]} {away}"))
            if goal.ruled_out_after is not None:
                out.append((at + goal.ruled_out_after, "Goal disallowed"))
        out.append((self.half_time, "Half-time: " + _line(home, self.score_at(self.half_time),
                                                          away)))  # fmt: skip
        if self.extra_time:
            out.append((self.regular_end, "Extra time: "))
        final = self.score_at(self.extra_end if self.extra_time else self.regular_end)
        out.append((self.finish, "Full time: " + _line(home, final, away)))
        if self.penalties:
            winner = home if self.penalties[0] > self.penalties[1] else away
            out.append((self.finish, f"{winner} win"))
        return sorted(out, key=lambda item: item[0])

    def true_minute(self, text: str) -> int | None:
        """For a goal alert, the true minute (+added) of the goal its running score names."""
        for goal in self.goals:
            at = self.scored_at(goal)
            running = self.score_at(at + timedelta(seconds=1))
            if f"{self.home[0]} {running[0]}–{running[1]} {self.away[0]}" in text:
                return goal.minute + goal.added
        return None


def _line(home: str, score: tuple[int, int], away: str) -> str:
    return f"{home} {score[0]}–{score[1]} {away}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_MINUTE = re.compile(r"(\d+)(?:\+(\d+))?'")


def shown_minute(text: str) -> int | None:
    """The minute an alert shows, as minute + added (90+4' -> 94)."""
    found = _MINUTE.search(text)
    return int(found.group(1)) + int(found.group(2) or 0) if found else None


class TimelineFootballData(FakeFootballData):
    """The fake v4 API serving timelines at the instant `now()` says (the bot's own clock).

    `stale_once(at, age)`: the first `/matches` request at or after `at` is answered from a
    cache `age` old (older `lastUpdated` included), as CDNs in front of feeds sometimes do.
    """

    def __init__(self, now: Callable[[], datetime], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now
        self.timelines: dict[int, Timeline] = {}
        self._stale: tuple[datetime, timedelta] | None = None
        self.stale_served = 0

    def add(self, timeline: Timeline) -> None:
        self.timelines[timeline.id] = timeline

    def stale_once(self, at: datetime, age: timedelta) -> None:
        self._stale = (at, age)

    def _refresh(self, request_path: str) -> None:
        t = self.now()
        if self._stale is not None and t >= self._stale[0] and request_path.endswith("/matches"):
            t -= self._stale[1]
            self._stale = None
            self.stale_served += 1
        for timeline in self.timelines.values():
            self.set_match(timeline.v4_at(t))

    async def _list_matches(self, request: web.Request) -> web.Response:
        self._refresh(request.path)
        return await super()._list_matches(request)

    async def _one_match(self, request: web.Request) -> web.Response:
        self._refresh(request.path)
        return await super()._one_match(request)
