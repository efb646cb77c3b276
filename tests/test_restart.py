"""SIGKILL a real `matchday run` mid-match and restart it on the same database."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import seed_followers
from tests.harness import transport as transport
from tests.test_e2e_alerts import CHAT, alerts

pytestmark = pytest.mark.usefixtures("transport")  # every test once per MATCHDAY_HTTP

ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def matchday_process(
    fake: FakeTelegram, db: Path, now: str, speed: float, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "MATCHDAY_DB": str(db),
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
            process.kill()
        await process.wait()


def ledger(db: Path) -> tuple[set[str], str]:
    """Texts of alerts recorded as sent, and the engine's last poll instant."""
    with sqlite3.connect(db) as conn:
        sent = {row[0] for row in conn.execute("SELECT text FROM alerts WHERE status = 'sent'")}
        # The engine writes its last poll in the transaction that stores the poll's states,
        # so resuming from it never replays a goal away as "disallowed".
        (last,) = conn.execute(
            "SELECT value FROM meta WHERE key = 'engine.last_poll'"
        ).fetchone()
    return sent, last


async def test_sigkill_mid_match_loses_nothing_and_repeats_nothing_sent(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db, log = tmp_path / "bot.db", tmp_path / "bot.log"
    # Following already (as if by /follow): nothing has to happen before kick-off in real time.
    await seed_followers(db, [CHAT], datetime(2018, 7, 2, 17, 45, tzinfo=UTC), fake=fake_telegram)
    async with matchday_process(fake_telegram, db, "2018-07-02T17:45:00Z", 240, log) as first:
        await fake_telegram.wait_for(lambda: len(alerts(fake_telegram)) >= 4, timeout=60)
        first.send_signal(signal.SIGKILL)
        await first.wait()
    received_before = list(alerts(fake_telegram))
    sent_before, last_poll = ledger(db)
    assert sent_before, "the first run recorded nothing as sent"

    async with matchday_process(fake_telegram, db, last_poll, 240, log):
        await fake_telegram.wait_for(
            lambda: any("Full time" in t for t in alerts(fake_telegram)), timeout=60
        )
    everything = alerts(fake_telegram)
    for text in sent_before:
        assert everything.count(text) == 1, f"sent twice: {text}"
    expected = ["Kick-off", "Half-time", "Haraguchi", "Inui", "Vertonghen", "Fellaini", "Chadli",
                "Full time"]  # fmt: skip
    unique = list(dict.fromkeys(everything))
    assert len(unique) == len(expected), "\n".join(unique)
    for text, wanted in zip(unique, expected, strict=True):
        assert wanted in text
    # Only a send in flight at the kill can repeat.
    assert len(everything) - len(unique) <= 1
    assert len(received_before) >= 4
    assert fake_telegram.token not in log.read_text()
