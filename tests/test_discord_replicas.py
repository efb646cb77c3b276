"""Discord with replicas: two real `matchday run` processes on one real PostgreSQL database,
each with DISCORD_BOT_TOKEN, against the fake Discord (REST and gateway on 127.0.0.1).

The fake gateway sends every event to every session of the bot, as Discord does for an
unsharded bot, so a second session would hear (and answer) every command. Every step waits
for an event (a frame or request at the fake, a log line, a process exit); the timeouts are
safety nets, never the thing a test measures.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from bot import discord_gateway
from bot.discord_gateway import GATEWAY
from feeds.football_data.parsing import parse_match
from handlers.alerts import render_alert
from storage.leadership import role_key
from storage.store import Store
from tests.fake_discord import CHANNEL_ID, MODERATOR, TOKEN, FakeDiscord
from tests.fake_discord_interactions import Interaction
from tests.fake_football_data import FakeFootballData
from tests.test_replicas import FD_TOKEN, logged, match, replica

STANDING_BY = "standing by for the Discord gateway"
SAFETY = 90  # seconds: a net for a hung test, not a measure


def environment(fake: FakeDiscord, fd: FakeFootballData, db: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM", "MATCHDAY", "DISCORD", "FOOTBALL", "API_FOOTBALL"))}
    env.update({
        "DISCORD_BOT_TOKEN": TOKEN, "DISCORD_API_URL": fake.base_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url, "MATCHDAY_DB": db,
        "MATCHDAY_FEED": "football-data", "FOOTBALL_DATA_TOKEN": fd.token,
        "FOOTBALL_DATA_URL": fd.url, "FOOTBALL_DATA_COMPETITIONS": "WC",
        "FOOTBALL_DATA_RATE": "100000", "MATCHDAY_POLL_SECONDS": "1",
    })  # fmt: skip
    return env


def identifies(fake: FakeDiscord) -> int:
    """IDENTIFYs the fake gateway accepted: one per session a process opened."""
    return len(fake.gateway.sessions)


def logins(fake: FakeDiscord) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/users/@me") and r.status == 200)


def registrations(fake: FakeDiscord) -> int:
    return sum(1 for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands"))


async def answered_once(fake: FakeDiscord, interaction: Interaction) -> str:
    """The answer to `interaction`, after checking one process heard it and answered it."""
    reply = await fake.answer(interaction)
    heard = fake.gateway.heard("INTERACTION_CREATE", str(interaction.id))
    assert len(heard) == 1, f"{len(heard)} gateway sessions heard the command"
    assert len(interaction.callbacks) == 1 and not interaction.refused, interaction.refused
    return reply.content


async def until_standing_by_or_connected(fake: FakeDiscord, log: Path,
                                         process: asyncio.subprocess.Process) -> None:  # fmt: skip
    """Until the replica says it stands by, or (the bug) opens a session of its own."""
    before = len(fake.gateway.connections)
    async with asyncio.timeout(SAFETY):
        while STANDING_BY not in log.read_text() and len(fake.gateway.connections) == before:  # noqa: ASYNC240
            assert process.returncode is None, log.read_text()[-3000:]  # noqa: ASYNC240
            await asyncio.sleep(0.1)


async def test_one_replica_holds_the_gateway_and_a_standby_takes_over_a_sigkill(
    postgres_url: str, tmp_path: Path
) -> None:
    scheduled = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    async with (
        FakeFootballData(token=FD_TOKEN, quota_per_minute=100_000) as fd,
        FakeDiscord() as fake,
    ):
        fd.set_match(match(scheduled, []))
        env = environment(fake, fd, postgres_url)
        async with replica(env, logs[0]) as first:
            await fake.wait_for(lambda: fake.gateway.ready() and fake.commands, timeout=SAFETY)
            (held,) = fake.gateway.connections
            async with replica(env, logs[1]) as second:
                # The second logs in (its alert sender needs REST) and leaves the gateway be.
                await fake.wait_for(lambda: logins(fake) == 2, timeout=SAFETY)
                await until_standing_by_or_connected(fake, logs[1], second)
                assert len(fake.gateway.connections) == 1 and registrations(fake) == 1
                assert f"now runs {GATEWAY}" in logs[0].read_text()
                score = await answered_once(fake, await fake.slash("score", team="Japan"))
                assert "Belgium 0–0 Japan" in score
                follow = await fake.slash("follow", team="Japan", user=MODERATOR)
                assert (await answered_once(fake, follow)).startswith("Following **Japan**")
                assert len(fake.gateway.connections) == 1

                first.send_signal(signal.SIGKILL)
                killed = time.monotonic()
                await first.wait()
                await fake.wait_for(lambda: held.closed_with is not None, timeout=SAFETY)
                await fake.wait_for(lambda: identifies(fake) == 2 and fake.gateway.ready(),
                                    timeout=SAFETY)  # fmt: skip
                took = time.monotonic() - killed
                print(f"gateway takeover {took:.1f} s after SIGKILL")
                await logged(logs[1], f"now runs {GATEWAY}", second)
                assert fake.gateway.connections[-1] is not held
                await fake.wait_for(lambda: registrations(fake) == 2, timeout=SAFETY)
                again = await answered_once(fake, await fake.slash("score", team="Japan"))
                assert "Belgium 0–0 Japan" in again
                second.send_signal(signal.SIGTERM)
                async with asyncio.timeout(30):
                    assert await second.wait() == 0
    assert identifies(fake) == 2 and len(fake.gateway.connections) == 2
    assert STANDING_BY not in logs[0].read_text()


async def test_a_standby_sends_alerts_and_registers_nothing_until_it_holds_the_gateway(
    postgres_url: str, tmp_path: Path
) -> None:
    """The gateway held elsewhere (here by the test's own lock session), the one replica
    still runs the engine and Discord's delivery: the goal reaches the channel by REST."""
    scheduled = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    log = tmp_path / "bot.log"
    async with (
        FakeFootballData(token=FD_TOKEN, quota_per_minute=100_000) as fd,
        FakeDiscord() as fake,
    ):
        await seed_channel_following_japan(postgres_url, scheduled)
        fd.set_match(match(scheduled, [(31, "Osako")]))  # the goal, news at the first poll
        holder = await asyncpg.connect(postgres_url)
        try:
            await holder.execute("SELECT pg_advisory_lock($1)", role_key(GATEWAY))
            async with replica(environment(fake, fd, postgres_url), log) as process:
                await until_standing_by_or_connected(fake, log, process)
                assert fake.gateway.connections == []
                await logged(log, "now runs delivery:discord", process)
                await fake.wait_for(
                    lambda: any("0–1" in a for a in fake.alerts(CHANNEL_ID)), timeout=SAFETY
                )
                assert fake.gateway.connections == [] and registrations(fake) == 0
                await holder.close()  # the holder is gone: the standby connects
                await fake.wait_for(lambda: fake.gateway.ready() and fake.commands,
                                    timeout=SAFETY)  # fmt: skip
                reply = await answered_once(fake, await fake.slash("score", team="Japan"))
                assert "Belgium 0–1 Japan" in reply
                process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(30):
                    assert await process.wait() == 0
        finally:
            if not holder.is_closed():
                await holder.close()
    (alert,) = fake.alerts(CHANNEL_ID)  # one goal, one alert
    assert "Belgium 0–1 Japan" in alert
    assert registrations(fake) == 1 and identifies(fake) == 1


async def seed_channel_following_japan(url: str, scheduled: datetime) -> None:
    """The match as a poll stored it, goalless, and the server channel following Japan."""
    store = await Store.open(url)
    try:
        now = datetime.now(UTC)
        await store.apply([parse_match(match(scheduled, []))], now, render_alert, silent=True)
        (japan,) = [t for t in await store.teams() if t.name == "Japan"]
        chat = await store.ensure_chat("discord", CHANNEL_ID, "group", "football", "UTC")
        await store.set_reminders(chat.id, [])
        await store.follow(chat.id, "team", japan.id, now)
    finally:
        await store.close()


class Roles:
    """What `take_gateway`/`keep_gateway` use of Core: its answers to "do I hold it?"."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.asked = 0
        self.lost: list[Exception] = []

    async def holds(self, role: str) -> bool:
        assert role == GATEWAY
        self.asked += 1
        return self.answers.pop(0)

    def on_leadership_lost(self, exc: Exception) -> None:
        self.lost.append(exc)


async def test_a_standby_asks_until_the_gateway_is_free_saying_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(discord_gateway, "STANDBY_POLL", 0.0)
    caplog.set_level(logging.INFO, logger="matchday.discord")
    roles = Roles(False, False, True)
    await discord_gateway.take_gateway(roles)  # type: ignore[arg-type]
    assert roles.asked == 3
    assert sum(STANDING_BY in r.getMessage() for r in caplog.records) == 1


async def test_the_holder_that_no_longer_holds_the_gateway_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(discord_gateway, "STANDBY_POLL", 0.0)
    roles = Roles(True, True, False)
    await discord_gateway.keep_gateway(roles)  # type: ignore[arg-type]
    assert roles.asked == 3 and len(roles.lost) == 1
