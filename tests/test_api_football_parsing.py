"""API-Football v3 fixtures and events -> MatchState: goals, incidents, VAR, every status."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.api_football import STATUS, ApiFootballDataError, fixture_id, parse_fixture
from feeds.model import IncidentKind, Status
from tests import api_football_timelines as timelines
from tests.api_football_timelines import MEX
from tests.fake_api_football import Script, real_minutes

KICKOFF = datetime(2026, 7, 4, 18, 0, tzinfo=UTC)


def knockout(*, drop_goal: bool = False) -> Script:
    return timelines.knockout(KICKOFF, drop_goal=drop_goal)


def at(script: Script, minute: int, extra: int = 0) -> dict[str, Any]:
    return script.at(KICKOFF + timedelta(minutes=real_minutes(minute, extra) + 0.5))


def test_goals_carry_scorer_assist_penalty_and_own_goal_sides() -> None:
    fixture = parse_fixture(at(knockout(), 56))
    state = fixture.state
    assert state.key == "af:2001" and fixture_id(state.key) == 2001
    assert state.status is Status.LIVE and state.score == (2, 1) and state.half_time == (2, 0)
    assert [(g.side, g.scorer, g.clock, g.penalty, g.own_goal) for g in state.goals] == [
        (1, "Raúl Jiménez", "12'", False, False),
        (1, "Kim Min-jae", "27'", False, True),  # a Korean own goal counts for Mexico
        (2, "Son Heung-min", "55'", True, False),
    ]
    assert [g.assist for g in state.goals] == ["Hirving Lozano", None, None]
    assert [(i.kind, i.side, i.player, i.clock) for i in state.incidents] == [
        (IncidentKind.MISSED_PENALTY, 2, "Son Heung-min", "38'")
    ]
    assert state.stage == "Round of 16" and state.venue == "Estadio Azteca"


def test_an_own_goal_named_for_the_beneficiary_is_read_from_the_score() -> None:
    raw = at(knockout(), 30)
    own = next(e for e in raw["events"] if e["detail"] == "Own Goal")
    own["team"] = {"id": MEX.id, "name": MEX.name}  # the other reading of `team`
    assert [g.side for g in parse_fixture(raw).state.goals] == [1, 1]


@pytest.mark.parametrize("drop_goal", [False, True])
def test_a_goal_var_cancelled_is_not_a_goal_whether_or_not_its_event_stays(
    drop_goal: bool,
) -> None:
    script = knockout(drop_goal=drop_goal)
    before = parse_fixture(at(script, 79))
    assert before.state.score == (3, 1) and before.state.goals[-1].scorer == "Hirving Lozano"
    after = parse_fixture(at(script, 81))
    assert after.state.score == (2, 1)
    assert [g.scorer for g in after.state.goals][-1] == "Son Heung-min"
    var = [i for i in after.state.incidents if i.kind is IncidentKind.VAR]
    if not drop_goal:  # with the goal's event gone, the decision names who it named
        (decision,) = var
        assert (decision.side, decision.player, decision.detail, decision.clock) == (
            1, "Hirving Lozano", "Goal cancelled", "80'",
        )  # fmt: skip


def test_red_cards_second_yellows_included_yellows_not() -> None:
    fixture = parse_fixture(at(knockout(), 91))
    reds = [i for i in fixture.state.incidents if i.kind is IncidentKind.RED_CARD]
    assert [(i.side, i.player, i.clock) for i in reds] == [
        (1, "Edson Álvarez", "63'"), (2, "Kim Young-gwon", "88'"),
    ]  # fmt: skip
    assert len({i.key for i in fixture.state.incidents}) == len(fixture.state.incidents)


def test_stoppage_time_minutes_read_as_fans_write_them() -> None:
    script = knockout()
    fixture = parse_fixture(at(script, 90, 4))
    assert fixture.state.minute == 90 and fixture.state.added == 4
    assert fixture.state.goals[-1].clock == "90+4'"


def test_extra_time_and_the_shoot_out_keep_their_own_scores() -> None:
    script = knockout()
    in_extra = parse_fixture(at(script, 105))
    assert in_extra.state.status is Status.EXTRA_TIME and in_extra.status_short == "ET"
    assert in_extra.state.full_time == (2, 2) and in_extra.state.extra_time is None
    pause = parse_fixture(at(script, 105, 1))
    assert pause.status_short == "BT" and pause.state.status is Status.EXTRA_TIME
    shootout = script.at(KICKOFF + timedelta(minutes=real_minutes(120, 3) + 6.5))
    during = parse_fixture(shootout)
    assert during.state.status is Status.PENALTIES and during.state.penalties is None
    done = parse_fixture(script.at(KICKOFF + timedelta(hours=4)))
    state = done.state
    assert done.status_short == "PEN" and state.status is Status.FINISHED
    assert state.score == (3, 3) and state.full_time == (2, 2) and state.extra_time == (3, 3)
    assert state.penalties == (4, 3)
    assert len(state.goals) == 6  # no shoot-out kick is a goal, the cancelled one is gone
    assert sum(1 for i in state.incidents if i.kind is IncidentKind.MISSED_PENALTY) == 1


def test_shoot_out_kicks_without_comments_are_still_not_goals() -> None:
    raw = knockout().at(KICKOFF + timedelta(hours=4))
    for event in raw["events"]:
        event["comments"] = None
    fixture = parse_fixture(raw)
    kinds = [i.kind for i in fixture.state.incidents if i.kind is not IncidentKind.VAR]
    assert len(fixture.state.goals) == 6 and len(kinds) == 3


def _raw(short: str, goals: tuple[int, int] | None = (1, 0)) -> dict[str, Any]:
    raw = knockout().at(KICKOFF + timedelta(minutes=30))
    raw["fixture"]["status"]["short"] = short
    raw["goals"] = {"home": goals[0], "away": goals[1]} if goals else {"home": None, "away": None}
    return raw


@pytest.mark.parametrize(
    ("short", "status"),
    [("NS", Status.SCHEDULED), ("TBD", Status.SCHEDULED), ("1H", Status.LIVE),
     ("HT", Status.HALF_TIME), ("2H", Status.LIVE), ("ET", Status.EXTRA_TIME),
     ("BT", Status.EXTRA_TIME), ("P", Status.PENALTIES), ("FT", Status.FINISHED),
     ("AET", Status.FINISHED), ("PEN", Status.FINISHED), ("SUSP", Status.SUSPENDED),
     ("INT", Status.SUSPENDED), ("PST", Status.POSTPONED), ("CANC", Status.CANCELLED),
     ("ABD", Status.SUSPENDED), ("AWD", Status.FINISHED), ("WO", Status.FINISHED),
     ("LIVE", Status.LIVE)],
)  # fmt: skip
def test_every_status(short: str, status: Status) -> None:
    assert STATUS[short] is status
    assert parse_fixture(_raw(short)).state.status is status


def test_a_scheduled_fixture_has_no_score_and_minute() -> None:
    state = parse_fixture(_raw("NS", None)).state
    assert state.score is None and state.minute is None and state.half_time is None


@pytest.mark.parametrize(
    "breakage",
    [
        lambda r: r.pop("fixture"),
        lambda r: r["fixture"].pop("id"),
        lambda r: r["fixture"]["status"].update(short="ZZ"),
        lambda r: r.pop("teams"),
        lambda r: r["fixture"].update(date="yesterday", timestamp=None),
        lambda r: r["goals"].update(home="two"),
        lambda r: r["goals"].update(home=-1),
    ],
)
def test_a_malformed_fixture_is_a_data_error(breakage: Any) -> None:
    raw = copy.deepcopy(at(knockout(), 30))
    breakage(raw)
    with pytest.raises(ApiFootballDataError):
        parse_fixture(raw)


def test_malformed_events_are_skipped_one_by_one() -> None:
    raw = at(knockout(), 30)
    raw["events"][0]["time"] = {"elapsed": None}
    raw["events"][1:1] = ["not an event", {"type": "Goal", "team": {"id": 999}}]
    assert [g.scorer for g in parse_fixture(raw).state.goals] == ["Kim Min-jae"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(mutation=st.dictionaries(st.sampled_from(
    ["fixture", "teams", "goals", "score", "events", "league"]), _json, max_size=3))  # fmt: skip
def test_any_json_either_parses_or_is_a_data_error(mutation: dict[str, Any]) -> None:
    raw = {**at(knockout(), 56), **mutation}
    try:
        parse_fixture(raw)
    except ApiFootballDataError:
        pass
