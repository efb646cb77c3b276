"""A feed that replays finished matches on the (virtual) clock, minute by minute.

It lets the bot demo live alerts and lets tests drive the live engine with real data: each
match is told as a live feed would have told it at `now`, and never reveals the future —
not a score, not a goal, and not a knock-out pairing before both sides are decided. It
replays every competition it is given and, with `sources`, every one imported into the
store since, so `--now` works for any season the way it does for 2018.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from feeds.base import PollResult
from feeds.model import Goal, MatchState, Pair, Status
from feeds.pairings import Pairings

__all__ = ["ReplayFeed"]

_MIN = timedelta(minutes=1)
_HALF_TIME_BREAK = 15
_EXTRA_TIME_BREAK = 5
_SHOOTOUT = 10


# Each period as (first minute, last minute, least stoppage time). The ET half-time
# turnaround is only modelled when a goal went in at 105+x.
_REGULATION = ((0, 45, 2), (45, 90, 3))
_WITH_EXTRA_TIME = (*_REGULATION, (90, 105, 0), (105, 120, 1))
_BREAK_BEFORE = (0, _HALF_TIME_BREAK, _EXTRA_TIME_BREAK, 0)


@dataclass(frozen=True, slots=True)
class _Timeline:
    """When each period (1st half, 2nd half[, ET 1st, ET 2nd]) starts and ends, when the
    match is over (after any shoot-out), and when each goal went in (parallel to goals)."""

    starts: tuple[datetime, ...]
    ends: tuple[datetime, ...]
    finish: datetime
    goal_times: tuple[datetime, ...]


def _timeline(match: MatchState) -> _Timeline:
    """Lay the match out on the clock; stoppage time stretches to fit the latest goal.

    Minute m+o of a period that starts at S (first minute f) goes in at S + (m - f) + o; the
    period lasts its length plus max(least stoppage, latest overrun + 1), where 45+3 overruns
    by 3 (so does a 93 written without an offset).
    """
    periods = _WITH_EXTRA_TIME if match.extra_time is not None else _REGULATION

    def period(goal: Goal) -> int:
        return next((i for i, p in enumerate(periods) if goal.minute <= p[1]), len(periods) - 1)

    starts: list[datetime] = []
    ends: list[datetime] = []
    clock = match.kickoff
    for i, (first, last, least) in enumerate(periods):
        clock += _MIN * _BREAK_BEFORE[i]
        starts.append(clock)
        overruns = [g.minute + g.offset - last for g in match.goals if period(g) == i]
        clock += _MIN * (last - first + max([least] + [o + 1 for o in overruns if o > 0]))
        ends.append(clock)
    goal_times = tuple(
        starts[i] + _MIN * (g.minute - periods[i][0] + g.offset)
        for g, i in ((g, period(g)) for g in match.goals)
    )
    shootout = _MIN * _SHOOTOUT if match.penalties is not None else timedelta(0)
    return _Timeline(tuple(starts), tuple(ends), clock + shootout, goal_times)


def _clock(now: datetime, start: datetime, base: int, low: int, high: int) -> int:
    """The running minute: the n-th minute after `start` is base + n, held within its period."""
    return min(high, max(low, base + math.ceil((now - start) / _MIN)))


def _count(goals: Sequence[Goal]) -> Pair:
    return sum(g.side == 1 for g in goals), sum(g.side == 2 for g in goals)


def finish_of(match: MatchState) -> datetime:
    """When a finished match is over on the replay's clock (after any shoot-out)."""
    return _timeline(match).finish


class Sources(Protocol):
    """Where imported seasons are kept (the Store): reloaded when their version changes."""

    async def sources_version(self) -> str: ...

    async def source_matches(self) -> list[MatchState]: ...


class ReplayFeed:
    """Replays finished matches as if live; scheduled/postponed ones are passed through."""

    name = "replay"

    def __init__(
        self,
        matches: Sequence[MatchState],
        *,
        poll_interval: timedelta = timedelta(seconds=30),
        sources: Sources | None = None,
    ) -> None:
        self._bundled = list(matches)
        self._sources = sources
        self._version: str | None = None
        self._load(self._bundled)
        self._poll_interval = poll_interval
        self._last: dict[str, MatchState] = {}
        self._confirm: set[str] = set()  # told once: told again at the next poll

    def _load(self, matches: Sequence[MatchState]) -> None:
        self._matches = {m.key: m for m in matches}
        self._pairings = Pairings(list(self._matches.values()), finish_of)

    async def _reload(self) -> None:
        """Take in what was imported since the last poll (a bundled match of the same key is
        overridden by the imported one)."""
        if self._sources is None:
            return
        version = await self._sources.sources_version()
        if version == self._version:
            return
        by_key = {m.key: m for m in self._bundled}
        by_key.update((m.key, m) for m in await self._sources.source_matches())
        self._load(list(by_key.values()))
        self._version = version

    def state_at(self, match: MatchState, now: datetime) -> MatchState:
        """What a live feed would have said about `match` at `now` (pure; no future leaks)."""
        if now < match.kickoff:
            home, away = self._pairings.sides(match, now)
            if (home, away) != (match.home, match.away):
                match = match.with_(home=home, away=away)
        if match.status in (Status.POSTPONED, Status.CANCELLED):
            return match
        if now < match.kickoff:
            return _before_kickoff(match)
        if match.status is not Status.FINISHED:  # unplayed stays as is; nothing to replay
            return match
        tl = _timeline(match)
        if now >= tl.finish:
            return match

        full_time = extra_time = None
        starts, ends = tl.starts, tl.ends
        if now < ends[0]:
            status, minute = Status.LIVE, _clock(now, starts[0], 0, 1, 45)
        elif now < starts[1]:
            status, minute = Status.HALF_TIME, 45
        elif now < ends[1]:
            status, minute = Status.LIVE, _clock(now, starts[1], 45, 46, 90)
        elif len(ends) == 4 and now < ends[3]:
            status, full_time = Status.EXTRA_TIME, match.full_time
            if now < starts[2]:  # the break before extra time
                minute = 90
            elif now < starts[3]:
                minute = _clock(now, starts[2], 90, 91, 105)
            else:
                minute = _clock(now, starts[3], 105, 106, 120)
        else:  # only the shoot-out is left
            status, full_time, extra_time = Status.PENALTIES, match.full_time, match.extra_time
            minute = 120 if extra_time else 90
        half_time = match.half_time if now >= ends[0] else None

        revealed = tuple(g for g, t in zip(match.goals, tl.goal_times, strict=True) if t <= now)
        if match.score == _count(match.goals):
            score = _count(revealed)
        else:  # no (or incomplete) goal details, as in league files: only checkpoints are known
            revealed = ()
            checkpoints = [
                match.score if status is Status.PENALTIES else None,
                full_time,
                half_time,
            ]
            score = next((c for c in checkpoints if c is not None), (0, 0))
        return match.with_(
            status=status,
            minute=minute,
            score=score,
            goals=revealed,
            half_time=half_time,
            full_time=full_time,
            extra_time=extra_time,
            penalties=None,
        )

    async def poll(self, now: datetime, watched: Collection[str]) -> PollResult:
        """Every match whose revealed state changed (all, the first time), each told on two
        polls in a row: the engine takes a step backwards — a store holding a later state
        than this clock's, as after an import or a run at a later instant — only when a
        second poll confirms it (feeds/observe.py), and a replay is never a stale cache."""
        await self._reload()
        changed = []
        for key, match in self._matches.items():
            state = self.state_at(match, now)
            if self._last.get(key) != state:
                self._last[key] = state
                self._confirm.add(key)
                changed.append(state)
            elif key in self._confirm:
                self._confirm.discard(key)
                changed.append(state)
        return PollResult(states=changed, next_poll_at=now + self._poll_interval)

    async def states_at(self, now: datetime) -> list[MatchState]:
        """Every match as told at `now`, imports included: the record a store started at an
        earlier instant than it last saw is rewound to (see bot/core.py)."""
        await self._reload()
        return [self.state_at(m, now) for m in self._matches.values()]

    async def refresh(self, now: datetime, keys: Collection[str]) -> list[MatchState]:
        """The replayed state of these matches now (a replay never loses one)."""
        return [self.state_at(self._matches[k], now) for k in keys if k in self._matches]

    async def aclose(self) -> None:
        """Nothing to release: the replay holds no connections."""


def _before_kickoff(match: MatchState) -> MatchState:
    """A match as announced before it starts: no score, no goals, nothing played yet."""
    if match.status is Status.SCHEDULED:
        return match
    return match.with_(
        status=Status.SCHEDULED,
        score=None,
        half_time=None,
        full_time=None,
        extra_time=None,
        penalties=None,
        minute=None,
        goals=(),
    )
