"""The wording fans read, through the real handlers: ties, goal difference, long names,
group matchdays, durations and the hints that say what a command takes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from handlers.tables import short_name, tied_ranks
from storage.store import Store
from tests.conftest import ask, build_store, plain_text


async def said(store: Store, text: str, **kw: object) -> str:
    return plain_text((await ask(store, text, **kw)).text)


def test_ties_share_a_rank() -> None:
    assert tied_ranks([6, 5, 5, 3, 3, 3, 1]) == ["1.", "=2.", "=2.", "=4.", "=4.", "=4.", "7."]


def test_long_names_are_abbreviated_not_cut() -> None:
    assert short_name("Bosnia-Herzegovina", "BIH") == "BIH"
    assert short_name("Wolverhampton Wanderers FC", None) == "Wolverhampton W."
    assert short_name("Brighton & Hove Albion FC", None) == "Brighton & H. A."
    assert short_name("Manchester United FC", None) == "Manchester U."
    assert short_name("Belgium", "BEL") == "Belgium"


async def test_top_scorers_tied_and_goal_difference_zero(store: Store) -> None:
    scorers = await said(store, "/topscorers")
    assert "\n1. Kane (England) — 5" in scorers and "\n=2. " in scorers
    table = await said(store, "/table Group H")
    assert "+0" not in table and " 0   4" in table  # Japan and Senegal: GD 0, 4 points


async def test_group_games_count_matchdays_within_the_group(tmp_path: Path) -> None:
    early = datetime(2018, 6, 1, tzinfo=UTC)
    store = await build_store(tmp_path / "early.db", early)
    try:
        text = await said(store, "/fixtures Belgium", now=early)
    finally:
        await store.close()
    days = [line.split("Matchday ")[1][0] for line in text.splitlines() if "Matchday" in line]
    assert days == ["1", "2", "3"], text  # not the tournament's days 5, 9 and 14


async def test_hints_say_what_the_command_takes(store: Store) -> None:
    assert "/table Group B" in await said(store, "/table Narnia")
    assert "Group G" in await said(store, "/table Belgium")  # a team: its group's table
    assert "could be several teams or competitions" in await said(store, "/follow b")
    assert "/topscorers World Cup 2018" in await said(store, "/topscorers Narnia")
