"""How often a day's budget of API-Football requests lets the feed look at live matches.

The free plan allows 100 requests a day, and a request is what the feed spends whether one
match is live or twenty (``fixtures?ids=`` takes 20). So the cost of the day is the time
during which *some* followed match is in play, counted once per batch of 20 running at the
same time. The planner divides the requests left today (less the daily schedule fetches and
a small reserve) over those live minutes still to come: polling as often as the budget
allows, never faster than `fastest`, and saying plainly when even that is slower than
`slowest` — alerts will then be late, and the operator should know why and by how much.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from feeds.model import MatchState, Status

#: Kick-off to final whistle, breaks and stoppage time included (a generous estimate).
REGULAR_LENGTH = timedelta(minutes=120)
#: The same with extra time and a shoot-out.
EXTENDED_LENGTH = timedelta(minutes=175)
#: A match still in play after its estimate is expected to finish within this.
OVERRUN = timedelta(minutes=15)
_GONE = {Status.FINISHED, Status.POSTPONED, Status.CANCELLED}


def next_reset(now: datetime) -> datetime:
    """Midnight UTC after `now`: when API-Football's daily quota starts again."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)


@dataclass(frozen=True, slots=True)
class Plan:
    """The day as the planner sees it at one instant."""

    interval: timedelta | None  # between live polls; None when nothing is left to afford
    matches: int  # followed matches still to come before the daily reset
    live_minutes: float  # minutes of live polling they need (one per batch of 20)
    spendable: int  # requests left for live polling today
    covered: bool  # the interval is no slower than the planner's `slowest`
    note: str  # one line for the log and /stats


class DayPlanner:
    """Spreads the requests left today over the live minutes still to come."""

    def __init__(
        self,
        *,
        fastest: timedelta = timedelta(seconds=30),
        slowest: timedelta = timedelta(minutes=5),
        reserve: int = 2,
        batch: int = 20,
    ) -> None:
        if fastest <= timedelta(0) or slowest < fastest:
            raise ValueError("need 0 < fastest <= slowest")
        self.fastest = fastest
        self.slowest = slowest
        self.reserve = reserve
        self.batch = batch

    def window(self, state: MatchState, now: datetime) -> tuple[datetime, datetime] | None:
        """When this match will want live polling, from now on; None if never again."""
        if state.status in _GONE:
            return None
        long_ = state.status in {Status.EXTRA_TIME, Status.PENALTIES}
        end = state.kickoff + (EXTENDED_LENGTH if long_ else REGULAR_LENGTH)
        if state.status.in_play or state.status is Status.SUSPENDED:
            end = max(end, now + OVERRUN)
        start = max(state.kickoff, now)
        return (start, end) if end > start else None

    def live_minutes(self, windows: Iterable[tuple[datetime, datetime]], until: datetime) -> float:
        """Minutes of polling the windows need before `until`, one per batch at a time."""
        edges: list[tuple[datetime, int]] = []
        for start, end in windows:
            end = min(end, until)
            if end > start:
                edges += [(start, 1), (end, -1)]
        edges.sort()
        total, running, last = 0.0, 0, None
        for at, change in edges:
            if last is not None and running > 0:
                total += (at - last).total_seconds() / 60 * math.ceil(running / self.batch)
            running += change
            last = at
        return total

    def plan(
        self,
        now: datetime,
        followed: Iterable[MatchState],
        remaining: int,
        held_back: int = 0,
    ) -> Plan:
        """The poll interval for now. `remaining` is today's requests left; `held_back` those
        already promised elsewhere today (the schedule fetches still to make)."""
        until = next_reset(now)
        windows = [w for s in followed if (w := self.window(s, now)) and w[0] < until]
        minutes = self.live_minutes(windows, until)
        spendable = max(0, remaining - held_back - self.reserve)
        if not windows:
            return Plan(None, 0, 0.0, spendable, True, f"{remaining} requests left today; "
                        "no followed match to come before the daily reset")  # fmt: skip
        if spendable <= 0:
            note = (
                f"API-Football budget spent: {remaining} requests left today for "
                f"{len(windows)} followed matches; no live updates until the reset at "
                f"00:00 UTC. Upgrade the plan or follow fewer matches."
            )
            return Plan(None, len(windows), minutes, 0, False, note)
        interval = max(self.fastest, timedelta(minutes=minutes / spendable))
        covered = interval <= self.slowest
        every = _human(interval)
        note = (
            f"{remaining} requests left today for {len(windows)} followed matches "
            f"({minutes:.0f} live minutes to come): one poll every {every}"
        )
        if not covered:
            note += (
                f", slower than {_human(self.slowest)}: alerts may come up to {every} late."
                " Upgrade the API-Football plan or follow fewer matches"
            )
        return Plan(interval, len(windows), minutes, spendable, covered, note)


def _human(span: timedelta) -> str:
    seconds = span.total_seconds()
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
