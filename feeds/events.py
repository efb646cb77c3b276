"""Diff two states of one match into the events fans are told about.

An event's `key` is unique within its match and stable across polls and restarts: it is half
of the alert ledger's uniqueness key (chat, match, event), which is what makes every alert
go out once. A goal's key carries the side, its ordinal for that side and its minute, so a
goal the feed takes back and a later goal with the same ordinal stay distinct.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.model import IN_PLAY, Goal, MatchState, Status


class EventKind(enum.StrEnum):
    KICKOFF = "kickoff"
    GOAL = "goal"
    GOAL_CANCELLED = "goal_cancelled"
    HALF_TIME = "half_time"
    EXTRA_TIME = "extra_time"
    PENALTIES = "penalties"
    FULL_TIME = "full_time"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    KICKOFF_MOVED = "kickoff_moved"
    REMINDER = "reminder"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a match; `at` estimates when, on the match's own clock."""

    kind: EventKind
    key: str
    at: datetime
    goal: Goal | None = None
    score: tuple[int, int] | None = None  # the running score after the event
    previous_kickoff: datetime | None = None
    lead_minutes: int | None = None  # reminders: the chat's lead time that fell due


_DONE = {Status.FINISHED}
_STOPPED = {Status.POSTPONED, Status.CANCELLED, Status.SUSPENDED}


def match_instant(kickoff: datetime, minute: int, offset: int = 0) -> datetime:
    """Roughly when a match minute happened: halves of 45, a 15-minute break, ET after 5."""
    elapsed = minute + offset
    if minute > 45:
        elapsed += 17  # stoppage before the break plus the break itself
    if minute > 90:
        elapsed += 8
    return kickoff + timedelta(minutes=elapsed)


def _goal_key(goal: Goal, ordinal: int) -> str:
    return f"goal:{goal.side}:{ordinal}:{goal.minute}+{goal.offset}"


def _running(goals: tuple[Goal, ...]) -> list[tuple[Goal, int, tuple[int, int]]]:
    """Each goal with its ordinal for its side and the score it made."""
    home = away = 0
    out = []
    for goal in sorted(goals, key=lambda g: g.sort_key):
        if goal.side == 1:
            home += 1
            out.append((goal, home, (home, away)))
        else:
            away += 1
            out.append((goal, away, (home, away)))
    return out


def _inferred_goals(old: MatchState | None, new: MatchState, now: datetime) -> tuple[Goal, ...]:
    """Goals a feed without goal details implies by its score: one per point, no scorer.

    Goals the store already holds are kept; a side whose score dropped loses its latest ones.
    """
    kept = old.goals if old is not None else ()
    minute = new.minute
    if minute is None:
        elapsed = int((now - new.kickoff).total_seconds() // 60)
        minute = max(1, min(elapsed if elapsed <= 45 else elapsed - 15, 120))
    goals: list[Goal] = []
    for side, target in zip((1, 2), new.score or (0, 0), strict=True):
        ours = sorted((g for g in kept if g.side == side), key=lambda g: g.sort_key)[:target]
        ours.extend(Goal(side=side, minute=minute) for _ in range(target - len(ours)))
        goals.extend(ours)
    return tuple(goals)


def with_goals(old: MatchState | None, new: MatchState, now: datetime) -> MatchState:
    """The new state with a goal list that agrees with its score.

    Feeds on free tiers report scores but no goals; the store keeps inferred goals so that
    the next poll's diff sees them and a score that drops is a goal taken back.
    """
    if new.goals or new.score is None or new.score == (0, 0):
        return new
    return new.with_(goals=_inferred_goals(old, new, now))


def diff(old: MatchState | None, new: MatchState) -> list[Event]:
    """Events between two states of the same match, in the order they happened."""
    before = old.status if old is not None else Status.SCHEDULED
    events: list[Event] = []
    kickoff = new.kickoff

    if old is not None and old.kickoff != new.kickoff and new.status == Status.SCHEDULED:
        events.append(
            Event(
                EventKind.KICKOFF_MOVED,
                f"kickoff_moved:{new.kickoff:%Y%m%dT%H%M}",
                at=new.kickoff,
                previous_kickoff=old.kickoff,
            )
        )
    if new.status in _STOPPED and before != new.status:
        kind = EventKind(new.status.value)
        events.append(Event(kind, f"{kind.value}:{new.kickoff:%Y%m%dT%H%M}", at=kickoff))

    started = new.status in IN_PLAY or new.status in _DONE
    if started and not (before in IN_PLAY or before in _DONE):
        events.append(Event(EventKind.KICKOFF, "kickoff", at=kickoff))

    old_goals = {_goal_key(g, n): (g, s) for g, n, s in _running(old.goals)} if old else {}
    new_running = _running(new.goals)
    new_keys = {_goal_key(g, n) for g, n, _ in new_running}
    for key, (goal, _score) in old_goals.items():
        if key not in new_keys:
            events.append(
                Event(
                    EventKind.GOAL_CANCELLED,
                    key.replace("goal:", "goal_cancelled:", 1),
                    at=match_instant(kickoff, goal.minute, goal.offset),
                    goal=goal,
                    score=new.score,
                )
            )

    goal_events = [
        Event(EventKind.GOAL, key, at=match_instant(kickoff, g.minute, g.offset), goal=g, score=s)
        for g, n, s in new_running
        if (key := _goal_key(g, n)) not in old_goals
    ]
    first_half = [e for e in goal_events if e.goal and e.goal.minute <= 45]
    events.extend(first_half)
    if new.half_time is not None and (old is None or old.half_time is None):
        events.append(
            Event(
                EventKind.HALF_TIME,
                "half_time",
                at=match_instant(kickoff, 45, 2),
                score=new.half_time,
            )
        )
    elif new.status == Status.HALF_TIME and before != Status.HALF_TIME and new.half_time is None:
        events.append(
            Event(
                EventKind.HALF_TIME, "half_time", at=match_instant(kickoff, 45, 2), score=new.score
            )
        )
    events.extend(e for e in goal_events if e.goal and 45 < e.goal.minute <= 90)
    went_to_extra = new.status in {Status.EXTRA_TIME, Status.PENALTIES} or (
        new.status in _DONE and new.extra_time is not None
    )
    was_extra = old is not None and (
        old.status in {Status.EXTRA_TIME, Status.PENALTIES} or old.extra_time is not None
    )
    if went_to_extra and not was_extra:
        events.append(
            Event(
                EventKind.EXTRA_TIME,
                "extra_time",
                at=match_instant(kickoff, 91),
                score=new.full_time or new.score,
            )
        )
    events.extend(e for e in goal_events if e.goal and e.goal.minute > 90)
    # A shoot-out's result is only known once the kicks are over, some 15 minutes after 120'
    # (the break plus the kicks): an earlier estimate made the result look stale on arrival.
    shootout_over = match_instant(kickoff, 120, 15)
    if new.penalties is not None and (old is None or old.penalties is None):
        events.append(
            Event(
                EventKind.PENALTIES,
                "penalties",
                at=shootout_over,
                score=new.penalties,
            )
        )
    if new.status in _DONE and before not in _DONE:
        end = match_instant(kickoff, 120, 5) if new.extra_time else match_instant(kickoff, 90, 5)
        at = shootout_over if new.penalties is not None else end
        events.append(Event(EventKind.FULL_TIME, "full_time", at=at, score=new.score))
    return events
