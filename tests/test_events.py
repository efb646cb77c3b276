"""feeds.events: turning two states of a match into what fans are told, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.events import Event, EventKind, diff, match_instant, with_goals
from feeds.model import Goal, MatchState, Status, TeamRef
from feeds.openfootball import load_bundled_world_cup_2018
from feeds.replay import ReplayFeed

KICKOFF = datetime(2024, 5, 1, 18, 0, tzinfo=UTC)
WORLD_CUP = load_bundled_world_cup_2018().matches


def match(**changes: object) -> MatchState:
    base = MatchState(
        key="test:alpha-beta",
        competition="Test Cup",
        stage="Final",
        kickoff=KICKOFF,
        home=TeamRef("Alpha", "ALP"),
        away=TeamRef("Beta", "BET"),
    )
    return base.with_(**changes)


def kinds(events: list[Event]) -> list[EventKind]:
    return [e.kind for e in events]


def wc(key_end: str) -> MatchState:
    (found,) = [m for m in WORLD_CUP if m.key.endswith(key_end)]
    return found


# -- one step at a time ----------------------------------------------------------------------


def test_first_sight_of_a_scheduled_match_is_quiet() -> None:
    assert diff(None, match()) == []


def test_kickoff() -> None:
    events = diff(match(), match(status=Status.LIVE, score=(0, 0), minute=1))
    assert kinds(events) == [EventKind.KICKOFF]
    assert events[0].key == "kickoff" and events[0].at == KICKOFF


def test_goals_in_order_with_running_scores() -> None:
    old = match(status=Status.LIVE, score=(0, 0), minute=5)
    goals = (Goal(1, 30, scorer="C"), Goal(1, 10, scorer="A"), Goal(2, 20, scorer="B"))
    new = old.with_(score=(2, 1), minute=31, goals=goals)
    events = diff(old, new)
    assert kinds(events) == [EventKind.GOAL] * 3
    assert [e.goal.scorer for e in events if e.goal] == ["A", "B", "C"]
    assert [e.score for e in events] == [(1, 0), (1, 1), (2, 1)]
    assert len({e.key for e in events}) == 3
    assert [e.at for e in events] == [KICKOFF + timedelta(minutes=m) for m in (10, 20, 30)]
    # Seen again, nothing new.
    assert diff(new, new) == []
    later = new.with_(score=(2, 2), minute=40, goals=(*goals, Goal(2, 39, scorer="D")))
    (fourth,) = diff(new, later)
    assert (fourth.kind, fourth.score, fourth.goal) == (EventKind.GOAL, (2, 2), Goal(2, 39, 0, "D"))


def test_stoppage_time_goal_keeps_its_offset() -> None:
    old = match(status=Status.LIVE, score=(0, 0), minute=90)
    new = old.with_(score=(1, 0), goals=(Goal(1, 90, 4, "Late"),))
    (goal,) = diff(old, new)
    assert goal.goal is not None and goal.goal.clock == "90+4'"
    assert goal.at == match_instant(KICKOFF, 90, 4)


def test_half_time() -> None:
    old = match(status=Status.LIVE, score=(1, 0), minute=45, goals=(Goal(1, 12),))
    events = diff(old, old.with_(status=Status.HALF_TIME, half_time=(1, 0)))
    assert kinds(events) == [EventKind.HALF_TIME]
    assert events[0].score == (1, 0)


def test_half_time_without_a_half_time_score() -> None:
    old = match(status=Status.LIVE, score=(0, 0), minute=45)
    events = diff(old, old.with_(status=Status.HALF_TIME))
    assert kinds(events) == [EventKind.HALF_TIME] and events[0].score == (0, 0)


def test_whole_match_in_one_step_is_told_in_order() -> None:
    goals = (Goal(1, 20, scorer="A"), Goal(2, 70, scorer="B"), Goal(1, 90, 2, scorer="C"))
    done = match(status=Status.FINISHED, score=(2, 1), half_time=(1, 0), goals=goals)
    events = diff(None, done)
    assert kinds(events) == [
        EventKind.KICKOFF,
        EventKind.GOAL,
        EventKind.HALF_TIME,
        EventKind.GOAL,
        EventKind.GOAL,
        EventKind.FULL_TIME,
    ]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert events[-1].score == (2, 1)


def test_full_time() -> None:
    old = match(status=Status.LIVE, score=(0, 0), minute=90, half_time=(0, 0))
    events = diff(old, old.with_(status=Status.FINISHED, minute=None))
    assert kinds(events) == [EventKind.FULL_TIME]
    assert events[0].key == "full_time" and events[0].score == (0, 0)


def test_extra_time_and_penalties() -> None:
    ninety = match(status=Status.LIVE, score=(1, 1), half_time=(1, 0), minute=90)
    extra = ninety.with_(status=Status.EXTRA_TIME, full_time=(1, 1), minute=91)
    shootout = extra.with_(status=Status.PENALTIES, extra_time=(1, 1), minute=120)
    done = shootout.with_(status=Status.FINISHED, penalties=(3, 4), minute=None)

    to_extra = diff(ninety, extra)
    assert kinds(to_extra) == [EventKind.EXTRA_TIME] and to_extra[0].score == (1, 1)
    assert diff(extra, shootout) == []
    end = diff(shootout, done)
    # Full time (the score after extra time), then the shoot-out's winner.
    assert kinds(end) == [EventKind.FULL_TIME, EventKind.PENALTIES]
    assert end[0].score == (1, 1) and end[1].score == (3, 4)
    assert to_extra[0].at < end[0].at <= end[1].at
    assert end[1].at >= match_instant(KICKOFF, 120, 10)


def test_extra_time_goal_comes_after_the_extra_time_event() -> None:
    ninety = match(status=Status.LIVE, score=(0, 0), minute=90)
    done = ninety.with_(
        status=Status.FINISHED,
        score=(1, 0),
        full_time=(0, 0),
        extra_time=(1, 0),
        goals=(Goal(1, 104, scorer="Hero"),),
    )
    assert kinds(diff(ninety, done)) == [EventKind.EXTRA_TIME, EventKind.GOAL, EventKind.FULL_TIME]


def test_goal_taken_back_with_details() -> None:
    scored = match(status=Status.LIVE, score=(1, 0), minute=30, goals=(Goal(1, 28, scorer="X"),))
    events = diff(scored, scored.with_(score=(0, 0), goals=()))
    assert kinds(events) == [EventKind.GOAL_CANCELLED]
    assert events[0].goal == Goal(1, 28, scorer="X") and events[0].score == (0, 0)
    assert events[0].key.startswith("goal_cancelled:")


def test_goal_taken_back_in_a_feed_without_goal_details() -> None:
    now = KICKOFF + timedelta(minutes=10)
    start = match(status=Status.LIVE, score=(0, 0), minute=9)
    one = with_goals(start, start.with_(score=(1, 0), minute=10), now)
    assert one.goals == (Goal(1, 10),)
    (goal,) = diff(start, one)
    assert goal.kind == EventKind.GOAL and goal.score == (1, 0)

    now += timedelta(minutes=3)
    back = with_goals(one, one.with_(score=(0, 0), minute=13, goals=()), now)
    assert back.goals == ()
    (cancelled,) = diff(one, back)
    assert cancelled.kind == EventKind.GOAL_CANCELLED and cancelled.score == (0, 0)

    now += timedelta(minutes=20)
    again = with_goals(back, back.with_(score=(1, 0), minute=33), now)
    (second,) = diff(back, again)
    assert second.kind == EventKind.GOAL and second.goal == Goal(1, 33)
    keys = {goal.key, cancelled.key, second.key}
    assert len(keys) == 3, keys  # the later goal is not mistaken for the cancelled one


def test_with_goals_keeps_known_goals_and_infers_the_rest() -> None:
    now = KICKOFF + timedelta(minutes=50)
    old = match(status=Status.LIVE, score=(1, 0), minute=20, goals=(Goal(1, 20),))
    new = with_goals(old, old.with_(score=(2, 1), minute=None, goals=()), now)
    # 50 minutes after kick-off, less the break, is minute 35.
    assert new.goals == (Goal(1, 20), Goal(1, 35), Goal(2, 35))
    assert [e.score for e in diff(old, new)] == [(2, 0), (2, 1)]
    detailed = old.with_(goals=(Goal(1, 20, scorer="Named"),))
    assert with_goals(None, detailed, now) is detailed
    assert with_goals(old, old.with_(score=(0, 0), goals=()), now).goals == ()


def test_kickoff_moved() -> None:
    old = match()
    later = KICKOFF + timedelta(hours=2)
    events = diff(old, old.with_(kickoff=later))
    assert kinds(events) == [EventKind.KICKOFF_MOVED]
    assert events[0].previous_kickoff == KICKOFF and events[0].at == later
    moved_again = diff(old.with_(kickoff=later), old.with_(kickoff=later + timedelta(days=1)))
    assert moved_again[0].key != events[0].key


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (Status.POSTPONED, EventKind.POSTPONED),
        (Status.CANCELLED, EventKind.CANCELLED),
        (Status.SUSPENDED, EventKind.SUSPENDED),
    ],
)
def test_stopped_matches(status: Status, kind: EventKind) -> None:
    old = match()
    new = old.with_(status=status)
    events = diff(old, new)
    assert kinds(events) == [kind]
    assert diff(new, new) == []


def test_postponed_to_a_new_date_then_played() -> None:
    postponed = match(status=Status.POSTPONED)
    rescheduled = match(kickoff=KICKOFF + timedelta(days=7))
    assert diff(postponed, rescheduled)[0].kind == EventKind.KICKOFF_MOVED
    assert kinds(diff(rescheduled, rescheduled.with_(status=Status.LIVE, score=(0, 0)))) == [
        EventKind.KICKOFF
    ]


@pytest.mark.parametrize("minutes", [-60, 0, 30, 50, 75, 100, 112, 400])
def test_no_change_no_events(minutes: int) -> None:
    m = wc("belgium-japan")
    state = ReplayFeed([m]).state_at(m, m.kickoff + timedelta(minutes=minutes))
    assert diff(state, state) == []
    assert diff(state, state.with_()) == []


# -- whole replayed matches ------------------------------------------------------------------


def replay_events(m: MatchState, step: timedelta, start_offset: timedelta = timedelta(0)):
    """Poll the replay every `step` from an hour before kick-off; (poll time, event) pairs."""
    feed = ReplayFeed([m])
    now = m.kickoff - timedelta(hours=1) + start_offset
    old = with_goals(None, feed.state_at(m, now), now)
    seen = []
    while now <= m.kickoff + timedelta(hours=4):
        now += step
        new = with_goals(old, feed.state_at(m, now), now)
        seen += [(now, e) for e in diff(old, new)]
        old = new
    return seen


def test_belgium_japan_minute_by_minute() -> None:
    events = [e for _, e in replay_events(wc("belgium-japan"), timedelta(minutes=1))]
    assert kinds(events) == [
        EventKind.KICKOFF,
        EventKind.HALF_TIME,
        *[EventKind.GOAL] * 5,
        EventKind.FULL_TIME,
    ]
    keys = [e.key for e in events]
    assert len(set(keys)) == len(keys)
    goals = [e for e in events if e.goal]
    assert [e.goal.scorer for e in goals if e.goal] == [
        "Genki Haraguchi",
        "Takashi Inui",
        "Jan Vertonghen",
        "Marouane Fellaini",
        "Nacer Chadli",
    ]
    assert [e.score for e in goals] == [(0, 1), (0, 2), (1, 2), (2, 2), (3, 2)]
    assert events[1].score == (0, 0) and events[-1].score == (3, 2)


def test_spain_russia_minute_by_minute() -> None:
    events = [e for _, e in replay_events(wc("spain-russia"), timedelta(minutes=1))]
    assert kinds(events) == [
        EventKind.KICKOFF,
        EventKind.GOAL,
        EventKind.GOAL,
        EventKind.HALF_TIME,
        EventKind.EXTRA_TIME,
        EventKind.FULL_TIME,
        EventKind.PENALTIES,
    ]
    assert events[1].goal is not None and events[1].goal.own_goal
    assert events[2].goal is not None and events[2].goal.penalty
    assert events[-1].score == (3, 4)


@pytest.mark.parametrize("offset_seconds", [0, 29])
def test_every_event_is_seen_once_whatever_the_phase(offset_seconds: int) -> None:
    """Whatever the polls' phase, every event appears on exactly one poll, with a key of
    its own (freshness is by observation now: an event first seen by polling is news)."""
    for m in WORLD_CUP:
        seen = replay_events(m, timedelta(seconds=30), timedelta(seconds=offset_seconds))
        assert seen, m.key
        keys = [e.key for _, e in seen]
        assert len(keys) == len(set(keys)), m.key
