"""A follow taken by another replica makes the engine poll on its next tick.

Replicas share one PostgreSQL database and only the `engine` role's holder polls, so the
follow reaches the engine through the database alone: here the engine runs on one store and
the fan's `/follow` is answered on a second store (its own pool), as by another replica.
The feed is the bundled World Cup replay planning an idle feed's 15-minute cadence, so any
poll in between is the engine's doing; it records what it was asked.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import pytest

from bot.engine import LiveEngine
from feeds.base import PollResult
from feeds.openfootball import load_bundled_world_cup_2018
from feeds.replay import ReplayFeed
from storage.store import Store
from tests.conftest import ask, build_store
from tests.timeline import HandClock

IDLE = timedelta(minutes=15)
TICK = timedelta(seconds=5)
BELGIUM_JAPAN_LIVE = datetime(2018, 7, 2, 19, 10, tzinfo=UTC)  # second half, 0–2
BEFORE_SWEDEN_SWITZERLAND = datetime(2018, 7, 3, 13, 50, tzinfo=UTC)  # kick-off 14:00


class Asked(ReplayFeed):
    """The replay feed, remembering the watched keys of every poll."""

    def __init__(self) -> None:
        super().__init__(load_bundled_world_cup_2018().matches, poll_interval=IDLE)
        self.asked: list[set[str]] = []

    async def poll(self, now: datetime, watched: Collection[str]) -> PollResult:
        self.asked.append(set(watched))
        return await super().poll(now, watched)


@pytest.mark.parametrize(
    ("now", "text", "chats"),
    [
        (BELGIUM_JAPAN_LIVE, "/follow Japan", 1),  # its match is live
        (BELGIUM_JAPAN_LIVE, "/follow World Cup", 1),  # the competition of a live match
        (BEFORE_SWEDEN_SWITZERLAND, "/follow Switzerland", 1),  # kicks off within the lead
        (BELGIUM_JAPAN_LIVE, "/follow Japan", 2),  # a second chat: already watched
    ],
)
async def test_a_follow_on_another_replica_wakes_the_engine_within_a_tick(
    postgres_url: str, now: datetime, text: str, chats: int
) -> None:
    clock = HandClock(now)
    engine_store = await build_store(postgres_url, now)
    replica = await Store.open(postgres_url)
    feed = Asked()
    try:
        engine = LiveEngine(engine_store, feed, clock, on_alerts=lambda: None)
        for chat in range(1, chats):  # chats already following before the engine starts
            await ask(replica, text, chat=chat, now=now)
        await engine.tick()
        assert engine.next_poll == now + IDLE
        watched_before = set(feed.asked[-1])
        clock.at += TICK
        await engine.tick()
        assert len(feed.asked) == 1  # nothing new: the feed's plan stands

        reply = await ask(replica, text, chat=chats, now=clock.at)
        assert reply.text.startswith("Following"), reply.text
        clock.at += TICK
        await engine.tick()
        new = chats == 1  # a second chat adds no match to watch: nothing to ask again
        assert len(feed.asked) == (2 if new else 1), feed.asked
        assert (feed.asked[-1] - watched_before) if new else watched_before
        for _ in range(3):  # once asked, the feed's new plan stands again
            clock.at += TICK
            await engine.tick()
        assert len(feed.asked) == (2 if new else 1)
    finally:
        await replica.close()
        await engine_store.close()
