"""The bot on the football-data.org feed, end to end: fake v4 API, fake Bot API, real PTB.

The free tier allows 10 requests a minute, on the real clock, so a whole match cannot be
polled in seconds the way the replay can. Instead the fake serves one scripted state per
`/matches` request: each poll of the bot sees the next state of the match. The bot runs on
its own virtual clock (`now=`, `speed=`) with FootballDataFeed's intervals as shipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fake_football_data import FakeFootballData, v4_goal, v4_match
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import running_bot

CHAT = 5151
TOKEN = "fd-e2e-secret-7f3a9c"
START = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
KICKOFF = datetime(2026, 6, 20, 13, 0, tzinfo=UTC)
SPEED = 300.0  # the feed's 15-minute idle poll lasts 3 s; a live poll every engine tick
MATCH_ID = 537001
ALERT_MARKS = ("🟢", "⚽", "⏸", "⏱", "🎯", "🏁", "❌", "🕒", "📅", "🚫")


class ScriptedFootballData(FakeFootballData):
    """The fake, where each `/matches` request first applies the next scripted match state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script: deque[dict[str, Any]] = deque()

    def play(self, *states: Mapping[str, Any]) -> None:
        self.script.extend(dict(s) for s in states)

    async def _list_matches(self, request: web.Request) -> web.Response:
        if self.script:
            self.set_match(self.script.popleft())
        return await super()._list_matches(request)


def match(status: str = "TIMED", score: tuple[int, int] | None = None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("utc_date", KICKOFF)
    return v4_match(
        MATCH_ID, ("Belgium", "BEL"), ("Brazil", "BRA"), status=status, score=score,
        stage="QUARTER_FINALS", group=None, venue="Kazan Arena", **kw,
    )  # fmt: skip


@pytest.fixture
async def football_data() -> AsyncIterator[ScriptedFootballData]:
    async with ScriptedFootballData(token=TOKEN) as fake:
        fake.set_match(match())
        yield fake


def alerts(fake: FakeTelegram) -> list[str]:
    return [t for t in fake.messages_to(CHAT, visible=True) if t.startswith(ALERT_MARKS)]


async def follow_when_known(fake: FakeTelegram, text: str, within: float = 10.0) -> None:
    """Send /follow until it answers "Following": the team arrives with the first poll."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        before = len(fake.messages_to(CHAT))
        fake.push_message(CHAT, text)
        replies = await fake.wait_for_messages(CHAT, before + 1, visible=True)
        if replies[before].startswith("Following"):
            return
        assert asyncio.get_running_loop().time() < deadline, replies[before]
        await asyncio.sleep(0.3)


def check_quota_and_secrecy(fd: FakeFootballData, caplog: pytest.LogCaptureFixture) -> None:
    assert fd.requests, "the bot never asked football-data"
    assert all(r.authenticated for r in fd.requests)
    assert all(r.status == 200 for r in fd.requests), [(r.path, r.status) for r in fd.requests]
    assert fd.max_in_window(60.0) <= 10
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


def bot_env(fd: FakeFootballData) -> dict[str, str]:
    return {
        "MATCHDAY_FEED": "football-data",
        "FOOTBALL_DATA_TOKEN": fd.token,
        "FOOTBALL_DATA_URL": fd.url,
        "FOOTBALL_DATA_COMPETITIONS": "WC",
    }


def expect(sequence: list[str], wanted: list[str]) -> None:
    assert len(sequence) == len(wanted), sequence
    for text, part in zip(sequence, wanted, strict=True):
        assert part in text, (part, text)


async def test_a_match_without_goal_details_alerts_in_order_once_each(
    fake_telegram: FakeTelegram,
    football_data: ScriptedFootballData,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(
        fake_telegram, tmp_path / "bot.db", now=START, speed=SPEED, **bot_env(football_data)
    ):
        await follow_when_known(fake_telegram, "/follow Belgium")
        football_data.play(
            match("IN_PLAY", (0, 0), minute=1),
            match("IN_PLAY", (1, 0), minute=13),  # free tier: a score, no goals[]
            match("PAUSED", (1, 0), half_time=(1, 0), minute=45),
            match("IN_PLAY", (1, 0), half_time=(1, 0), minute=52),
            match("FINISHED", (1, 0), half_time=(1, 0)),
        )
        await fake_telegram.wait_for(
            lambda: any("Full time" in t for t in alerts(fake_telegram)), timeout=14
        )
        assert not football_data.script
    expect(
        alerts(fake_telegram),
        [
            "Kick-off: Belgium v Brazil",
            "GOAL — Belgium 1–0 Brazil, 13'",
            "Half-time: Belgium 1–0 Brazil",
            "Full time: Belgium 1–0 Brazil",
        ],
    )
    assert "Quarter-finals" in alerts(fake_telegram)[0]
    check_quota_and_secrecy(football_data, caplog)


async def test_goal_details_name_the_scorer(
    fake_telegram: FakeTelegram,
    football_data: ScriptedFootballData,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    goal = v4_goal(13, ("Belgium", "BEL"), "Romelu Lukaku", score=(1, 0))
    async with running_bot(
        fake_telegram, tmp_path / "bot.db", now=START, speed=SPEED, **bot_env(football_data)
    ):
        await follow_when_known(fake_telegram, "/follow Belgium")
        football_data.play(
            match("IN_PLAY", (0, 0), minute=2),
            match("IN_PLAY", (1, 0), minute=14, goals=[goal]),
            match("FINISHED", (1, 0), half_time=(1, 0), goals=[goal]),
        )
        await fake_telegram.wait_for(
            lambda: any("Full time" in t for t in alerts(fake_telegram)), timeout=14
        )
    sequence = alerts(fake_telegram)
    expect(sequence, ["Kick-off", "GOAL! Belgium 1–0 Brazil", "Half-time", "Full time"])
    assert "Lukaku 13'" in sequence[1]
    check_quota_and_secrecy(football_data, caplog)


async def test_kick_off_moved(
    fake_telegram: FakeTelegram,
    football_data: ScriptedFootballData,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(
        fake_telegram, tmp_path / "bot.db", now=START, speed=SPEED, **bot_env(football_data)
    ):
        await follow_when_known(fake_telegram, "/follow Brazil")
        football_data.play(match(utc_date=KICKOFF + timedelta(hours=2)))
        await fake_telegram.wait_for(lambda: alerts(fake_telegram), timeout=12)
    (moved,) = alerts(fake_telegram)
    assert "Kick-off moved: Belgium v Brazil" in moved
    assert "15:00" in moved and "13:00" in moved, moved
    check_quota_and_secrecy(football_data, caplog)


async def test_postponed(
    fake_telegram: FakeTelegram,
    football_data: ScriptedFootballData,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(
        fake_telegram, tmp_path / "bot.db", now=START, speed=SPEED, **bot_env(football_data)
    ):
        await follow_when_known(fake_telegram, "/follow Belgium")
        football_data.play(match("POSTPONED"))
        await fake_telegram.wait_for(lambda: alerts(fake_telegram), timeout=12)
    (postponed,) = alerts(fake_telegram)
    assert postponed.startswith("📅 Postponed: Belgium v Brazil"), postponed
    check_quota_and_secrecy(football_data, caplog)
