"""`matchday` on PostgreSQL end to end: real processes with `MATCHDAY_DB=postgresql://…` on the
test server — import, a /follow, a goal told once across a restart, stats — and the URL's
password in none of their output (the server's superuser has one; see postgres_server.py)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from bench.postgres_server import PostgresServer
from bot.settings import Settings
from bot.timetravel import throwaway
from storage.store import Store
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.test_cli import matchday
from tests.test_e2e_alerts import CHAT, alerts, follow
from tests.test_import import DATA

ROOT = Path(__file__).resolve().parent.parent
BEFORE_KICKOFF = "2018-07-02T17:45:00Z"  # Belgium v Japan kicks off at 18:00
EXPECTED = ["Kick-off", "Half-time", "Haraguchi", "Inui", "Vertonghen", "Fellaini", "Chadli",
            "Full time"]  # fmt: skip


@asynccontextmanager
async def matchday_run(
    fake: FakeTelegram, url: str, now: str, speed: float, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`matchday run` on `url`; stopped with SIGTERM (a clean shutdown) when the block ends."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "MATCHDAY_"))},
        "MATCHDAY_HTTP": os.environ.get("MATCHDAY_HTTP", ""),
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "MATCHDAY_DB": url,
    }
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--now", now, "--speed", str(speed),
            cwd=ROOT, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
        await process.wait()


async def sent_and_last_poll(url: str) -> tuple[list[str], str]:
    """Texts the ledger records as sent, and the engine's last poll instant (the restart
    resumes from it, as after any stop)."""
    store = await Store.open(url)
    try:
        rows = await store.db.fetch_all("SELECT text FROM alerts WHERE status = 'sent'")
        last = await store.get_meta("engine.last_poll")
    finally:
        await store.close()
    assert last is not None
    return [row[0] for row in rows], last


async def test_a_goal_reaches_a_follower_once_across_a_restart_on_postgresql(
    fake_telegram: FakeTelegram, postgres_url: str, postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:  # fmt: skip
    log = tmp_path / "bot.log"
    # The user follows Japan a quarter of an hour before kick-off, at real speed.
    async with matchday_run(fake_telegram, postgres_url, BEFORE_KICKOFF, 1, log) as first:
        await follow(fake_telegram, "/follow Japan")
        assert "Japan" in fake_telegram.messages_to(CHAT)[-1]
    assert first.returncode == 0, log.read_text()
    # The match at 240×: stopped once Japan's first goal has reached the follower.
    async with matchday_run(fake_telegram, postgres_url, BEFORE_KICKOFF, 240, log) as second:
        await fake_telegram.wait_for(
            lambda: any("Haraguchi" in t for t in alerts(fake_telegram)), timeout=120
        )
    assert second.returncode == 0, log.read_text()
    sent_before, last_poll = await sent_and_last_poll(postgres_url)
    assert any("Haraguchi" in text for text in sent_before), sent_before
    # Restarted on the same database: the rest of the match, nothing told twice.
    async with matchday_run(fake_telegram, postgres_url, last_poll, 240, log):
        await fake_telegram.wait_for(
            lambda: any("Full time" in t for t in alerts(fake_telegram)), timeout=120
        )
    told = alerts(fake_telegram)
    assert len(told) == len(EXPECTED), "\n".join(told)
    for text, wanted in zip(told, EXPECTED, strict=True):
        assert wanted in text
    sent_after, _ = await sent_and_last_poll(postgres_url)
    # The ledger says sent what the user received: the eight alerts (HTML there) and the
    # reminder the follow earned at once (late for the 30-minute lead).
    for wanted in EXPECTED:
        assert len([t for t in sent_after if wanted in t]) == 1, (wanted, sent_after)
    # "in 15 minutes" if the follow came within a minute of start-up; a busy machine may
    # take longer at real speed, so the minutes are not the point: one reminder is.
    reminders = [t for t in sent_after if re.search(r"kicks off in 1[0-5] minutes", t)]
    assert len(reminders) == 1, sent_after
    assert len(sent_after) == len(EXPECTED) + 1, sent_after

    output = log.read_text()
    assert postgres_server.password not in output
    assert f"{postgres_server.user}:***@" in output  # the URL is logged, redacted
    assert fake_telegram.token not in output


async def test_import_and_stats_on_postgresql(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    imported = await asyncio.to_thread(
        matchday, ["import", str(DATA / "worldcup-2018.json")], "", postgres_url
    )
    assert imported.returncode == 0, imported.stderr
    assert "64 new or changed" in imported.stdout
    again = await asyncio.to_thread(
        matchday, ["import", str(DATA / "worldcup-2018.json")], "", postgres_url
    )
    assert "nothing new" in again.stdout, again.stdout
    stats = await asyncio.to_thread(matchday, ["stats"], "", postgres_url)
    assert stats.returncode == 0, stats.stderr
    assert "pending: 0" in stats.stdout and "kept: 30 days" in stats.stdout
    for done in (imported, again, stats):
        assert postgres_server.password not in done.stdout + done.stderr
    store = await Store.open(postgres_url)
    try:
        row = await store.db.fetch_one("SELECT COUNT(*) FROM matches")
    finally:
        await store.close()
    assert row is not None and row[0] == 64


async def test_a_wrong_password_fails_without_showing_either(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    wrong = postgres_url.replace(postgres_server.password, "not-the-Pa55word")
    done = await asyncio.to_thread(matchday, ["stats"], "", wrong)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "not-the-Pa55word" not in output and postgres_server.password not in output
    assert "***" in output  # it says which server, password hidden


def test_the_settings_repr_hides_the_database_password() -> None:
    url = "postgresql://bot:s3cret-pw@db.example:5432/matchday"
    settings = Settings.load(env={"MATCHDAY_DB": url})
    assert settings.db_path == url and settings.db_given
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in str(settings)
    assert settings.database_shown == "postgresql://bot:***@db.example:5432/matchday"
    assert settings.database_passwords == ["s3cret-pw"]
    encoded = Settings.load(env={"MATCHDAY_DB": "postgresql://bot:a%40b@db/m"})
    assert encoded.database_passwords == ["a%40b", "a@b"]  # as written and as sent
    assert Settings.load(env={"MATCHDAY_DB": "bot.db"}).database_passwords == []


async def test_now_on_a_postgresql_database_keeps_what_happens(postgres_url: str) -> None:
    """`--now` copies only a default SQLite file (bot/timetravel.py); a PostgreSQL URL is a
    database the operator gave, so the follow is kept and a second run sees it."""
    now = ["console", "--now", "2018-07-03T12:00:00Z"]
    first = await asyncio.to_thread(matchday, now, "/follow Japan\n", postgres_url)
    assert first.returncode == 0, first.stderr
    assert "throwaway" not in first.stderr and "Following" in first.stdout, first.stdout
    second = await asyncio.to_thread(matchday, now, "/follow Japan\n", postgres_url)
    assert "already follow" in second.stdout, second.stdout
    store = await Store.open(postgres_url)
    try:
        row = await store.db.fetch_one("SELECT COUNT(*) FROM follows")
    finally:
        await store.close()
    assert row is not None and row[0] == 1


def test_throwaway_never_copies_a_postgresql_database() -> None:
    url = "postgresql://bot:pw@db.example/matchday"
    settings = replace(Settings.load(env={"MATCHDAY_DB": url}), db_given=False)
    with throwaway(settings) as used:
        assert used is settings
