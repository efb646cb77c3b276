"""ReplayFeed: finished matches told minute by minute, never revealing the future."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from importlib import resources
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.model import Goal, MatchState, Status, TeamRef
from feeds.openfootball import load_bundled_world_cup_2018, parse_openfootball_bytes
from feeds.replay import ReplayFeed

WC2018 = load_bundled_world_cup_2018().matches
WC2014 = parse_openfootball_bytes(
    (resources.files("feeds") / "data" / "worldcup-2014.json").read_bytes(),
    source="worldcup-2014.json",
).matches
FEED = ReplayFeed(WC2018)


def _match(key_end: str, matches: list[MatchState] = WC2018) -> MatchState:
    (match,) = [m for m in matches if m.key.endswith(key_end)]
    return match


def _at(match: MatchState, minutes: float) -> MatchState:
    """The replayed state `minutes` after kick-off."""
    return FEED.state_at(match, match.kickoff + timedelta(minutes=minutes))


def _clocks(state: MatchState) -> list[str]:
    return [g.clock for g in state.goals]


def _spec_instant(match: MatchState, goal: Goal) -> datetime:
    """When a goal goes in, straight from the replay rules (an oracle independent of the code)."""
    minute = timedelta(minutes=1)
    first_half = [g.offset for g in match.goals if g.minute <= 45]
    second_start = match.kickoff + minute * (45 + max([2] + [o + 1 for o in first_half]) + 15)
    if goal.minute <= 45:
        return match.kickoff + minute * (goal.minute + goal.offset)
    if goal.minute <= 90 or match.extra_time is None:
        return second_start + minute * (goal.minute - 45 + goal.offset)
    second_half = [g.offset for g in match.goals if 45 < g.minute <= 90]
    regulation_end = second_start + minute * (45 + max([3] + [o + 1 for o in second_half]))
    extra_start = regulation_end + 5 * minute
    return extra_start + minute * (goal.minute - 90 + goal.offset)


# --- one match through its timeline --------------------------------------------------------


def test_belgium_japan_timeline() -> None:
    m = _match("2018-07-02:belgium-japan")
    assert m.kickoff == datetime(2018, 7, 2, 18, 0, tzinfo=UTC)

    before = _at(m, -1)
    assert (before.status, before.score, before.goals, before.minute) == (
        Status.SCHEDULED,
        None,
        (),
        None,
    )
    assert before.half_time is None

    live = _at(m, 30)
    assert (live.status, live.score, live.minute, live.goals) == (Status.LIVE, (0, 0), 30, ())
    assert _at(m, 0).minute == 1

    assert _at(m, 46.9).status is Status.LIVE  # 45+2 minutes of first half
    half_time = _at(m, 47)
    assert (half_time.status, half_time.score, half_time.half_time) == (
        Status.HALF_TIME,
        (0, 0),
        (0, 0),
    )
    assert _at(m, 61.9).status is Status.HALF_TIME  # 15 minutes' break

    assert _at(m, 64.99).score == (0, 0)
    haraguchi = _at(m, 65)  # 45 + 2 + 15 + 3
    assert (haraguchi.status, haraguchi.score, haraguchi.minute) == (Status.LIVE, (0, 1), 48)
    assert [(g.scorer, g.clock) for g in haraguchi.goals] == [("Genki Haraguchi", "48'")]

    assert _at(m, 110.9).score == (2, 2)
    chadli = _at(m, 111)  # 90+4 in the second half
    assert (chadli.status, chadli.score, chadli.minute) == (Status.LIVE, (3, 2), 90)

    full_time = _at(m, 112)  # 45 + 2 + 15 + 45 + max(3, 4 + 1)
    assert full_time == m
    assert (full_time.status, full_time.score, full_time.full_time) == (
        Status.FINISHED,
        (3, 2),
        None,
    )
    assert _clocks(full_time) == ["48'", "52'", "69'", "74'", "90+4'"]
    assert _at(m, 60 * 24 * 365) == m


def test_spain_russia_extra_time_and_shootout() -> None:
    m = _match("2018-07-01:spain-russia")
    # 45+2, 15' break, 45+3: regulation ends at 110'; 5' break; 30+1 of extra time to 146'.
    assert _at(m, 109.9).status is Status.LIVE
    assert (_at(m, 109.9).score, _at(m, 109.9).full_time) == ((1, 1), None)

    break_ = _at(m, 112)
    assert (break_.status, break_.minute, break_.full_time, break_.extra_time) == (
        Status.EXTRA_TIME,
        90,
        (1, 1),
        None,
    )
    extra = _at(m, 125)
    assert (extra.status, extra.minute, extra.score, extra.extra_time) == (
        Status.EXTRA_TIME,
        100,
        (1, 1),
        None,
    )
    assert _at(m, 140).minute == 115

    shootout = _at(m, 146)
    assert (shootout.status, shootout.score, shootout.extra_time, shootout.penalties) == (
        Status.PENALTIES,
        (1, 1),
        (1, 1),
        None,
    )
    assert _at(m, 155.9).status is Status.PENALTIES

    done = _at(m, 156)
    assert (done.status, done.penalties, done.full_time, done.extra_time) == (
        Status.FINISHED,
        (3, 4),
        (1, 1),
        (1, 1),
    )
    own_goal, penalty = done.goals
    assert own_goal.own_goal and own_goal.side == 1 and _at(m, 12).score == (1, 0)
    assert penalty.penalty and penalty.side == 2 and _at(m, 41).score == (1, 1)


_REGULATION = [Status.SCHEDULED, Status.LIVE, Status.HALF_TIME, Status.LIVE]


@pytest.mark.parametrize(
    ("key_end", "phases"),
    [
        ("belgium-japan", [*_REGULATION, Status.FINISHED]),
        ("croatia-england", [*_REGULATION, Status.EXTRA_TIME, Status.FINISHED]),
        ("spain-russia", [*_REGULATION, Status.EXTRA_TIME, Status.PENALTIES, Status.FINISHED]),
    ],
)
def test_phases_and_score_only_move_forward(key_end: str, phases: list[Status]) -> None:
    seen = [_at(_match(key_end), t / 4) for t in range(-8, 4 * 180)]
    changes = [s.status for i, s in enumerate(seen) if i == 0 or seen[i - 1].status != s.status]
    assert changes == phases
    scores = [s.score for s in seen if s.score is not None]
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in pairwise(scores))


def test_extra_time_goals_run_in_order() -> None:
    """A 105+2 goal goes in before a 106' one: the ET turnaround stretches to fit it."""
    m = MatchState(
        key="t:1",
        competition="T",
        stage="Final",
        kickoff=datetime(2024, 1, 1, 18, 0, tzinfo=UTC),
        home=TeamRef("A"),
        away=TeamRef("B"),
        status=Status.FINISHED,
        score=(2, 0),
        half_time=(0, 0),
        full_time=(0, 0),
        extra_time=(2, 0),
        goals=(Goal(1, 105, 2), Goal(1, 106)),
    )
    # regulation ends 110', ET from 115': 105+2 at 132', ET second half from 133', 106' at 134'.
    assert _clocks(_at(m, 131.9)) == []
    assert _clocks(_at(m, 132)) == ["105+2'"]
    assert _clocks(_at(m, 133.9)) == ["105+2'"]
    assert _clocks(_at(m, 134)) == ["105+2'", "106'"]
    assert _at(m, 133 + 16).status is Status.FINISHED


def test_shootout_straight_after_ninety_minutes() -> None:
    m = MatchState(
        key="t:2",
        competition="T",
        stage="Final",
        kickoff=datetime(2024, 1, 1, 18, 0, tzinfo=UTC),
        home=TeamRef("A"),
        away=TeamRef("B"),
        status=Status.FINISHED,
        score=(0, 0),
        half_time=(0, 0),
        penalties=(5, 4),
    )
    shootout = _at(m, 110)
    assert (shootout.status, shootout.minute, shootout.penalties) == (Status.PENALTIES, 90, None)
    assert _at(m, 120) == m


def test_league_match_without_goal_details() -> None:
    league = parse_openfootball_bytes(
        (resources.files("feeds") / "data" / "en.1-2024-25.json").read_bytes(),
        source="en.1-2024-25.json",
    ).matches
    m = _match("2025-05-25:wolverhampton-wanderers-fc-brentford-fc", league)
    assert (m.score, m.half_time, m.goals) == ((1, 1), (0, 1), ())
    assert (_at(m, 30).status, _at(m, 30).score) == (Status.LIVE, (0, 0))
    half_time = _at(m, 50)
    assert (half_time.status, half_time.score, half_time.half_time) == (
        Status.HALF_TIME,
        (0, 1),
        (0, 1),
    )
    assert _at(m, 100).score == (0, 1)
    assert _at(m, 110) == m  # 45+2, 15, 45+3


def test_unplayed_and_postponed_matches_pass_through() -> None:
    scheduled = _match("belgium-japan").with_(
        status=Status.SCHEDULED, score=None, half_time=None, goals=()
    )
    postponed = scheduled.with_(status=Status.POSTPONED)
    for minutes in (-600, 0, 65, 60 * 24 * 30):
        assert _at(scheduled, minutes) == scheduled
        assert _at(postponed, minutes) == postponed
    suspended = _match("belgium-japan").with_(status=Status.SUSPENDED)
    assert _at(suspended, -1).status is Status.SCHEDULED and _at(suspended, -1).score is None
    assert _at(suspended, 1) == suspended


# --- never reveal the future ----------------------------------------------------------------

# Matches whose goal lists account for the whole score (nearly all of 2014 and 2018).
_DETAILED = [
    m
    for m in WC2018 + WC2014
    if m.score == (sum(g.side == 1 for g in m.goals), sum(g.side == 2 for g in m.goals))
]


@settings(max_examples=400, deadline=None)
@given(
    match=st.sampled_from(_DETAILED),
    seconds=st.integers(min_value=-600, max_value=200 * 60),
    goal_time=st.booleans(),
)
def test_goals_are_revealed_exactly_when_they_happen(
    match: MatchState, seconds: int, goal_time: bool
) -> None:
    """At any instant (half the time: just before or at a goal), exactly the goals whose time
    has come are shown, and the score is their count."""
    now = match.kickoff + timedelta(seconds=seconds)
    if goal_time and match.goals:
        goal = match.goals[seconds % len(match.goals)]
        now = _spec_instant(match, goal) - timedelta(seconds=seconds % 2)
    state = FEED.state_at(match, now)
    assert state.goals == tuple(g for g in match.goals if _spec_instant(match, g) <= now)
    if now < match.kickoff:
        assert (state.status, state.score) == (Status.SCHEDULED, None)
    else:
        assert state.score == (
            sum(g.side == 1 for g in state.goals),
            sum(g.side == 2 for g in state.goals),
        )
    if state.status is not Status.FINISHED:
        assert state.penalties is None


# --- poll -------------------------------------------------------------------------------------


async def test_poll_returns_only_what_changed_told_twice() -> None:
    """Each new state is told on two polls in a row (the engine's confirmation of a step
    backwards, feeds/observe.py), then not again until it changes."""
    feed = ReplayFeed(WC2018, poll_interval=timedelta(seconds=20))
    assert feed.name == "replay"
    start = datetime(2018, 6, 14, 12, 0, tzinfo=UTC)

    first = await feed.poll(start, watched=())
    assert len(first.states) == 64
    assert all(s.status is Status.SCHEDULED and s.score is None for s in first.states)
    assert first.next_poll_at == start + timedelta(seconds=20)

    assert (await feed.poll(start + timedelta(minutes=30), watched=())).states == first.states
    assert (await feed.poll(start + timedelta(hours=1), watched=())).states == []

    opener = _match("2018-06-14:russia-saudi-arabia")
    kickoff = await feed.poll(opener.kickoff, watched=[opener.key])
    assert [(s.key, s.status, s.score) for s in kickoff.states] == [
        (opener.key, Status.LIVE, (0, 0))
    ]
    again = await feed.poll(opener.kickoff + timedelta(seconds=30), watched=())
    assert again.states == kickoff.states
    assert (await feed.poll(opener.kickoff + timedelta(seconds=40), watched=())).states == []
    goal = await feed.poll(opener.kickoff + timedelta(minutes=12), watched=())
    assert [(s.score, _clocks(s)) for s in goal.states] == [((1, 0), ["12'"])]

    after = await feed.poll(datetime(2018, 7, 20, tzinfo=UTC), watched=())
    assert after.states == WC2018  # every match moved on to its final state
    assert (await feed.poll(datetime(2018, 7, 21, tzinfo=UTC), watched=())).states == WC2018
    assert (await feed.poll(datetime(2018, 7, 22, tzinfo=UTC), watched=())).states == []
    await feed.aclose()


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(st.integers(min_value=0, max_value=6 * 3600), min_size=1, max_size=30).map(
        sorted
    )
)
def test_poll_reports_every_change_twice(steps: list[int]) -> None:
    """Polled at any increasing instants, the latest reported state of every match is exactly
    what state_at says, and a state is reported on at most two polls in a row (the second
    confirms it, feeds/observe.py)."""
    feed = ReplayFeed(WC2018)
    start = datetime(2018, 7, 1, 13, 0, tzinfo=UTC)  # two round-of-16 days
    known: dict[str, MatchState] = {}
    told: dict[str, int] = {}
    for offset in steps:
        now = start + timedelta(seconds=offset * 8)
        result = asyncio.run(feed.poll(now, watched=()))
        for state in result.states:
            told[state.key] = told.get(state.key, 0) + 1 if known.get(state.key) == state else 1
            assert told[state.key] <= 2
            known[state.key] = state
        assert known == {m.key: feed.state_at(m, now) for m in WC2018}
