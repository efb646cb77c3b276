"""Time zones: what /timezone accepts, and a chat whose stored zone no longer loads."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError
from handlers.alerts import render_alert
from storage.store import Store
from tests.conftest import ask, assert_valid_reply, plain_text
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import core_of, running_bot
from tests.harness import transport as transport
from tests.test_delivery import BEFORE_HARAGUCHI, GOAL, goal_sends, seed_followers
from tests.test_store import at, chat, follow

BROKEN = "Europe/Atlantis"  # what an old row, a hand edit or a removed zone leaves behind


def labels(reply: object) -> list[str]:
    return [b.label for row in reply.buttons for b in row]  # type: ignore[attr-defined]


async def zone_of(store: Store, external_id: int = 100) -> str:
    found = await store.chat("test", external_id)
    assert found is not None
    return found.timezone


async def break_zone(db: Path | str, external_id: int) -> None:
    """Store a zone that does not load, bypassing /timezone's check, as an old version could."""
    store = await Store.open(db)
    try:
        await store.db.execute(
            "UPDATE chats SET timezone = ? WHERE external_id = ?", (BROKEN, external_id)
        )
    finally:
        await store.close()


# -- /timezone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "zone", "shown"),
    [
        ("UTC+2", "Etc/GMT-2", "UTC+02:00"),  # POSIX signs run backwards: Etc/GMT-2 is UTC+2
        ("GMT+2", "Etc/GMT-2", "UTC+02:00"),
        ("utc-5", "Etc/GMT+5", "UTC-05:00"),
        ("UTC +03:00", "Etc/GMT-3", "UTC+03:00"),
        ("UTC", "UTC", "UTC+00:00"),
        ("Etc/GMT+2", "Etc/GMT+2", "UTC-02:00"),  # the IANA name, taken as written
        ("Brussels", "Europe/Brussels", "14:00 CEST"),
        ("são paulo", "America/Sao_Paulo", "09:00 -03"),
        ("new york", "America/New_York", "08:00 EDT"),
        ("Belgium", "Europe/Brussels", "UTC+02:00"),
        ("Japan", "Asia/Tokyo", "21:00 JST"),
    ],
)
async def test_timezone_understands_offsets_cities_and_countries(
    store: Store, typed: str, zone: str, shown: str
) -> None:
    reply = await ask(store, f"/timezone {typed}")
    assert_valid_reply(reply)
    assert zone in plain_text(reply.text) and shown in plain_text(reply.text), reply.text
    assert await zone_of(store) == zone


async def test_utc_plus_two_reads_as_utc_plus_two(store: Store) -> None:
    text = plain_text((await ask(store, "/timezone UTC+2")).text)
    assert text.startswith("Times in this chat are now in UTC+2 (Etc/GMT-2, no summer time)")
    assert "14:00 +02" in text  # noon UTC, two hours east


@pytest.mark.parametrize(
    ("typed", "why", "offered"),
    [
        ("localtime", "not a time zone I know", []),  # loads on this host only, if at all
        ("posixrules", "not a time zone I know", []),
        ("Factory", "not a time zone I know", []),
        ("Europe/Brusels", "not a time zone I know", ["Europe/Brussels"]),
        ("Brusels", "not a time zone I know", ["Europe/Brussels"]),
        ("UTC+15", "UTC offsets run from −12:00 to +14:00", []),
        ("UTC+5:30", "no fixed zone", ["Asia/Colombo", "Asia/Kolkata"]),
        ("Brazil", "several zones", ["America/Noronha"]),
        ("../../etc/passwd", "not a time zone I know", []),
    ],
)
async def test_timezone_refuses_what_would_not_load_everywhere(
    store: Store, typed: str, why: str, offered: list[str]
) -> None:
    reply = await ask(store, f"/timezone {typed}")
    assert_valid_reply(reply)
    assert why in plain_text(reply.text) and "/timezone Europe/Brussels" in plain_text(reply.text)
    for zone in offered:
        assert zone in labels(reply)
    for row in reply.buttons:
        assert all(b.command == f"/timezone {b.label}" for b in row)
    assert await zone_of(store) == "UTC"  # nothing changed


# -- a stored zone that no longer loads ------------------------------------------------------


async def test_replies_in_a_chat_with_a_broken_zone_fall_back_to_utc(store: Store) -> None:
    await ask(store, "/settings")
    await store.db.execute("UPDATE chats SET timezone = ? WHERE external_id = 100", (BROKEN,))
    text = plain_text((await ask(store, "/next Brazil")).text)
    assert "18:00 UTC" in text  # Brazil v Belgium, 6 July 18:00Z


async def test_reminder_for_a_broken_zone_is_queued_in_utc_beside_the_others(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    broken, fine = await chat(store, 1), await chat(store, 2, "Europe/Moscow")
    for c in (broken, fine):
        await follow(store, c, "Belgium")
    # Not yet logged by this process (logged once a name; one name per engine's run).
    gone = f"Europe/Gone-for-reminders-{store.db.dialect.engine}"
    await store.db.execute("UPDATE chats SET timezone = ? WHERE id = ?", (gone, broken.id))
    with caplog.at_level(logging.WARNING, logger="matchday.storage"):
        assert await store.queue_due_reminders(at(6, 17, 30), render_alert) == 2
    texts = {row[0]: row[1] for row in await store._all("SELECT chat_id, text FROM alerts")}
    assert "18:00 UTC" in texts[broken.id] and "21:00 MSK" in texts[fine.id]
    assert len([r for r in caplog.records if gone in r.getMessage()]) == 1


async def test_a_broken_zone_among_500_followers_blocks_nobody(
    fake_telegram: FakeTelegram, tmp_path: Path, transport: str
) -> None:
    db = tmp_path / "bot.db"
    chats = list(range(5000, 5500))
    await seed_followers(db, chats, BEFORE_HARAGUCHI, fake=fake_telegram)
    broken = chats[250]
    await break_zone(db, broken)
    async with running_bot(
        fake_telegram, db, now=BEFORE_HARAGUCHI, MATCHDAY_POLL_SECONDS="1",
        MATCHDAY_MAX_SEND_RATE="1000",
    ) as app:  # fmt: skip
        await fake_telegram.wait_for(lambda: len(goal_sends(fake_telegram)) >= 500, timeout=60)
        store = core_of(app).store
        for _ in range(200):  # the marks of the last sends are written in the background
            if (await store.ledger_counts())["sent"] == 500:
                break
            await asyncio.sleep(0.05)
        counts = await store.ledger_counts()
    got = [chat for chat, _ in goal_sends(fake_telegram)]
    assert sorted(got) == chats  # every chat once: none lost, none repeated
    (text,) = [s.text for s in fake_telegram.sent if s.chat_id == broken and GOAL in s.text]
    assert "Belgium 0–1 Japan" in text
    assert (counts["sent"], counts["pending"], counts["failed"]) == (500, 0, 0)


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Europe/Atlantis"])
def test_the_default_zone_must_load_everywhere(zone: str) -> None:
    with pytest.raises(SettingsError, match="MATCHDAY_TIMEZONE"):
        Settings.load(env={"MATCHDAY_TIMEZONE": zone})
    assert Settings.load(env={"MATCHDAY_TIMEZONE": "Asia/Tokyo"}).timezone == "Asia/Tokyo"


async def test_discord_suggests_only_zones_timezone_accepts() -> None:
    from bot.discord_commands import suggest_zone

    assert await suggest_zone(None, "local") == []  # type: ignore[arg-type]
    assert (await suggest_zone(None, "bruss"))[0] == "Europe/Brussels"  # type: ignore[arg-type]


async def test_settings_says_when_the_stored_zone_no_longer_loads(store: Store) -> None:
    await ask(store, "/settings")
    await store.db.execute("UPDATE chats SET timezone = ? WHERE external_id = 100", (BROKEN,))
    text = plain_text((await ask(store, "/settings")).text)
    assert f"Time zone: {BROKEN} — not a zone this bot can load any more" in text
    assert "times are shown in UTC" in text
