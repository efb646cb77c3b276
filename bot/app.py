"""The composition root: the one place that builds the Telegram bot from its parts."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.aiohttp_request import AiohttpRequest
from bot.clock import Clock
from bot.core import Core
from bot.settings import Settings, SettingsError
from bot.telegram import TelegramSender, bot_commands, register

log = logging.getLogger("matchday")


def file_url(api_url: str) -> str:
    """`https://api.telegram.org/bot` serves files under `https://api.telegram.org/file/bot`."""
    base = api_url.removesuffix("/bot")
    return f"{base}/file/bot" if base != api_url else api_url


async def _tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    await context.application.bot_data["core"].tick()


def build_application(settings: Settings, clock: Clock) -> Application:
    """PTB's Application wired to Matchday: storage opens in post_init, closes in post_shutdown."""
    if not settings.telegram_token:
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set")

    async def post_init(application: Application) -> None:
        core = await Core.open(settings, clock)
        application.bot_data["core"] = core
        core.add_sender(TelegramSender(application))
        if settings.discord_token:  # Discord too, sharing this Core (bot/discord.py)
            from bot.discord import start_discord

            application.bot_data["discord"] = await start_discord(core)
        await application.bot.set_my_commands(bot_commands())
        await core.tick()  # know the world as of the clock's start before answering anyone
        assert application.job_queue is not None
        # Jobs live only in memory: everything they need is rebuilt from SQLite each tick.
        application.job_queue.run_repeating(
            _tick,
            interval=core.tick_seconds,
            first=0,
            name="live-engine",
            job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        core.start_delivery()
        log.info("Matchday is up as @%s (clock %s, feed %s)",
                 application.bot.username, clock.now().isoformat(), core.feed.name)  # fmt: skip

    async def post_stop(application: Application) -> None:
        """Updates and jobs have stopped; the HTTP transports are still open: finish the
        sends on the wire and write their marks, then let Discord go."""
        core: Core | None = application.bot_data.get("core")
        if core is not None:
            await core.stop()
        if (discord_client := application.bot_data.pop("discord", None)) is not None:
            from bot.discord import stop_discord

            await stop_discord(discord_client)

    async def post_shutdown(application: Application) -> None:
        await post_stop(application)  # a no-op unless start-up was interrupted
        core: Core | None = application.bot_data.get("core")
        if core is not None:
            await core.close()

    builder = (
        Application.builder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(file_url(settings.telegram_api_url))
        .concurrent_updates(True)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if settings.http_transport == "aiohttp":
        # PTB's default timeouts; one connection for getUpdates, as PTB's own default.
        builder = builder.request(AiohttpRequest(connection_pool_size=128)).get_updates_request(
            AiohttpRequest(connection_pool_size=1)
        )
    else:
        builder = builder.connection_pool_size(128)
    application = builder.build()
    register(application)
    return application
