"""Health and metrics as an operator's probe and Prometheus see them."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import running_bot
from tests.test_cli import matchday
from tests.test_e2e_football_data import (
    SPEED,
    START,
    ScriptedFootballData,
    bot_env,
)
from tests.test_e2e_football_data import football_data as football_data

BEFORE_KICK_OFF = datetime(2018, 7, 2, 17, 58, tzinfo=UTC)  # Belgium v Japan


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def write_lock_held(db: Path) -> Iterator[None]:
    """An operator's `sqlite3 matchday.db` left inside `BEGIN IMMEDIATE`: no one else writes."""
    conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def health_until(client: httpx.AsyncClient, status: int) -> dict:
    """Probe /healthz the way an orchestrator does, until it answers `status` (a minute at most)."""
    async with asyncio.timeout(60):
        while True:
            response = await client.get("/healthz")
            if response.status_code == status:
                return response.json()
            await asyncio.sleep(0.2)


async def test_metrics_parse_and_count_commands(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    async with (
        running_bot(fake_telegram, tmp_path / "bot.db", now=BEFORE_KICK_OFF,
                    MATCHDAY_METRICS_LISTEN=f"127.0.0.1:{port}"),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):  # fmt: skip
        fake_telegram.push_message(501, "/follow Japan")
        fake_telegram.push_message(502, "/score Belgium")
        await fake_telegram.wait_for_messages(501, 1)
        await fake_telegram.wait_for_messages(502, 1)
        health = await health_until(client, 200)
        response = await client.get("/metrics")
    assert health["status"] == "ok" and health["clock"].startswith("2018-07-02")
    assert response.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples[("matchday_updates_total", (("platform", "telegram"),))] == 2
    assert samples[("matchday_command_seconds_count", (("platform", "telegram"),))] == 2
    assert ("matchday_ledger_alerts", (("status", "pending"),)) in samples
    assert samples[("matchday_ledger_pending", (("platform", "telegram"),))] >= 0
    assert samples[("matchday_tick_seconds_count", ())] >= 1
    assert samples[("matchday_rate_limited_by_process", ())] == 0


async def test_healthz_turns_503_while_the_engine_cannot_write_and_recovers(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    port, db = free_port(), tmp_path / "bot.db"
    # 120x: the engine polls every 0.25 s real and writes its last poll each time.
    async with (
        running_bot(fake_telegram, db, now=BEFORE_KICK_OFF, speed=120,
                    MATCHDAY_METRICS_LISTEN=f"127.0.0.1:{port}"),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):  # fmt: skip
        await health_until(client, 200)
        lock = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with write_lock_held(db):
                lock.set()
                release.wait(60)

        holder = asyncio.create_task(asyncio.to_thread(hold))
        try:
            sick = await health_until(client, 503)
        finally:
            release.set()
            await holder
        assert lock.is_set()
        # The engine's write waits out SQLite's busy timeout on the one connection, so reads
        # queue behind it too: the probe may see either symptom first, and says which.
        assert sick["reason"].startswith(("live engine has not ticked", "store not answering"))
        well = await health_until(client, 200)
    assert well["status"] == "ok"


async def test_metrics_show_the_live_feeds_requests_and_quota(
    fake_telegram: FakeTelegram, football_data: ScriptedFootballData, tmp_path: Path
) -> None:
    port = free_port()
    async with (
        running_bot(fake_telegram, tmp_path / "bot.db", now=START, speed=SPEED,
                    MATCHDAY_METRICS_LISTEN=f"127.0.0.1:{port}", **bot_env(football_data)),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):  # fmt: skip
        await fake_telegram.wait_for(lambda: football_data.requests, timeout=30)
        samples = {}
        async with asyncio.timeout(30):  # the gauge follows the feed's own count
            while samples.get("matchday_feed_requests", 0) < 1:
                response = await client.get("/metrics")
                samples = {
                    sample.name: sample.value
                    for family in text_string_to_metric_families(response.text)
                    for sample in family.samples
                }
    # Every request the fake saw was counted by the time of a later scrape, none invented.
    assert 1 <= samples["matchday_feed_requests"] <= len(football_data.requests)
    assert 0 <= samples["matchday_feed_quota_remaining"] <= 10


def test_metrics_listen_is_checked(tmp_path: Path) -> None:
    done = matchday(["console"], "", tmp_path / "m.db", MATCHDAY_METRICS_LISTEN="9108")
    assert done.returncode == 2 and "MATCHDAY_METRICS_LISTEN must be host:port" in done.stderr
