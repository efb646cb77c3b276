"""Running the real Matchday Telegram bot inside a test's event loop.

The steps are exactly `Application.run_polling`'s (post_stop included), minus the signal
handling and the blocking loop, so a test can talk to the bot through the fake Bot API while
it runs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.app import build_application
from bot.clock import Clock
from bot.core import Core
from bot.settings import Settings
from feeds.openfootball import load_bundled_world_cup_2018
from feeds.replay import ReplayFeed
from handlers.alerts import render_alert
from storage.store import Store
from tests.fake_telegram import FakeTelegram

#: Values of MATCHDAY_HTTP; every end-to-end test runs once with each.
TRANSPORTS = ("aiohttp", "httpx")


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test once per HTTP transport, through MATCHDAY_HTTP in the environment (which
    `settings_for` and a `matchday run` subprocess both read). An e2e module opts in with
    `pytestmark = pytest.mark.usefixtures("transport")`."""
    monkeypatch.setenv("MATCHDAY_HTTP", request.param)
    return request.param


def settings_for(fake: FakeTelegram, db: Path | str, **extra: str) -> Settings:
    env = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "MATCHDAY_DB": str(db),
        "MATCHDAY_POLL_SECONDS": "30",
        "MATCHDAY_HTTP": os.environ.get("MATCHDAY_HTTP", ""),
        **extra,
    }
    return Settings.load(env=env)


@asynccontextmanager
async def running_bot(
    fake: FakeTelegram,
    db: Path | str,
    *,
    now: datetime | None = None,
    speed: float = 1.0,
    clock: Clock | None = None,
    **extra: str,
) -> AsyncIterator[Application]:
    """The real bot; `clock` (e.g. one a test moves by hand) replaces `now` and `speed`."""
    clock = clock if clock is not None else Clock(now, speed)
    application = build_application(settings_for(fake, db, **extra), clock)
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        assert application.post_stop is not None
        await application.post_stop(application)
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)


def core_of(application: Application) -> Core:
    return application.bot_data["core"]


async def seed_followers(
    db: Path | str,
    chats: list[int],
    now: datetime,
    team: str = "Japan",
    *,
    fake: FakeTelegram | None,
) -> None:
    """Chats that already follow `team`, as if each had sent /follow earlier.

    Telegram knows a chat that talked to the bot, so `fake` (when the test has one) learns
    them too: the strict fake answers "chat not found" for chats it never saw.
    """
    if fake is not None:
        fake.register_chats(chats)
    store = await Store.open(db)
    try:
        feed = ReplayFeed(load_bundled_world_cup_2018().matches)
        states = [feed.state_at(m, now) for m in load_bundled_world_cup_2018().matches]
        await store.apply(states, now, render_alert, silent=True)
        (target,) = [t for t in await store.teams() if t.name == team]
        for chat_id in chats:
            kind = "supergroup" if chat_id < 0 else "private"
            chat = await store.ensure_chat("telegram", chat_id, kind, f"chat {chat_id}", "UTC")
            await store.set_reminders(chat.id, [])
            await store.follow(chat.id, "team", target.id, now)
    finally:
        await store.close()
