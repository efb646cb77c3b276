"""Following teams end to end: reminders and live alerts through the real PTB stack."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import running_bot
from tests.harness import transport as transport

pytestmark = pytest.mark.usefixtures("transport")  # every test once per MATCHDAY_HTTP

CHAT = 4242
ALERT_MARKS = ("🟢", "⚽", "⏸", "⏱", "🎯", "🏁", "❌")


def alerts(fake: FakeTelegram, chat: int = CHAT) -> list[str]:
    return [t for t in fake.messages_to(chat) if t.startswith(ALERT_MARKS)]


async def follow(fake: FakeTelegram, text: str, chat: int = CHAT) -> None:
    before = len(fake.messages_to(chat))
    fake.push_message(chat, text)
    await fake.wait_for_messages(chat, before + 1)


async def test_belgium_japan_replay_alerts_in_order_once_each(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db, start = tmp_path / "bot.db", datetime(2018, 7, 2, 17, 45, tzinfo=UTC)
    async with running_bot(fake_telegram, db, now=start):  # real speed: follow before kick-off
        await follow(fake_telegram, "/follow Japan")
    # The match at 480×, watched from 15 minutes before kick-off however slowly the bot starts.
    async with running_bot(fake_telegram, db, now=start, speed=480):
        await fake_telegram.wait_for(
            lambda: any("Full time" in t for t in alerts(fake_telegram)), timeout=40
        )
    sequence = alerts(fake_telegram)
    expected = [
        "Kick-off: Belgium v Japan",
        "Half-time: Belgium 0–0 Japan",
        "Haraguchi 48'",
        "Inui 52'",
        "Vertonghen 69'",
        "Fellaini 74'",
        "Chadli 90+4'",
        "Full time: Belgium 3–2 Japan",
    ]
    assert len(sequence) == len(expected), sequence
    for text, wanted in zip(sequence, expected, strict=True):
        assert wanted in text
    assert "Belgium 2–2 Japan" in sequence[5]


async def test_score_mid_match_shows_the_live_score(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    mid_match = datetime(2018, 7, 2, 19, 12, tzinfo=UTC)  # after Inui's 52'
    async with running_bot(fake_telegram, tmp_path / "bot.db", now=mid_match):
        fake_telegram.push_message(CHAT, "/score Japan")
        (reply,) = await fake_telegram.wait_for_messages(CHAT, 1)
    assert "Belgium 0–2 Japan" in reply and "Live" in reply


async def test_reminders_at_each_lead_time_in_the_chat_zone(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db, start = tmp_path / "bot.db", datetime(2018, 7, 6, 16, 40, tzinfo=UTC)  # KO 18:00Z
    async with running_bot(fake_telegram, db, now=start):  # settings at real speed
        await follow(fake_telegram, "/timezone Europe/Moscow")
        await follow(fake_telegram, "/remind 60 15")
        await follow(fake_telegram, "/follow Belgium")
    async with running_bot(fake_telegram, db, now=start, speed=300):
        await fake_telegram.wait_for(
            lambda: sum("kicks off" in t for t in fake_telegram.messages_to(CHAT)) >= 2, timeout=30
        )
    reminders = [t for t in fake_telegram.messages_to(CHAT) if "kicks off" in t]
    assert len(reminders) == 2
    assert "in 1 hour\n" in reminders[0] and "in 15 minutes" in reminders[1]  # not "60 minutes"
    for text in reminders:
        assert "Brazil v Belgium" in text and "Quarter-finals" in text
        assert "21:00 MSK" in text and "Kazan Arena" in text


async def test_reminder_missed_while_down_is_sent_once_on_restart(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(fake_telegram, db, now=datetime(2018, 7, 6, 12, 0, tzinfo=UTC)):
        await follow(fake_telegram, "/remind 60 15")
        await follow(fake_telegram, "/follow Brazil")
    # Down from 12:00 until 17:50: both lead times passed, kick-off has not.
    async with running_bot(fake_telegram, db, now=datetime(2018, 7, 6, 17, 50, tzinfo=UTC)):
        await fake_telegram.wait_for(
            lambda: any("kicks off" in t for t in fake_telegram.messages_to(CHAT)), timeout=10
        )
        fake_telegram.push_message(CHAT, "/settings")  # a round trip: anything queued went out
        await fake_telegram.wait_for(
            lambda: "Settings" in fake_telegram.messages_to(CHAT)[-1], timeout=10
        )
    reminders = [t for t in fake_telegram.messages_to(CHAT) if "kicks off" in t]
    assert len(reminders) == 1
    assert "in 10 minutes" in reminders[0]


async def test_no_reminder_after_kick_off(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(fake_telegram, db, now=datetime(2018, 7, 6, 12, 0, tzinfo=UTC)):
        await follow(fake_telegram, "/follow Brazil")
    async with running_bot(fake_telegram, db, now=datetime(2018, 7, 6, 18, 5, tzinfo=UTC)):
        fake_telegram.push_message(CHAT, "/settings")
        await fake_telegram.wait_for(
            lambda: "Settings" in fake_telegram.messages_to(CHAT)[-1], timeout=10
        )
    assert not any("kicks off" in t for t in fake_telegram.messages_to(CHAT))


async def test_started_mid_match_catches_up_silently(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(fake_telegram, db, now=datetime(2018, 7, 2, 12, 0, tzinfo=UTC)):
        await follow(fake_telegram, "/remind off")
        await follow(fake_telegram, "/follow Japan")
    # Back at 19:20Z: 0–2 already (48', 52' more than ten minutes ago); 69' is yet to come.
    start = datetime(2018, 7, 2, 19, 20, tzinfo=UTC)
    async with running_bot(fake_telegram, db, now=start, speed=300):
        await fake_telegram.wait_for(
            lambda: any("Full time" in t for t in alerts(fake_telegram)), timeout=30
        )
    sequence = alerts(fake_telegram)
    assert not any("Haraguchi" in t or "Inui" in t or "Kick-off" in t for t in sequence)
    expected = ["Vertonghen", "Fellaini", "Chadli", "Full time"]
    assert len(sequence) == len(expected), sequence
    for text, wanted in zip(sequence, expected, strict=True):
        assert wanted in text
