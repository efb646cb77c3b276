"""SIGTERM and SIGINT stop every front end in order: no new work, sends on the wire finished
and marked, transports closed last, and the process exits 0 (a real `matchday` subprocess)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.discord_harness import fast_fake
from tests.fake_discord import TOKEN, FakeDiscord

ROOT = Path(__file__).resolve().parent.parent
__all__ = ["fast_fake"]


async def start(args: list[str], db: Path, **env: str) -> asyncio.subprocess.Process:
    environment = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM", "MATCHDAY", "DISCORD"))
    }  # fmt: skip
    environment.update({"MATCHDAY_DB": str(db), **env})
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=ROOT, env=environment,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def open_claims(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM alerts WHERE status = 'sending'").fetchone()
    return count


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_console_stops_on_a_signal_while_waiting_for_input(
    tmp_path: Path, stop: signal.Signals
) -> None:
    db = tmp_path / "console.db"
    process = await start(["console", "--now", "2018-07-02T19:04:00Z", "--speed", "10"], db)
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"/follow Japan\n")  # and stdin stays open: a person at a terminal
        await process.stdin.drain()
        async with asyncio.timeout(60):
            while b"Haraguchi" not in await process.stdout.readline():
                pass  # the alert arrived: delivery is running
        process.send_signal(stop)
        async with asyncio.timeout(20):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert open_claims(db) == 0


async def test_discord_alone_stops_on_sigterm(fast_fake: FakeDiscord, tmp_path: Path) -> None:
    db = tmp_path / "discord.db"
    process = await start(["run"], db, DISCORD_BOT_TOKEN=TOKEN,
                          DISCORD_API_URL=fast_fake.base_url,
                          DISCORD_GATEWAY_URL=fast_fake.gateway_url)  # fmt: skip
    try:
        # Logged in, commands registered, the gateway session up: serving.
        await fast_fake.wait_for(lambda: fast_fake.commands and fast_fake.gateway.ready())
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert open_claims(db) == 0
