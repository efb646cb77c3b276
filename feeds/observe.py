"""What the bot has observed of each match, as opposed to what a schedule predicts.

Real matches kick off late and run to 45+14; feeds report scores before scorers, take goals
back after VAR and now and then serve a stale cached answer. The engine passes every polled
state through an `Observer` before the store sees it:

* **the match's own clock** — when the feed first showed the match in play, the second half
  and extra time under way — from which goals without a feed minute get theirs;
* **confirmation** — a state that goes backwards (a score that drops, a status that
  regresses) is a correction only when the feed confirms it: a newer `lastUpdated`, or two
  polls in a row; a state older than one already seen (`lastUpdated`) is a stale cache;
* **freshness by observation** (`Watch`) — an event first seen by regular polling is news,
  whatever its minute; only a gap the bot did not watch is caught up quietly.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from feeds.events import Event, EventKind, minute_of, with_goals
from feeds.model import MatchState, Status

#: The longest observation gap whose events are still news (a bot restarted after a crash).
CATCH_UP = timedelta(minutes=30)
#: Outside a watched period, an event estimated this recent is still told.
JUST_NOW = timedelta(minutes=10)
#: Polls closer than this bracket an event: it happened half-way between them.
BRACKET = timedelta(minutes=2)
#: A feed's `lastUpdated` this recent bounds when what it shows happened (see `_instant`).
UPDATED_BOUND = timedelta(minutes=5)

_PHASE = {
    Status.SCHEDULED: 0, Status.POSTPONED: 0, Status.LIVE: 1, Status.HALF_TIME: 2,
    Status.EXTRA_TIME: 4, Status.PENALTIES: 5, Status.SUSPENDED: 1, Status.FINISHED: 6,
    Status.CANCELLED: 6,
}  # fmt: skip


def progress(state: MatchState) -> tuple[int, int, int]:
    """How far a match has got: phase, goals. A feed never goes back without saying so."""
    phase = _PHASE[state.status]
    if state.status is Status.LIVE and state.half_time is not None:
        phase = 3  # the second half
    home, away = state.score or (0, 0)
    return phase, home, away


def _regressed(old: MatchState, new: MatchState) -> bool:
    before, after = progress(old), progress(new)
    return after[0] < before[0] or after[1] < before[1] or after[2] < before[2]


@dataclass(slots=True)
class MatchClock:
    """When the bot saw each period begin (UTC), on the match's own clock."""

    kickoff: datetime | None = None
    second_half: datetime | None = None
    extra_time: datetime | None = None

    def dumps(self) -> str:
        return json.dumps({k: v.isoformat() if v else None for k, v in asdict(self).items()})

    @classmethod
    def loads(cls, text: str | None) -> MatchClock:
        try:
            raw = json.loads(text or "{}")
            return cls(**{k: datetime.fromisoformat(v) if v else None for k, v in raw.items()})
        except (ValueError, TypeError):
            return cls()  # an unreadable record only costs the minute's precision

    def minute_at(self, state: MatchState, at: datetime) -> tuple[int, int] | None:
        """The match minute at `at` for a goal in `state`'s period, as fans write it."""

        def count(start: datetime | None, base: int, cap: int) -> tuple[int, int] | None:
            if start is None:
                return None
            minute = base + max(0, math.floor((at - start).total_seconds() / 60)) + 1
            return (minute, 0) if minute <= cap else (cap, minute - cap)

        if state.status is Status.EXTRA_TIME or (
            state.status in {Status.PENALTIES, Status.FINISHED} and self.extra_time
        ):
            return count(self.extra_time, 90, 120)
        if state.half_time is None or (state.status is Status.HALF_TIME and not self.second_half):
            return count(self.kickoff, 0, 45)
        return count(self.second_half, 45, 90)


@dataclass(frozen=True, slots=True)
class Watch:
    """How closely the bot watched up to this poll: decides news versus quiet catch-up."""

    now: datetime
    last_observed: datetime | None  # the last poll that looked at the world, if any

    @property
    def watching(self) -> bool:
        """No gap worth catching up: every new event is news."""
        return self.last_observed is not None and self.now - self.last_observed <= CATCH_UP

    def is_news(self, state: MatchState, event: Event) -> bool:
        if self.watching:
            return True
        # A gap the bot did not watch (its first look, or a long one) is caught up quietly,
        # but for what happened moments ago by the schedule's estimate (a bot started just
        # after kick-off still says so) ...
        if self.now - event.at <= JUST_NOW:
            return True
        if self.last_observed is None:
            return False
        # ... and the final whistle of a match that ended lately by the feed's own timestamp.
        recent = state.updated is not None and self.now - state.updated <= CATCH_UP
        return recent and event.kind in {EventKind.FULL_TIME, EventKind.PENALTIES}


class Observer:
    """Turns what a feed says at each poll into states the store may apply (see module)."""

    def __init__(self) -> None:
        self.clocks: dict[str, MatchClock] = {}
        self._updated: dict[str, datetime] = {}
        self._held: dict[str, tuple[int, int, int]] = {}
        self.dirty: set[str] = set()  # clocks to persist

    def admit(
        self,
        old: MatchState | None,
        new: MatchState,
        now: datetime,
        last_observed: datetime | None,
        *,
        trust: bool = False,
    ) -> MatchState | None:
        """The state to apply, or None to keep the stored one (stale, or not yet confirmed).

        `trust`: take the feed's word as it is (a replay rewound to an earlier instant).
        """
        seen = None if trust else self._updated.get(new.key)
        if new.updated is not None and seen is not None and new.updated < seen:
            return None  # a cached answer older than one already seen
        if old is not None and not trust and _regressed(old, new):
            newer = new.updated is not None and seen is not None and new.updated > seen
            if not newer and self._held.get(new.key) != progress(new):
                self._held[new.key] = progress(new)  # once is a glitch; twice, a correction
                return None
        self._held.pop(new.key, None)
        if new.updated is not None:
            self._updated[new.key] = max(new.updated, seen or new.updated)
        instant = self._instant(now, last_observed, new.updated)
        clock = self.clocks.get(new.key) or MatchClock()
        self._note_periods(clock, old, new, instant, now)
        if clock.kickoff or clock.second_half or clock.extra_time:
            self.clocks[new.key] = clock  # only matches under way keep one
        # At a whistle the feed's minute stops (45, no added time): a goal first seen then
        # went in before it, which the observed clock places better.
        at_whistle = new.status is Status.HALF_TIME and clock.kickoff is not None
        minute = (
            clock.minute_at(new, instant) if at_whistle else None
        ) or minute_of(new) or clock.minute_at(new, instant)
        return with_goals(old, new, now, minute)

    @staticmethod
    def _instant(now: datetime, last: datetime | None, updated: datetime | None) -> datetime:
        """When something first seen now happened: half-way since a recent poll, else now;
        never after the feed's own `lastUpdated`, which no change it shows can postdate (after
        a stale cached answer hid a kick-off, the half-way guess is minutes late)."""
        instant = now
        if last is not None and timedelta(0) < now - last <= BRACKET:
            instant = last + (now - last) / 2
        if updated is not None and now - UPDATED_BOUND <= updated < instant:
            instant = updated
        return instant

    def _note_periods(
        self,
        clock: MatchClock,
        old: MatchState | None,
        new: MatchState,
        at: datetime,
        now: datetime,
    ) -> None:
        """Note the periods that began since `old`: at `at`, or as the feed's minute says."""
        before = old.status if old is not None else Status.SCHEDULED
        began = clock.kickoff, clock.second_half, clock.extra_time
        feed_minute = minute_of(new)
        if new.status in {Status.LIVE, Status.HALF_TIME} and clock.kickoff is None:
            if new.half_time is None and before in {Status.SCHEDULED, Status.POSTPONED}:
                clock.kickoff = at
                if feed_minute is not None:  # the feed's own minute says when it began
                    clock.kickoff = now - timedelta(minutes=sum(feed_minute) - 0.5)
        if new.status is Status.LIVE and new.half_time is not None and clock.second_half is None:
            if before is Status.HALF_TIME or (old is not None and old.half_time is None):
                clock.second_half = at
                if feed_minute is not None and feed_minute[0] > 45:
                    clock.second_half = now - timedelta(minutes=sum(feed_minute) - 45.5)
        if new.status is Status.EXTRA_TIME and clock.extra_time is None:
            if before in {Status.LIVE, Status.HALF_TIME}:
                clock.extra_time = at
        if (clock.kickoff, clock.second_half, clock.extra_time) != began:
            self.dirty.add(new.key)

    def forget(self, key: str) -> None:
        """A finished match needs no clock."""
        for table in (self.clocks, self._updated, self._held):
            table.pop(key, None)
