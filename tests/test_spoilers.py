"""No spoilers: a knock-out fixture names its teams only once both are decided on the clock.

Asked of the real bot (handlers as the console and Telegram call them) at the start of each
knock-out round: every team's /fixtures lists its matches of the round under way and none
beyond it; what is not decided reads as the draw says, or "To be decided".
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.model import MatchState
from feeds.replay import ReplayFeed
from tests.conftest import ask, build_store, plain_text, world_cup

# The start of each knock-out round (an hour before its first kick-off), and its stage.
ROUND_STARTS = {
    "Round of 16": datetime(2018, 6, 30, 13, 0, tzinfo=UTC),
    "Quarter-finals": datetime(2018, 7, 6, 13, 0, tzinfo=UTC),
    "Semi-finals": datetime(2018, 7, 10, 17, 0, tzinfo=UTC),
    "Final": datetime(2018, 7, 14, 13, 0, tzinfo=UTC),
}
TEAMS = sorted({m.home.name for m in world_cup() if m.group})


def _round_of(team: str, matches: list[MatchState], now: datetime) -> list[MatchState]:
    """The team's matches still to come in the round under way at `now` (the only ones a fan
    can know about): those kicking off before the next round starts."""
    later = [t for t in ROUND_STARTS.values() if t > now]
    horizon = min(later, default=datetime(2100, 1, 1, tzinfo=UTC))
    return [
        m
        for m in matches
        if team in (m.home.name, m.away.name) and now <= m.kickoff < horizon
    ]


@pytest.mark.parametrize("stage", list(ROUND_STARTS))
async def test_each_team_sees_only_the_round_under_way(tmp_path: Path, stage: str) -> None:
    now = ROUND_STARTS[stage]
    store = await build_store(tmp_path / "s.db", now)
    try:
        for team in TEAMS:
            text = plain_text((await ask(store, f"/fixtures {team}", now=now)).text)
            expected = _round_of(team, world_cup(), now)
            if not expected:
                assert text == f"No upcoming matches for {team}.", text
                continue
            shown = [line for line in text.splitlines() if " — " in line and " v " in line]
            assert [line.split(" — ", 1)[1] for line in shown] == [
                f"{m.home.name} v {m.away.name}" for m in expected
            ], (team, text)
    finally:
        await store.close()


async def test_before_the_tournament_no_knockout_names_a_team(tmp_path: Path) -> None:
    now = datetime(2018, 6, 1, tzinfo=UTC)
    store = await build_store(tmp_path / "s.db", now)
    try:
        text = plain_text((await ask(store, "/fixtures Russia", now=now)).text)
        assert "Spain" not in text and "Croatia" not in text
        assert text.count(" v ") == 3  # the three group games
    finally:
        await store.close()


def test_undecided_sides_read_as_the_draw() -> None:
    matches = world_cup()
    feed = ReplayFeed(matches)
    by_stage = {m.stage: m for m in reversed(matches)}  # the first match of each stage
    r16, qf = by_stage["Round of 16"], by_stage["Quarter-finals"]
    early = datetime(2018, 6, 1, tzinfo=UTC)
    first = feed.state_at(r16, early)
    assert (first.home.name, first.away.name) == ("Winner Group C", "Runner-up Group D")
    assert first.home.placeholder and first.away.placeholder
    quarter = feed.state_at(qf, early)
    assert (quarter.home.name, quarter.away.name) == ("To be decided", "To be decided")
    # Once the round of 16 is drawn, the quarter-final names the ties it follows.
    drawn = feed.state_at(qf, datetime(2018, 6, 29, tzinfo=UTC))
    assert drawn.home.name == "Winner Uruguay/Portugal"
    assert drawn.away.name == "Winner France/Argentina"
    # Decided: the teams themselves.
    played = feed.state_at(qf, datetime(2018, 7, 1, tzinfo=UTC))
    assert (played.home.name, played.away.name) == ("Uruguay", "France")


async def test_fixtures_of_everyone_show_the_draw(tmp_path: Path) -> None:
    now = datetime(2018, 7, 6, 13, 0, tzinfo=UTC)
    store = await build_store(tmp_path / "s.db", now)
    try:
        text = plain_text((await ask(store, "/fixtures", now=now)).text)
        assert "Winner Uruguay/France v Winner Brazil/Belgium" in text
        # The placeholder is no team a fan can ask about.
        reply = plain_text((await ask(store, "/next Winner Uruguay/France", now=now)).text)
        assert "Winner Uruguay/France v" not in reply
    finally:
        await store.close()
