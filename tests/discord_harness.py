"""Running the bot's Discord front end against the fake Discord inside a test's loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.clock import Clock
from bot.core import Core
from bot.discord import MatchdayDiscord, start_discord, stop_discord
from bot.settings import Settings
from handlers.commands import dispatch
from storage.store import Store
from tests.conftest import NOW
from tests.fake_discord import TOKEN, FakeDiscord


@pytest.fixture
def restore_discord_addresses() -> Any:
    """The REST base and the gateway are discord.py's process-wide addresses."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


@pytest.fixture
async def fake(restore_discord_addresses: None) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
async def fast_fake() -> AsyncIterator[FakeDiscord]:
    """Discord's 5-per-channel bucket, with a 1 s window to keep the suite quick."""
    async with FakeDiscord(bucket_limit=5, bucket_window=1.0) as fake:
        yield fake


def core_for(store: Store, **env: str) -> Any:
    """What `handle_command` uses of Core: the store, clock, settings and its way in."""
    return SimpleNamespace(store=store, clock=Clock(NOW, 1.0), settings=Settings.load(env=env),
                           run=dispatch)  # fmt: skip


def discord_env(fake: FakeDiscord, db: Path, **extra: str) -> dict[str, str]:
    return {"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_API_URL": fake.base_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url, "MATCHDAY_DB": str(db), **extra}  # fmt: skip


async def until(fake: FakeDiscord, predicate: Callable[[], Any],
                client: MatchdayDiscord | None = None) -> None:  # fmt: skip
    """Wait for `predicate` of the fake's state; fail at once if the bot's client ends."""
    waiter = asyncio.ensure_future(fake.wait_for(predicate))
    runner = client.runner if client is not None else None
    if runner is None:
        await waiter
        return
    done, _ = await asyncio.wait({waiter, runner}, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        runner.result()  # its exception, if it failed
        raise AssertionError("the Discord client stopped while the test waited")


@contextlib.asynccontextmanager
async def discord_bot(
    fake: FakeDiscord, db: Path, now: datetime = NOW, speed: float = 1.0
) -> AsyncIterator[tuple[Core, MatchdayDiscord]]:
    """The bot as `matchday run` starts it with only DISCORD_BOT_TOKEN (see run_discord),
    up once its session is READY with the server and its slash commands are registered."""
    core = await Core.open(Settings.load(env=discord_env(fake, db)), Clock(now, speed))
    client: MatchdayDiscord | None = None
    try:
        await core.start_without_job_queue()
        client = await start_discord(core)
        await until(fake, lambda: fake.gateway.ready() and fake.commands, client)
        yield core, client
    finally:
        await stop_discord(client)
        await core.close()
