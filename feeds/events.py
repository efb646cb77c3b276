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

from feeds.model import IN_PLAY, Goal, Incident, IncidentKind, MatchState, Status


class EventKind(enum.StrEnum):
    KICKOFF = "kickoff"
    GOAL = "goal"
    GOAL_CANCELLED = "goal_cancelled"
    GOAL_DETAILS = "goal_details"  # the scorer of a goal first known from the score
    HALF_TIME = "half_time"
    EXTRA_TIME = "extra_time"
    PENALTIES = "penalties"
    FULL_TIME = "full_time"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    KICKOFF_MOVED = "kickoff_moved"
    REMINDER = "reminder"
    RED_CARD = "red_card"  # feeds with match events only (API-Football)
    MISSED_PENALTY = "missed_penalty"


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
    incident: Incident | None = None  # red cards, missed penalties

    @property
    def minute(self) -> int | None:
        """The match minute of a goal's or an incident's event."""
        moment = self.goal or self.incident
        return moment.minute if moment is not None else None


_DONE = {Status.FINISHED}
DETAILS_WITHIN = 5  # minutes between an inferred goal and the detailed one that completes it
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


def minute_of(state: MatchState) -> tuple[int, int] | None:
    """The feed's running minute as (minute, added), kept inside the half being played: a
    feed that says 47' in the first half means 45+2', never a second-half minute."""
    if state.minute is None:
        return None
    minute, added = state.minute, state.added or 0
    cap = {Status.LIVE: 90 if state.half_time is not None else 45, Status.HALF_TIME: 45}.get(
        state.status, 120
    )
    if minute > cap:
        minute, added = cap, added + minute - cap
    return max(1, minute), max(0, added)


def _scheduled_minute(new: MatchState, now: datetime) -> tuple[int, int]:
    """The last resort, without a feed minute or an observed clock: from the schedule."""
    elapsed = int((now - new.kickoff).total_seconds() // 60)
    return max(1, min(elapsed if elapsed <= 45 else elapsed - 15, 120)), 0


def with_goals(
    old: MatchState | None,
    new: MatchState,
    now: datetime,
    minute: tuple[int, int] | None = None,
) -> MatchState:
    """The new state with a goal list that agrees with its score.

    Feeds report scores before scorers (free tiers never give scorers): per side, the
    feed's detailed goals come first, then goals the store already holds beyond them, then
    one goal without a scorer per missing point at `minute` (the feed's minute, else the
    observed clock's, else the schedule's). A side whose score dropped loses its latest.
    """
    if new.score is None:
        return new
    at = minute or minute_of(new) or _scheduled_minute(new, now)
    kept = old.goals if old is not None else ()
    goals: list[Goal] = []
    changed = False
    for side, target in zip((1, 2), new.score, strict=True):
        detailed = sorted((g for g in new.goals if g.side == side), key=lambda g: g.sort_key)
        if len(detailed) >= target:
            goals.extend(detailed)
            continue
        changed = True
        ours = sorted((g for g in kept if g.side == side), key=lambda g: g.sort_key)
        filled = detailed + ours[len(detailed) : target]
        missing = target - len(filled)
        filled.extend(Goal(side=side, minute=at[0], offset=at[1]) for _ in range(missing))
        goals.extend(filled)
    return new.with_(goals=tuple(goals)) if changed else new


def _same_goal(old: Goal, new: Goal) -> bool:
    """A goal first known from the score, now with its details: the same goal."""
    gap = abs((old.minute + old.offset) - (new.minute + new.offset))
    return old.scorer is None and new.scorer is not None and gap <= DETAILS_WITHIN


def _goal_events(old: MatchState | None, new: MatchState) -> list[Event]:
    """Goals scored, completed with details, or taken back; each keyed for the ledger."""
    kickoff = new.kickoff
    before = {_goal_key(g, n): (g, n) for g, n, _ in _running(old.goals)} if old else {}
    after = [(g, n, s, _goal_key(g, n)) for g, n, s in _running(new.goals)]
    gone = {k: v for k, v in before.items() if k not in {key for *_, key in after}}
    events: list[Event] = []
    for goal, ordinal, score, key in after:
        twin: str | None = key if key in before else None
        if twin is None:
            twin = next(
                (k for k, (g, n) in gone.items() if n == ordinal and g.side == goal.side), None
            )
        if twin is not None and _same_goal(before[twin][0], goal):
            gone.pop(twin, None)  # scored before, named now: complete it, never "disallowed"
            events.append(
                Event(EventKind.GOAL_DETAILS, twin.replace("goal:", "goal_details:", 1),
                      at=match_instant(kickoff, goal.minute, goal.offset), goal=goal, score=score)
            )  # fmt: skip
            continue
        if key in before:
            continue
        events.append(
            Event(EventKind.GOAL, key, at=match_instant(kickoff, goal.minute, goal.offset),
                  goal=goal, score=score)
        )  # fmt: skip
    for key, (goal, _n) in gone.items():
        events.append(
            Event(EventKind.GOAL_CANCELLED, key.replace("goal:", "goal_cancelled:", 1),
                  at=match_instant(kickoff, goal.minute, goal.offset), goal=goal, score=new.score)
        )  # fmt: skip
    return sorted(events, key=lambda e: e.goal.sort_key if e.goal else (0, 0))


_ALERTED = {IncidentKind.RED_CARD: EventKind.RED_CARD,
            IncidentKind.MISSED_PENALTY: EventKind.MISSED_PENALTY}  # fmt: skip


def _incident_events(old: MatchState | None, new: MatchState) -> list[Event]:
    """Red cards and missed penalties not seen before, each with the score it came at.
    VAR decisions are not alerts of their own: the goal they take back is."""
    seen = {i.key for i in old.incidents} if old is not None else set()
    events = []
    for incident in new.incidents:
        kind = _ALERTED.get(incident.kind)
        if kind is None or incident.key in seen:
            continue
        before = [g for g in new.goals if g.sort_key <= incident.sort_key]
        score = (sum(g.side == 1 for g in before), sum(g.side == 2 for g in before))
        at = match_instant(new.kickoff, incident.minute, incident.offset)
        events.append(Event(kind, incident.key, at=at, score=score, incident=incident))
    return events


def diff(old: MatchState | None, new: MatchState) -> list[Event]:
    """Events between two states of the same match, in the order they happened: kick-off,
    goals by minute, half-time, extra time, full time, then the shoot-out's winner."""
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

    goals = sorted(
        [*_goal_events(old, new), *_incident_events(old, new)],
        key=lambda e: (e.goal or e.incident).sort_key,  # type: ignore[union-attr]
    )
    events.extend(e for e in goals if (e.minute or 0) <= 45)
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
    events.extend(e for e in goals if 45 < (e.minute or 0) <= 90)
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
    events.extend(e for e in goals if (e.minute or 0) > 90)
    shootout_over = match_instant(kickoff, 120, 15)
    if new.status in _DONE and before not in _DONE:
        end = match_instant(kickoff, 120, 5) if new.extra_time else match_instant(kickoff, 90, 5)
        at = shootout_over if new.penalties is not None else end
        events.append(Event(EventKind.FULL_TIME, "full_time", at=at, score=new.score))
    if new.penalties is not None and (old is None or old.penalties is None):
        events.append(
            Event(EventKind.PENALTIES, "penalties", at=shootout_over, score=new.penalties)
        )
    return events
