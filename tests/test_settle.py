"""Matches never stay live forever, and the free tier says what it knows.

The real live engine against the timeline fake over loopback, on a real SQLite store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.engine import LiveEngine
from feeds.football_data import FootballDataClient, FootballDataFeed
from feeds.model import Status
from storage.store import Store
from tests.conftest import ask
from tests.live_checks import ledger_texts, play
from tests.timeline import MIN, HandClock, Timeline, TimelineFootballData, TrueGoal

TOKEN = "fd-settle-secret-44aa"
SCHEDULED = datetime(2026, 6, 28, 20, 0, tzinfo=UTC)
BUDGET = 1_000_000


@asynccontextmanager
async def bot_engine(
    fd: TimelineFootballData, db: Path, clock: HandClock
) -> AsyncIterator[LiveEngine]:
    """A fresh process's engine on `db`: nothing in memory, everything from the store."""
    store = await Store.open(db)
    client = FootballDataClient(TOKEN, fd.url, max_requests_per_minute=BUDGET)
    feed = FootballDataFeed(client, ["WC"], max_requests_per_minute=BUDGET)
    try:
        yield LiveEngine(store, feed, clock, on_alerts=lambda: None)
    finally:
        await feed.aclose()
        await store.close()


async def follow_belgium(store: Store, now: datetime) -> int:
    chat = await store.ensure_chat("test", 1, "private", None, "UTC")
    belgium = next(t for t in await store.teams() if t.name == "Belgium")
    await store.follow(chat.id, "team", belgium.id, now)
    return chat.id


async def test_down_for_days_across_the_whistle_the_match_is_settled_by_id(
    tmp_path: Path,
) -> None:
    timeline = Timeline(
        907, ("Belgium", "BEL"), ("Japan", "JPN"), SCHEDULED, goals=[TrueGoal(2, 30)]
    )
    clock = HandClock(SCHEDULED - 20 * MIN)
    db = tmp_path / "bot.db"
    async with TimelineFootballData(clock.now, token=TOKEN, quota_per_minute=BUDGET) as fd:
        fd.add(timeline)
        async with bot_engine(fd, db, clock) as engine:
            await engine.tick()
            chat = await follow_belgium(engine.store, clock.now())
            await play(engine.tick, clock, SCHEDULED + 60 * MIN)
            told = await ledger_texts(engine.store, chat)
            assert [t.split(":")[0] for t in told][:1] == ["🟢 <b>Kick-off"]
        clock.advance(timedelta(days=2))  # down; the match left the polled date window
        async with bot_engine(fd, db, clock) as engine:
            await engine.tick()
            assert any(r.path == "/v4/matches/907" for r in fd.requests)
            stored = await engine.store.match("fd:907")
            assert stored is not None and stored.status is Status.FINISHED
            assert stored.score == (0, 1)
            assert await engine.store.live_matches() == []
            assert await ledger_texts(engine.store, chat) == told  # nothing said two days late
            reply = await ask(engine.store, "/live", now=clock.now())
            assert "Belgium" not in reply.text


async def test_free_tier_says_what_is_known_and_no_scorers(tmp_path: Path) -> None:
    timeline = Timeline(
        908, ("Belgium", "BEL"), ("Real Madrid", "RMA"), SCHEDULED, delay=36 * MIN,
        goals=[TrueGoal(2, 59)], details=False, feed_minute=False,
    )  # fmt: skip
    clock = HandClock(SCHEDULED - 20 * MIN)
    async with TimelineFootballData(clock.now, token=TOKEN, quota_per_minute=BUDGET) as fd:
        fd.add(timeline)
        async with bot_engine(fd, tmp_path / "bot.db", clock) as engine:
            await engine.tick()
            chat = await follow_belgium(engine.store, clock.now())
            await play(engine.tick, clock, timeline.finish + 2 * MIN)
            told = await ledger_texts(engine.store, chat)
            goal = next(t for t in told if "GOAL" in t)
            assert any(f"GOAL</b> — Belgium 0–1 Real Madrid, {m}'" in goal for m in (58, 59, 60))
            reply = await ask(engine.store, "/scorers Real Madrid", now=clock.now())
            assert "Scorers are not in this feed" in reply.text and "(Real Madrid)" in reply.text


async def test_a_rewound_replay_is_recorded_as_it_says_then_told_again(tmp_path: Path) -> None:
    """A clock started before the store's last poll: the feed's earlier state is recorded
    (no confirmation wait for the "regression"), and the match is told as it replays."""
    from feeds.openfootball import load_bundled_world_cup_2018
    from feeds.replay import ReplayFeed

    store = await Store.open(tmp_path / "replay.db")
    matches = load_bundled_world_cup_2018().matches
    try:
        later = HandClock(datetime(2018, 7, 3, 12, 0, tzinfo=UTC))
        await LiveEngine(store, ReplayFeed(matches), later, on_alerts=lambda: None).tick()
        key = "world-cup-2018:2018-07-02:belgium-japan"
        assert (await store.match(key)).status is Status.FINISHED  # type: ignore[union-attr]
        chat = await store.ensure_chat("test", 1, "private", None, "UTC")
        japan = next(t for t in await store.teams() if t.name == "Japan")
        await store.follow(chat.id, "team", japan.id, later.now())

        clock = HandClock(datetime(2018, 7, 2, 17, 50, tzinfo=UTC))
        engine = LiveEngine(store, ReplayFeed(matches), clock, on_alerts=lambda: None)
        await engine.tick()
        assert (await store.match(key)).status is Status.SCHEDULED  # type: ignore[union-attr]
        await play(engine.tick, clock, datetime(2018, 7, 2, 18, 30, tzinfo=UTC))
        told = await ledger_texts(store, chat.id)
        assert told and told[0].startswith("🟢 <b>Kick-off: Belgium v Japan")
    finally:
        await store.close()
