"""Answers whose order a user sees are the same on both engines: where SQLite's group or row
order used to decide a tie, the store breaks it explicitly (PostgreSQL promises no order)."""

from __future__ import annotations

from datetime import UTC, datetime

from feeds.model import Goal, MatchState, Status, TeamRef
from handlers.alerts import render_alert
from storage.store import Store

KICKOFF = datetime(2024, 5, 1, 18, 0, tzinfo=UTC)


def goal(side: int, minute: int, scorer: str) -> Goal:
    return Goal(side, minute, 0, scorer, False, False, None)


async def test_tied_scorers_rank_by_name_then_team(database_url: str) -> None:
    matches = [
        MatchState(
            "order:1", "Cup", "Final", KICKOFF, TeamRef("Zeta"), TeamRef("Alpha"),
            Status.FINISHED, score=(2, 1),
            goals=(goal(1, 10, "Silva"), goal(2, 20, "Silva"), goal(1, 30, "Berg")),
        ),
        MatchState(
            "order:2", "Cup", "Final", KICKOFF, TeamRef("Mid"), TeamRef("Beta"),
            Status.FINISHED, score=(1, 1), goals=(goal(1, 5, "Silva"), goal(2, 9, "Adams")),
        ),
    ]  # fmt: skip
    store = await Store.open(database_url)
    try:
        await store.apply(matches, KICKOFF, render_alert, silent=True)
        (cup,) = await store.competitions()
        ranked = await store.top_scorers(cup.id)
    finally:
        await store.close()
    assert ranked == [
        ("Adams", "Beta", 1),
        ("Berg", "Zeta", 1),
        ("Silva", "Alpha", 1),
        ("Silva", "Mid", 1),
        ("Silva", "Zeta", 1),
    ]
