"""The Discord front end: slash commands and button presses in, `Request`s to the handlers,
replies and alerts out — the same handlers, store, live engine and ledger as Telegram. The
commands themselves are in `bot/discord_commands.py`; here are the client that holds the
gateway session, its addresses (DISCORD_API_URL, DISCORD_GATEWAY_URL) and the sender. With
replicas, one holds the gateway and the others stand by (`bot/discord_gateway.py`).

`DiscordSender.send` is the one place that turns Discord's errors into delivery outcomes.
Discord's rate limits (per-route buckets keyed by the X-RateLimit-Bucket header, the global
limit, 429 with retry_after) are kept by discord.py's own HTTP client, which every request
goes through: it waits on X-RateLimit-Remaining/Reset-After before a bucket would overflow
and waits out a 429 before retrying; only a wait longer than `MAX_RATELIMIT_WAIT` comes back
to delivery as RETRY_AFTER.

A chat here is a channel: ``chat.external_id`` is the channel id. Server channels are stored
with kind ``group`` so the shared handlers apply their admin check to them (only members with
Manage Channels change what a channel follows); direct messages are ``private``. Pacing is
Discord's own (`DiscordSender.limits`), not Telegram's 20 a minute per group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route, handle_message_parameters

from bot.clock import Clock
from bot.core import Core, stop_signals, until_either
from bot.delivery import ChatLimits, Outcome, Sender, SendResult
from bot.discord_commands import (  # the commands' public names, importable from here too
    DM_KIND,
    GUILD_KIND,
    NO_MENTIONS,
    OPTIONS,
    PLATFORM,
    answer,
    build_tree,
    handle_command,
    suggest_competition,
    suggest_followable,
    suggest_group,
    suggest_team,
    suggest_zone,
)
from bot.discord_gateway import keep_gateway, take_gateway
from bot.discord_render import render
from bot.settings import Settings, SettingsError
from handlers.base import Button, Reply
from storage.store import Chat

__all__ = [
    "DM_KIND", "GUILD_KIND", "OPTIONS", "PLATFORM", "DiscordSender", "MatchdayDiscord",
    "answer", "build_tree", "handle_command", "run_discord", "start_discord", "stop_discord",
    "suggest_competition", "suggest_followable", "suggest_group", "suggest_team",
    "suggest_zone", "use_api_url", "use_gateway_url",
]  # fmt: skip

log = logging.getLogger("matchday.discord")

MAX_RATELIMIT_WAIT = 30.0  # longer waits come back as RETRY_AFTER (30 is discord.py's minimum)
BACKOFF_CAP = 300.0  # seconds between attempts to reach Discord at start-up


def use_api_url(api_url: str) -> None:
    """Send every REST call (and interaction response) to `api_url` (DISCORD_API_URL)."""
    Route.BASE = api_url.rstrip("/")


def use_gateway_url(gateway_url: str) -> None:
    """Open the websocket gateway at `gateway_url` (DISCORD_GATEWAY_URL).

    `Client.connect` dials `DiscordWebSocket.DEFAULT_GATEWAY` to start a session (and its
    websocket falls back to it when Discord invalidates one); resuming goes to the
    `resume_gateway_url` Discord gave in READY. So this class attribute, process-wide like
    `Route.BASE`, is where discord.py takes the address from: setting it is what makes a
    proxy (or the test suite's fake Discord) reachable without touching its connect loop.
    """
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


# Gateway close codes after which discord.py gives up (Discord's list of codes not to
# reconnect on), in words for the one log line that says why Discord is off.
CLOSE_REASONS = {
    4004: "Discord refused DISCORD_BOT_TOKEN (gateway close 4004 Authentication failed)",
    4010: "Discord refused the shard (gateway close 4010)",
    4011: "Discord wants this bot sharded (gateway close 4011)",
    4012: "Discord refused the gateway version (gateway close 4012)",
    4013: "Discord refused the intents (gateway close 4013)",
    4014: "Discord wants privileged intents (gateway close 4014)",
}


def _refusal(code: int) -> str:
    return CLOSE_REASONS.get(code, f"Discord closed the gateway with code {code}")


# -- delivery --------------------------------------------------------------------------------


def _retry_after(exc: discord.HTTPException) -> float:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name in ("Retry-After", "X-RateLimit-Reset-After"):
        with contextlib.suppress(TypeError, ValueError):
            return max(0.0, float(headers.get(name)))
    return 1.0


class DiscordSender(Sender):
    """Sends through discord.py's HTTP client and maps every Discord answer to an `Outcome`.

    `logged_in`, when given, is set once the client has logged in: until then the sender
    is not `ready`, so delivery claims no Discord row (none holds a send slot while Discord
    is unreachable) and Discord's alerts wait in the ledger.
    """

    platform = PLATFORM
    # A channel takes 5 messages per 5 s (discord.py keeps that bucket); no per-minute cap
    # like Telegram's groups. One a second keeps alerts from piling up behind the bucket.
    limits = ChatLimits(interval=1.0, group_per_minute=None)

    def __init__(self, http: HTTPClient, logged_in: asyncio.Event | None = None) -> None:
        self.http = http
        self.logged_in = logged_in

    @property
    def ready(self) -> bool:
        return self.logged_in is None or self.logged_in.is_set()

    async def send(
        self, chat: Chat, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> SendResult:
        if not self.ready:  # logged out after the claim
            return SendResult(Outcome.TRANSIENT, error="not logged in to Discord")
        content, view = render(Reply(text, tuple(tuple(row) for row in buttons)))
        params = handle_message_parameters(
            content=content, view=view if view is not None else discord.utils.MISSING,
            allowed_mentions=NO_MENTIONS,
        )  # fmt: skip
        try:
            with params:
                message = await self.http.send_message(chat.external_id, params=params)
        except discord.RateLimited as exc:  # a wait longer than MAX_RATELIMIT_WAIT
            return SendResult(Outcome.RETRY_AFTER, retry_after=exc.retry_after,
                              error=f"rate limited for {exc.retry_after:.1f}s")  # fmt: skip
        except discord.Forbidden as exc:  # kicked, or no longer allowed to post there
            return SendResult(Outcome.FORBIDDEN, error=f"403 {exc.text or 'Forbidden'}")
        except discord.NotFound as exc:  # the channel was deleted
            return SendResult(Outcome.FORBIDDEN, error=f"404 {exc.text or 'Not Found'}")
        except discord.DiscordServerError as exc:  # discord.py already retried it 5 times
            return SendResult(Outcome.TRANSIENT, error=f"{exc.status} {exc.text}".strip())
        except discord.HTTPException as exc:
            if exc.status == 429:  # 429 after discord.py's retries, or from a proxy
                return SendResult(Outcome.RETRY_AFTER, retry_after=_retry_after(exc),
                                  error=f"429 {exc.text}".strip())  # fmt: skip
            if exc.status >= 500:
                return SendResult(Outcome.TRANSIENT, error=f"{exc.status} {exc.text}".strip())
            if exc.status == 401:  # the token was reset: no message will go out until fixed
                return SendResult(Outcome.UNAUTHORIZED, error=f"401 {exc.text}".strip())
            return SendResult(Outcome.REJECTED, error=f"{exc.status} {exc.text}".strip())
        except TimeoutError:
            # The request left; Discord may have posted it. Retrying errs towards a repeat
            # rather than a lost alert (see bot/delivery.py).
            return SendResult(Outcome.TRANSIENT, error="timed out")
        except (aiohttp.ClientError, OSError) as exc:
            return SendResult(Outcome.TRANSIENT, error=f"{type(exc).__name__}: {exc}")
        message_id = message.get("id") if isinstance(message, dict) else None
        return SendResult(Outcome.SENT, message_id=int(message_id) if message_id else None)


class MatchdayDiscord(discord.Client):
    """The Discord client: registers the slash commands and delivers through `core`."""

    def __init__(self, core: Core) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here
        intents = discord.Intents.none()
        intents.guilds = True  # channel names and permissions; no privileged intent
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS,
                         max_ratelimit_timeout=MAX_RATELIMIT_WAIT)  # fmt: skip
        self.core = core
        self.tree = build_tree(self, core)
        self.logged_in = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None  # checks the gateway role is ours
        self._registered = False
        self.refusal: str | None = None  # why Discord is off for good, once it is
        # Registered now, not at login: delivery then never spins on rows it has no sender for.
        core.add_sender(DiscordSender(self.http, self.logged_in))

    async def setup_hook(self) -> None:
        """Logged in: alerts may go out (holder of the gateway or standby)."""
        self.logged_in.set()

    async def _register(self) -> None:
        """Register the slash commands, once, as the gateway holder (bot/discord_gateway.py)."""
        if self._registered:
            return
        try:
            synced = await self.tree.sync()
            log.info("registered %d Discord slash commands", len(synced))
        except discord.HTTPException as exc:  # the commands registered last time still work
            log.error("could not register the Discord slash commands: %s", exc)
        self._registered = True

    async def on_ready(self) -> None:
        log.info("Matchday is up on Discord as %s in %d servers", self.user, len(self.guilds))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A button press is the command text it carries (its custom_id)."""
        if interaction.type is not discord.InteractionType.component:
            return  # slash commands and autocomplete go through the tree
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if custom_id.startswith("/"):
            await answer(self.core, interaction, custom_id)

    @property
    def runner(self) -> asyncio.Task[None] | None:
        """The task that holds the connection: done once Discord is off for good."""
        return self._runner

    def start_background(self, token: str) -> asyncio.Task[None]:
        """Log in and hold the gateway connection in a task on the running loop."""
        self._runner = asyncio.create_task(self._run(token), name="discord")
        return self._runner

    async def _run(self, token: str) -> None:
        """Log in, then hold the gateway; failures that leave the client open are retried.

        discord.py reconnects by itself once connected (resuming the session where it can),
        but not when the very first connection (or the login) fails, e.g. Discord or the
        network is down at start-up. A refusal (401 at login, or a gateway close code that
        no retry can fix) ends the Discord front end with one error line; whatever else
        runs in the process (Telegram, the engine, delivery) carries on.

        Every replica logs in (its alert sender needs it); only the holder of the gateway
        role registers the commands and connects (bot/discord_gateway.py).
        """
        delay = 1.0
        while not self.is_closed():
            try:
                if not self.logged_in.is_set():
                    await self.login(token)
                if self._keeper is None:
                    await take_gateway(self.core)
                    self._keeper = asyncio.create_task(keep_gateway(self.core), name="gateway")
                await self._register()
                await self.connect(reconnect=True)
                return
            except asyncio.CancelledError:
                raise
            except discord.LoginFailure:
                await self._end("Discord refused DISCORD_BOT_TOKEN (401 Unauthorized)")
                raise
            except discord.PrivilegedIntentsRequired:
                await self._end("Discord wants privileged intents (gateway close 4014)")
                raise
            except discord.ConnectionClosed as exc:  # connect() closed the client: for good
                await self._end(_refusal(exc.code))
                raise
            except Exception as exc:
                if self.is_closed():
                    raise
                log.warning("could not connect to Discord; trying again in %.0f s", delay)
                log.debug("Discord connection failure", exc_info=exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)

    async def _end(self, reason: str) -> None:
        """Discord said no for good: say so once, stop sending, let go of the connection.

        Alerts for Discord channels stay in the ledger (the sender is no longer `ready`, so
        delivery claims none) for the next start with a token Discord accepts.
        """
        self.refusal = reason
        log.error("%s: the Discord front end is off", reason)
        self.logged_in.clear()
        await self.close()

    async def stop(self) -> None:
        """Stop holding the gateway, then close: discord.py's own order (`Client.run`).

        Closing first would let the connect loop, woken by the closed socket, dispatch its
        'disconnect' event on a client that no longer has a loop to run it on.
        """
        self.core.delivery.senders.pop(PLATFORM, None)
        for task in (self._runner, self._keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.close()


async def start_discord(core: Core) -> MatchdayDiscord:
    """Start the Discord front end on the running loop, sharing `core` (Telegram's, or its own).

    Login, slash-command registration and the gateway run in the background: a Discord
    outage never holds up Telegram, and Discord's alerts wait in the ledger until it is up.
    """
    token = core.settings.discord_token
    if not token:
        raise SettingsError("DISCORD_BOT_TOKEN is not set")
    use_api_url(core.settings.discord_api_url)
    use_gateway_url(core.settings.discord_gateway_url)
    client = MatchdayDiscord(core)
    client.start_background(token)
    return client


async def stop_discord(client: MatchdayDiscord | None) -> None:
    if client is not None:
        await client.stop()


async def run_discord(settings: Settings, clock: Clock) -> None:
    """`matchday run` with only DISCORD_BOT_TOKEN: Core, live engine, delivery and Discord."""
    core = await Core.open(settings, clock)
    client: MatchdayDiscord | None = None
    try:
        with stop_signals() as stopping:
            await core.start_without_job_queue()
            client = await start_discord(core)
            assert client.runner is not None
            try:  # until the gateway connection ends for good, or SIGTERM/SIGINT
                await until_either(asyncio.shield(client.runner), stopping)
            except (discord.LoginFailure, discord.ConnectionClosed,
                    discord.PrivilegedIntentsRequired) as exc:  # fmt: skip
                raise SettingsError(client.refusal or str(exc)) from exc
    finally:
        await core.stop()  # sends on the wire finish while Discord's HTTP client is open
        await stop_discord(client)
        await core.close()
