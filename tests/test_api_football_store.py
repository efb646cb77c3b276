"""What API-Football adds to the store and the alerts: incidents and assists kept with their
match, red cards and missed penalties alerted once each in minute order, VAR's reason on a
goal taken back, one team whatever a source calls it, and the feed's settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.settings import Settings, SettingsError
from feeds.api_football import parse_fixture
from feeds.events import EventKind, diff
from feeds.model import Goal, Incident, IncidentKind, MatchState, Status, TeamRef
from handlers.alerts import render_alert
from storage.store import Store
from tests.api_football_timelines import knockout
from tests.fake_api_football import real_minutes

KICKOFF = datetime(2026, 7, 4, 18, 0, tzinfo=UTC)
ZONE = ZoneInfo("UTC")
SCRIPT = knockout(KICKOFF)


def at(minute: int, extra: int = 0) -> MatchState:
    when = KICKOFF + timedelta(minutes=real_minutes(minute, extra) + 0.5)
    return parse_fixture(SCRIPT.at(when)).state


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = await Store.open(database_url)
    try:
        yield s
    finally:
        await s.close()


async def test_incidents_and_assists_are_stored_with_their_match(store: Store) -> None:
    state = at(91)
    await store.apply([state], KICKOFF, render_alert, silent=True)
    stored = await store.match(state.key)
    assert stored is not None
    assert stored.incidents == state.incidents and stored.goals == state.goals
    assert stored.goals[0].assist == "Hirving Lozano"
    assert [i.kind for i in stored.incidents] == [
        IncidentKind.MISSED_PENALTY, IncidentKind.RED_CARD, IncidentKind.VAR, IncidentKind.RED_CARD
    ]
    await store.apply([state.with_(incidents=())], KICKOFF, render_alert, silent=True)
    assert (await store.match(state.key)).incidents == ()  # type: ignore[union-attr]


def test_each_incident_alerts_once_in_minute_order_with_its_score() -> None:
    events = diff(at(30), at(89))  # a poll missed a whole hour: told in the order it happened
    assert [(e.kind, e.minute) for e in events] == [
        (EventKind.MISSED_PENALTY, 38), (EventKind.HALF_TIME, None), (EventKind.GOAL, 55),
        (EventKind.RED_CARD, 63), (EventKind.RED_CARD, 88),
    ]  # fmt: skip
    red = next(e for e in events if e.kind == EventKind.RED_CARD)
    assert red.score == (2, 1) and red.key.startswith("red_card:1:63+0:")
    assert diff(at(89), at(89)) == []  # VAR decisions are no alert of their own


def test_alert_texts_name_the_player_the_team_and_the_reason() -> None:
    state = MatchState(
        "af:1", "World Cup", "Round of 16", KICKOFF, TeamRef("Mexico"), TeamRef("South Korea"),
        Status.LIVE, score=(1, 0),
        goals=(Goal(1, 12, scorer="Raúl Jiménez"),),
        incidents=(Incident(IncidentKind.VAR, 2, 40, 0, "Son", "Goal Disallowed - offside"),),
    )  # fmt: skip
    events = diff(state.with_(goals=(*state.goals, Goal(2, 38, scorer="Son"))), state)
    (cancelled,) = events
    text = render_alert(cancelled, state, ZONE)
    assert text.startswith("❌ <b>Goal disallowed by VAR (offside)</b>") and "Son 38'" in text
    red = Incident(IncidentKind.RED_CARD, 1, 90, 3, "Edson <Álvarez>", "Red Card")
    (event,) = diff(state, state.with_(incidents=(*state.incidents, red)))
    assert render_alert(event, state, ZONE) == (
        "🟥 <b>Red card</b> — Edson &lt;Álvarez&gt; 90+3', Mexico\nMexico 1–0 South Korea"
    )


async def test_one_team_whatever_a_source_calls_it(store: Store) -> None:
    old = MatchState(
        "fd:1", "Premier League", "Matchday 1", KICKOFF, TeamRef("Arsenal FC", "ARS"),
        TeamRef("Korea Republic", "KOR"), Status.FINISHED, score=(1, 0),
    )  # fmt: skip
    new = old.with_(key="af:1", home=TeamRef("Arsenal"), away=TeamRef("South Korea", "KOR"))
    await store.apply([old, new], KICKOFF, render_alert, silent=True)
    assert sorted(t.name for t in await store.teams()) == ["Arsenal FC", "Korea Republic"]


@pytest.mark.parametrize(
    ("raw", "leagues"),
    [("1:2026", ((1, 2026),)), (" 1:2026, 39:2025 ,", ((1, 2026), (39, 2025))),
     ("1:2026,1:2026", ((1, 2026),))],
)  # fmt: skip
def test_leagues_are_league_season_pairs(raw: str, leagues: tuple[tuple[int, int], ...]) -> None:
    settings = Settings.load(env={"MATCHDAY_FEED": "api-football", "API_FOOTBALL_LEAGUES": raw})
    assert settings.api_football_leagues == leagues
    assert settings.api_football_url == "https://v3.football.api-sports.io"


@pytest.mark.parametrize("raw", ["1", "WC:2026", "1:", "1-2026"])
def test_a_league_without_a_season_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="league:season"):
        Settings.load(env={"API_FOOTBALL_LEAGUES": raw})


def test_the_key_stays_out_of_the_settings_repr() -> None:
    settings = Settings.load(env={"API_FOOTBALL_KEY": "af-repr-secret"})
    assert "af-repr-secret" not in repr(settings)




async def test_a_team_from_a_rolled_back_write_is_not_remembered(store: Store) -> None:
    match = MatchState(
        "af:7", "World Cup", "Final", KICKOFF, TeamRef("Arsenal"), TeamRef("Wolves"),
        Status.SCHEDULED,
    )  # fmt: skip
    with pytest.raises(RuntimeError):
        async with store.transaction() as db:
            await store._team_id(db, TeamRef("Wolverhampton Wanderers FC"))
            raise RuntimeError("a write that fails half-way")
    await store.apply([match], KICKOFF, render_alert, silent=True)  # no dangling team id
    assert sorted(t.name for t in await store.teams()) == ["Arsenal", "Wolves"]
