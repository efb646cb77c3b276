"""The observer between feed and store: confirmation, stale answers, the match's own clock,
and which events are news (feeds/observe.py), plus goals completed by late details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.events import EventKind, diff, with_goals
from feeds.model import Goal, MatchState, Status, TeamRef
from feeds.observe import CATCH_UP, Observer, Watch

KICKOFF = datetime(2026, 6, 14, 18, 0, tzinfo=UTC)
SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)


def state(status: Status = Status.LIVE, score: tuple[int, int] | None = (0, 0), **kw: object):
    base = MatchState(
        key="fd:1", competition="WC", stage="Group stage", kickoff=KICKOFF,
        home=TeamRef("Mexico", "MEX"), away=TeamRef("Korea Republic", "KOR"),
        status=status, score=score,
    )  # fmt: skip
    return base.with_(**kw)


def test_a_score_drop_waits_for_a_second_poll_without_timestamps() -> None:
    observer = Observer()
    now = KICKOFF + 30 * MIN
    one_nil = observer.admit(state(), state(score=(1, 0)), now, now - 30 * SEC)
    assert one_nil is not None and len(one_nil.goals) == 1
    assert observer.admit(one_nil, state(score=(0, 0)), now + 30 * SEC, now) is None
    confirmed = observer.admit(one_nil, state(score=(0, 0)), now + 60 * SEC, now + 30 * SEC)
    assert confirmed is not None and confirmed.score == (0, 0)
    events = diff(one_nil, confirmed)
    assert [e.kind for e in events] == [EventKind.GOAL_CANCELLED]


def test_a_glitch_between_two_good_answers_changes_nothing() -> None:
    observer = Observer()
    now = KICKOFF + 30 * MIN
    one_nil = state(score=(1, 0), goals=(Goal(1, 29),))
    assert observer.admit(one_nil, state(score=(0, 0)), now, now - 30 * SEC) is None
    back = observer.admit(one_nil, state(score=(1, 0)), now + 30 * SEC, now)
    assert back is not None and diff(one_nil, back) == []
    # the next drop starts counting afresh
    assert observer.admit(one_nil, state(score=(0, 0)), now + 60 * SEC, now) is None


def test_stale_answers_are_ignored_and_newer_ones_confirm_at_once() -> None:
    observer = Observer()
    now = KICKOFF + 62 * MIN
    t1, t0 = KICKOFF + 61 * MIN, KICKOFF + 50 * MIN
    first = state(score=(0, 1), updated=t1)
    shown = observer.admit(state(score=(0, 0)), first, now, now - 30 * SEC)
    assert shown is not None
    stale = state(score=(0, 0), updated=t0)  # a cache from before the goal
    assert observer.admit(shown, stale, now + 30 * SEC, now) is None
    var = state(score=(0, 0), updated=t1 + 3 * MIN)  # VAR, the feed says so itself
    taken_back = observer.admit(shown, var, now + 4 * MIN, now + 3 * MIN)
    assert taken_back is not None and taken_back.score == (0, 0)


def test_minutes_come_from_the_kick_off_the_bot_saw() -> None:
    """36 minutes late, no feed minute: the goal in the 43rd minute is 43', not 79'."""
    observer = Observer()
    late = KICKOFF + 36 * MIN
    scheduled = state(Status.SCHEDULED, None)
    started = observer.admit(scheduled, state(), late + 15 * SEC, late - 15 * SEC)
    assert started is not None
    at = late + 42 * MIN + 40 * SEC
    goal = observer.admit(started, state(score=(1, 0)), at, at - 30 * SEC)
    assert goal is not None and goal.goals[0].minute == 43 and goal.goals[0].offset == 0
    # Added time stays in its half: never a second-half minute for 45+9.
    at = late + 53 * MIN + 20 * SEC
    more = observer.admit(goal, state(score=(2, 0)), at, at - 30 * SEC)
    assert more is not None and (more.goals[1].minute, more.goals[1].offset) == (45, 9)


def test_a_feed_minute_past_45_in_the_first_half_is_added_time() -> None:
    observer = Observer()
    now = KICKOFF + 50 * MIN
    first = state(score=(0, 0), minute=44)
    admitted = observer.admit(first, state(score=(0, 1), minute=47), now, now - 30 * SEC)
    assert admitted is not None and admitted.goals[0].clock == "45+2'"


def test_late_details_complete_the_goal_never_take_it_back() -> None:
    inferred = with_goals(state(), state(score=(1, 0)), KICKOFF, (13, 0))
    named = state(score=(1, 0), goals=(Goal(1, 12, scorer="Lozano"),))
    events = diff(inferred, with_goals(inferred, named, KICKOFF))
    assert [e.kind for e in events] == [EventKind.GOAL_DETAILS]
    assert events[0].key == "goal_details:1:1:13+0" and events[0].goal.scorer == "Lozano"


def test_details_for_the_first_goal_only_keep_the_second() -> None:
    two = with_goals(state(), state(score=(2, 0)), KICKOFF, (50, 0))
    partial = state(score=(2, 0), goals=(Goal(1, 50, scorer="Lozano"),))
    completed = with_goals(two, partial, KICKOFF)
    assert [g.scorer for g in completed.goals] == ["Lozano", None]
    assert [e.kind for e in diff(two, completed)] == [EventKind.GOAL_DETAILS]


def test_news_is_what_the_bot_watched_happen() -> None:
    now = KICKOFF + 3 * 60 * MIN
    final = state(Status.FINISHED, (1, 0), updated=now - 5 * MIN)
    (kickoff, goal, full_time) = diff(state(Status.SCHEDULED, None), final.with_(
        goals=(Goal(1, 80),)))  # fmt: skip
    watching = Watch(now, now - 30 * SEC)
    assert all(watching.is_news(final, e) for e in (kickoff, goal, full_time))
    down_briefly = Watch(now, now - 20 * MIN)
    assert all(down_briefly.is_news(final, e) for e in (kickoff, goal, full_time))
    down_long = Watch(now, now - CATCH_UP - MIN)
    assert [down_long.is_news(final, e) for e in (kickoff, goal, full_time)] == [
        False, False, True
    ]  # only the final whistle of a match that just ended
    old_final = final.with_(updated=now - 2 * 60 * MIN)
    assert not down_long.is_news(old_final, full_time)
    first_look = Watch(now, None)
    assert not any(first_look.is_news(final, e) for e in (kickoff, goal, full_time))
