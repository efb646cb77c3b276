"""openfootball parsing: the bundled files, both formats, and clean errors for bad data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.base import FeedDataError
from feeds.model import Goal, MatchState, Status
from feeds.openfootball import (
    Competition,
    fold,
    load_bundled_world_cup_2018,
    parse_openfootball,
    parse_openfootball_bytes,
)

DATA = resources.files("feeds") / "data"


def _load(name: str, **kwargs: Any) -> Competition:
    return parse_openfootball_bytes((DATA / name).read_bytes(), source=name, **kwargs)


def _find(comp: Competition, home: str, away: str) -> MatchState:
    (match,) = [m for m in comp.matches if m.home.name == home and m.away.name == away]
    return match


def _one(match: dict[str, Any], **top: Any) -> MatchState:
    """Parse a single inline flat-format match."""
    data = {"name": "Test Cup", "matches": [match], **top}
    return parse_openfootball(data, source="test.json").matches[0]


BASIC = {"round": "Matchday 1", "date": "2024-03-01", "team1": "Alpha", "team2": "Beta"}


# --- the bundled World Cup 2018 -----------------------------------------------------------


def test_bundled_world_cup_2018_has_64_finished_matches() -> None:
    wc = load_bundled_world_cup_2018()
    assert (wc.name, wc.slug, len(wc.matches)) == ("World Cup 2018", "world-cup-2018", 64)
    assert all(m.status is Status.FINISHED and m.score is not None for m in wc.matches)
    assert len({m.key for m in wc.matches}) == 64
    assert load_bundled_world_cup_2018() is wc  # cached


def test_belgium_japan() -> None:
    m = _find(load_bundled_world_cup_2018(), "Belgium", "Japan")
    assert m.key == "world-cup-2018:2018-07-02:belgium-japan"
    assert m.kickoff == datetime(2018, 7, 2, 18, 0, tzinfo=UTC)
    assert (m.competition, m.stage, m.group) == ("World Cup 2018", "Round of 16", None)
    assert m.venue == "Rostov Arena, Rostov-on-Don"
    assert (m.home.code, m.away.code) == ("BEL", "JPN")
    assert (m.score, m.half_time, m.full_time, m.extra_time, m.penalties) == (
        (3, 2),
        (0, 0),
        None,
        None,
        None,
    )
    assert [(g.side, g.clock, g.scorer) for g in m.goals] == [
        (2, "48'", "Genki Haraguchi"),
        (2, "52'", "Takashi Inui"),
        (1, "69'", "Jan Vertonghen"),
        (1, "74'", "Marouane Fellaini"),
        (1, "90+4'", "Nacer Chadli"),
    ]
    assert m.goals[-1] == Goal(side=1, minute=90, offset=4, scorer="Nacer Chadli")


def test_brazil_belgium_venue() -> None:
    m = _find(load_bundled_world_cup_2018(), "Brazil", "Belgium")
    assert m.venue == "Kazan Arena, Kazan"
    assert m.stage == "Quarter-finals"


def test_spain_russia_extra_time_and_penalties() -> None:
    m = _find(load_bundled_world_cup_2018(), "Spain", "Russia")
    assert m.kickoff == datetime(2018, 7, 1, 14, 0, tzinfo=UTC)
    assert m.status is Status.FINISHED
    assert (m.score, m.full_time, m.extra_time, m.penalties) == ((1, 1), (1, 1), (1, 1), (3, 4))
    own_goal, penalty = m.goals
    assert (own_goal.side, own_goal.minute, own_goal.own_goal, own_goal.penalty) == (
        1,
        12,
        True,
        False,
    )
    assert (penalty.side, penalty.minute, penalty.penalty, penalty.own_goal) == (2, 41, True, False)


def test_group_stage_fields_and_goals_sorted() -> None:
    m = _find(load_bundled_world_cup_2018(), "Russia", "Saudi Arabia")
    assert (m.stage, m.group, m.venue) == ("Matchday 1", "Group A", "Luzhniki Stadium, Moscow")
    # The file lists 90+1 before 71'; goals come out in minute order.
    assert [g.clock for g in m.goals] == ["12'", "43'", "71'", "90+1'", "90+4'"]


def test_final_own_goal_counts_for_the_list_team() -> None:
    m = _find(load_bundled_world_cup_2018(), "France", "Croatia")
    first = m.goals[0]
    assert (first.scorer, first.side, first.own_goal) == ("Mandžukić", 1, True)


# --- other files ----------------------------------------------------------------------------


def test_premier_league_converts_london_time_to_utc() -> None:
    pl = _load("en.1-2024-25.json")
    assert len(pl.matches) == 380
    assert pl.slug == "english-premier-league-2024-25"
    opener = _find(pl, "Manchester United FC", "Fulham FC")
    assert opener.kickoff == datetime(2024, 8, 16, 19, 0, tzinfo=UTC)  # 20:00 BST
    assert (opener.score, opener.half_time, opener.goals) == ((1, 0), (0, 0), ())
    winter = [m for m in pl.matches if m.kickoff.month == 12]
    assert winter and all(m.kickoff.tzinfo is UTC for m in pl.matches)
    raw = json.loads((DATA / "en.1-2024-25.json").read_bytes())
    local = {(r["date"], r["team1"]): r["time"] for r in raw["matches"]}
    for m in winter:  # GMT in December: local time is UTC
        assert m.kickoff.strftime("%H:%M") == local[(m.key.split(":")[1], m.home.name)]


@pytest.mark.parametrize(
    ("source", "hour"),
    [
        ("en.1.json", 19),
        (
            "https://raw.githubusercontent.com/openfootball/football.json/master/2024-25/en.1.json",
            19,
        ),
        ("de.1.json", 18),
        ("xx.1.json", 20),
    ],
)
def test_default_zone_from_file_name(source: str, hour: int) -> None:
    raw = json.dumps({"name": "L", "matches": [{**BASIC, "date": "2024-08-16", "time": "20:00"}]})
    comp = parse_openfootball_bytes(raw.encode(), source=source)
    assert comp.matches[0].kickoff == datetime(2024, 8, 16, hour, 0, tzinfo=UTC)


def test_world_cup_2014_parses() -> None:
    wc = _load("worldcup-2014.json")
    assert len(wc.matches) == 64
    opener = _find(wc, "Brazil", "Croatia")
    assert opener.kickoff == datetime(2014, 6, 12, 20, 0, tzinfo=UTC)  # 17:00 UTC-3
    final = _find(wc, "Germany", "Argentina")
    assert (final.score, final.full_time, final.extra_time, final.penalties) == (
        (1, 0),
        (0, 0),
        (1, 0),
        None,
    )
    assert [g.clock for g in final.goals] == ["113'"]


def test_legacy_and_flat_2018_agree() -> None:
    flat = {m.key: m for m in load_bundled_world_cup_2018().matches}
    legacy = {m.key: m for m in _load("worldcup-2018.legacy-rounds.json").matches}
    assert len(legacy) == 64 and legacy.keys() == flat.keys()
    for key, a in flat.items():
        b = legacy[key]
        fields = ("competition", "stage", "group", "kickoff", "status", "home", "away")
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], key
        scores = ("score", "half_time", "full_time", "extra_time", "penalties")
        assert [getattr(a, f) for f in scores] == [getattr(b, f) for f in scores], key
        if key == "world-cup-2018:2018-06-22:brazil-costa-rica":
            assert b.goals == ()  # the legacy file lacks this match's scorers
            continue

        def shape(m: MatchState) -> list[tuple[int, int, int, bool, bool]]:
            return [(g.side, g.minute, g.offset, g.penalty, g.own_goal) for g in m.goals]

        assert shape(a) == shape(b), key
    assert legacy["world-cup-2018:2018-07-02:belgium-japan"].venue == "Rostov Arena, Rostov-on-Don"


# --- the format's rules, on small inline files ---------------------------------------------


def test_string_minutes_and_offsets() -> None:
    m = _one(
        {
            **BASIC,
            "time": "20:00 UTC+1",
            "score": {"ft": [2, 2], "ht": [1, 0]},
            "goals1": [
                {"name": "Late", "minute": "90+4", "penalty": True},
                {"name": "Early", "minute": "45+2"},
            ],
            "goals2": [
                {"name": "Own", "minute": "48", "owngoal": True},
                {"name": "Old style", "minute": 90, "offset": 1},
            ],
        }
    )
    assert [(g.scorer, g.clock) for g in m.goals] == [
        ("Early", "45+2'"),
        ("Own", "48'"),
        ("Old style", "90+1'"),
        ("Late", "90+4'"),
    ]
    assert m.goals[1].own_goal and m.goals[1].side == 2
    assert m.goals[3].penalty and m.goals[3].side == 1
    assert m.kickoff == datetime(2024, 3, 1, 19, 0, tzinfo=UTC)


def test_ties_keep_file_order() -> None:
    m = _one(
        {
            **BASIC,
            "score": {"ft": [1, 1]},
            "goals1": [{"name": "B", "minute": 30}],
            "goals2": [{"name": "A", "minute": 30}],
        }
    )
    assert [g.scorer for g in m.goals] == ["B", "A"]


@pytest.mark.parametrize("score", [{}, None])
def test_unplayed_match_is_scheduled(score: dict[str, Any] | None) -> None:
    m = _one({**BASIC, "time": "15:00", "score": score})
    assert (m.status, m.score, m.half_time, m.goals) == (Status.SCHEDULED, None, None, ())
    assert m.key == "test-cup:2024-03-01:alpha-beta"


def test_missing_time_is_noon_local() -> None:
    data = {"name": "L", "matches": [BASIC]}
    m = parse_openfootball(data, source="x.json", default_zone="Europe/Berlin").matches[0]
    assert m.kickoff == datetime(2024, 3, 1, 11, 0, tzinfo=UTC)
    assert _one(BASIC).kickoff == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("postponed", Status.POSTPONED),
        ("Cancelled", Status.CANCELLED),
        ("canceled", Status.CANCELLED),
        ("suspended", Status.SUSPENDED),
        ("abandoned", Status.SUSPENDED),
    ],
)
def test_status_field(text: str, status: Status) -> None:
    assert _one({**BASIC, "score": {}, "status": text}).status is status


def test_zone_from_stadium_table_and_team_codes() -> None:
    data = {
        "name": "Cup",
        "matches": [{**BASIC, "time": "18:00", "ground": "Big Arena, Sao Paulo"}],
    }
    comp = parse_openfootball(
        data,
        source="cup.json",
        stadium_zones={"São Paulo": "America/Sao_Paulo"},
        team_codes={"ALPHA": "ALP"},
    )
    m = comp.matches[0]
    assert m.kickoff == datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
    assert (m.home.code, m.away.code) == ("ALP", None)


def test_legacy_match_uses_its_timezone_field() -> None:
    data = {
        "name": "Old Cup",
        "rounds": [
            {
                "name": "Final",
                "matches": [
                    {
                        "date": "2018-07-15",
                        "time": "18:00",
                        "team1": {"name": "France", "code": "FRA"},
                        "team2": {"name": "Croatia", "code": "CRO"},
                        "score1": 4,
                        "score2": 2,
                        "score1i": 2,
                        "score2i": 1,
                        "goals1": [{"name": "Pogba", "minute": 59, "score1": 3, "score2": 1}],
                        "goals2": [],
                        "stadium": {"key": "luzhniki", "name": "Luzhniki Stadium"},
                        "city": "Moscow",
                        "timezone": "UTC+3",
                    }
                ],
            }
        ],
    }
    m = parse_openfootball(data, source="old.json", default_zone="Europe/London").matches[0]
    assert m.kickoff == datetime(2018, 7, 15, 15, 0, tzinfo=UTC)
    assert (m.stage, m.venue, m.score, m.half_time) == (
        "Final",
        "Luzhniki Stadium, Moscow",
        (4, 2),
        (2, 1),
    )
    assert (m.home.code, m.goals[0].clock) == ("FRA", "59'")


def test_fold() -> None:
    assert fold("Côte d'Ivoire") == "cote-d-ivoire"
    assert fold("  World Cup 2018 ") == "world-cup-2018"
    assert fold("Bayern München") == fold("BAYERN MUNCHEN") == "bayern-munchen"
    assert fold("English Premier League 2024/25") == "english-premier-league-2024-25"


# --- malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ([], "JSON object"),
        ({"name": "X"}, "no 'matches' or 'rounds'"),
        ({"name": "X", "matches": [{**BASIC, "date": None}]}, "match 1 (Alpha v Beta): 'date'"),
        ({"name": "X", "matches": [{**BASIC, "date": "01/03/2024"}]}, "'date' is not YYYY-MM-DD"),
        ({"name": "X", "matches": [{**BASIC, "date": "2024-02-30"}]}, "'date'"),
        ({"name": "X", "matches": [{**BASIC, "time": "25:99"}]}, "'time'"),
        ({"name": "X", "matches": [{**BASIC, "time": "20:00 Mars/Olympus"}]}, "time zone"),
        ({"name": "X", "matches": [{**BASIC, "score": "x"}]}, "'score'"),
        ({"name": "X", "matches": [{**BASIC, "score": {"ft": ["x", 1]}}]}, "score 'ft'"),
        ({"name": "X", "matches": [{**BASIC, "score": {"ft": [1]}}]}, "score 'ft'"),
        ({"name": "X", "matches": [{**BASIC, "score": {"ft": [-1, 0]}}]}, "score 'ft'"),
        (
            {
                "name": "X",
                "matches": [{**BASIC, "score": {"ft": [1, 0]}, "goals1": [{"minute": "abc"}]}],
            },
            "goal minute 'abc'",
        ),
        ({"name": "X", "matches": [{**BASIC, "goals1": "Pogba 59'"}]}, "'goals1'"),
        ({"name": "X", "matches": [{**BASIC, "team1": None}]}, "match 1: 'team1' has no team"),
        ({"name": "X", "matches": [{**BASIC, "team2": {"code": "BRA"}}]}, "'team2'"),
        ({"name": "X", "matches": ["Alpha v Beta"]}, "match 1: not an object but str"),
        ({"name": "X", "matches": [BASIC, BASIC]}, "match 2 (Alpha v Beta): same date and teams"),
        ({"name": "X", "rounds": [{"name": "R1"}]}, "round 1"),
        ({"name": 7, "matches": []}, "'name'"),
    ],
)
def test_malformed_input_raises_feed_data_error(data: object, needle: str) -> None:
    with pytest.raises(FeedDataError) as err:
        parse_openfootball(data, source="bad.json")
    assert str(err.value).startswith("bad.json")
    assert needle in str(err.value)


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00garbage", b""])
def test_invalid_json_bytes(raw: bytes) -> None:
    with pytest.raises(FeedDataError, match=r"^league\.json: not valid JSON"):
        parse_openfootball_bytes(raw, source="league.json")


def test_unknown_default_zone() -> None:
    with pytest.raises(FeedDataError, match=r"^x\.json: unknown default time zone"):
        parse_openfootball({"name": "X", "matches": []}, source="x.json", default_zone="Nowhere")


_SCALARS = st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=8)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid three times out of four, any JSON otherwise."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda ok: valid if ok else _JSON)


_PAIR = st.lists(st.integers(0, 9), min_size=2, max_size=2)
_GOAL = st.fixed_dictionaries(
    {"minute": st.sampled_from([48, "90+4", "45+2", "x", -1, 999]) | _JSON},
    optional={
        "offset": st.integers(0, 9) | _JSON,
        "penalty": st.booleans() | _JSON,
        "owngoal": st.booleans() | _JSON,
        "name": st.just("Haraguchi") | _JSON,
    },
)
# Mostly-valid matches, so the fuzzing reaches the score, goal and time parsing too.
_REQUIRED = {
    "date": _mostly(st.sampled_from(["2018-07-02", "2018-13-40", "0001-01-01", "9999-12-31"])),
    "team1": _mostly(st.sampled_from(["Belgium", "Brazil", "Côte d'Ivoire", "!!"])),
    "team2": _mostly(st.sampled_from(["Japan", {"name": "Japan", "code": "JPN"}])),
}
_OPTIONAL = {
    "time": st.sampled_from(["21:00 UTC+3", "20:00", "23:59 UTC-12", "00:00 UTC+14"]) | _JSON,
    "score": st.fixed_dictionaries({}, optional=dict.fromkeys(("ft", "ht", "et", "p"), _PAIR))
    | st.dictionaries(st.sampled_from(["ft", "ht", "et", "p"]), _JSON)
    | _JSON,
    "goals1": st.lists(_mostly(_GOAL), max_size=3),
    "goals2": _mostly(st.lists(_GOAL, max_size=3)),
    "score1": st.integers(0, 3) | _JSON,
    "score2": st.integers(0, 3) | _JSON,
    "score1p": _JSON,
    "status": st.sampled_from(["postponed", "played"]) | _JSON,
    "ground": st.just("Kazan Arena, Kazan") | _JSON,
    "stadium": _JSON,
    "city": _JSON,
    "timezone": st.sampled_from(["UTC+3", "Europe/Paris", "../etc", "UTC+99"]) | _JSON,
    "group": _JSON,
    "round": _JSON,
}
_MATCH = st.fixed_dictionaries(_REQUIRED, optional=_OPTIONAL) | st.fixed_dictionaries(
    {}, optional=_REQUIRED | _OPTIONAL
)
_FILE = st.fixed_dictionaries(
    {"matches": _mostly(st.lists(_MATCH, max_size=2))},
    optional={"name": _mostly(st.just("Cup"))},
) | st.fixed_dictionaries(
    {
        "rounds": st.lists(
            st.fixed_dictionaries(
                {"name": _mostly(st.just("Final")), "matches": _mostly(st.lists(_MATCH))}
            )
        )
    },
    optional={"name": _mostly(st.just("Cup"))},
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=_mostly(_FILE))
def test_any_json_parses_or_raises_feed_data_error(data: object) -> None:
    try:
        comp = parse_openfootball(data, source="fuzz.json", default_zone="Europe/London")
    except FeedDataError as exc:
        assert str(exc).startswith("fuzz.json")
    else:
        assert all(m.kickoff.tzinfo is UTC for m in comp.matches)
