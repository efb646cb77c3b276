"""The Discord front end: slash commands and button presses in, `Request`s to the handlers,
replies and alerts out — the same handlers, store, live engine and ledger as Telegram.

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
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from zoneinfo import available_timezones

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route, handle_message_parameters

from bot.clock import Clock
from bot.core import Core
from bot.delivery import ChatLimits, Outcome, Sender, SendResult
from bot.discord_render import render
from bot.settings import Settings, SettingsError
from handlers.base import Button, Reply, Request
from handlers.commands import COMMANDS, parse_command
from handlers.lookup import competitions_of, teams_of
from handlers.names import Target, suggest
from storage.store import Chat

log = logging.getLogger("matchday.discord")

PLATFORM = "discord"
GUILD_KIND = "group"  # a server channel: many members, admin-only changes (Chat.is_group)
DM_KIND = "private"
MAX_RATELIMIT_WAIT = 30.0  # longer waits come back as RETRY_AFTER (30 is discord.py's minimum)
DEFER_AFTER = 2.0  # Discord wants an answer within 3 s; a slower reply is deferred first
MAX_CHOICES = 25  # autocomplete suggestions Discord shows
BACKOFF_CAP = 300.0  # seconds between attempts to reach Discord at start-up
LOGIN_WAIT = 5.0  # seconds an alert waits for the login before it is retried later
NO_MENTIONS = discord.AllowedMentions.none()  # a user's echoed words never ping anyone

# The one option each menu command takes, and what it is called in Discord's UI.
OPTIONS: dict[str, tuple[str, str]] = {
    "score": ("team", "Team name or FIFA code"),
    "scorers": ("team", "Team name or FIFA code"),
    "next": ("team", "Team name or FIFA code"),
    "fixtures": ("team", "Team name or FIFA code"),
    "results": ("team", "Team name or FIFA code"),
    "follow": ("team", "Team or competition"),
    "unfollow": ("team", "Team or competition"),
    "table": ("group", "Group or competition, e.g. Group H"),
    "topscorers": ("competition", "Competition, e.g. World Cup"),
    "remind": ("minutes", "Minutes before kick-off, e.g. 60 15, or off"),
    "timezone": ("zone", "IANA time zone, e.g. Europe/Brussels"),
}
NOT_A_COMMAND = Reply("I answer commands — try <code>/score Belgium</code> or /help.")


def use_api_url(api_url: str) -> None:
    """Send every REST call (and interaction response) to `api_url` (DISCORD_API_URL)."""
    Route.BASE = api_url.rstrip("/")


def use_gateway_url(gateway_url: str) -> None:
    """Open the websocket gateway at `gateway_url` (DISCORD_GATEWAY_URL).

    `Client.connect` dials `DiscordWebSocket.DEFAULT_GATEWAY` for a new session and goes back
    to it whenever Discord invalidates one; a resume goes to the session's own
    `resume_gateway_url` from READY. So this class attribute, process-wide like `Route.BASE`,
    is where discord.py takes the address from: setting it is what makes a proxy (or the
    test suite's fake Discord) reachable without touching the library's connect loop.
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

    `logged_in`, when given, is set once the client has logged in: until then a send waits
    up to `wait` seconds for it, then counts as a transient failure (retried with backoff),
    so alerts queued while Discord is unreachable at start-up wait in the ledger.
    """

    platform = PLATFORM
    # A channel takes 5 messages per 5 s (discord.py keeps that bucket); no per-minute cap
    # like Telegram's groups. One a second keeps alerts from piling up behind the bucket.
    limits = ChatLimits(interval=1.0, group_per_minute=None)

    def __init__(
        self, http: HTTPClient, logged_in: asyncio.Event | None = None, wait: float = LOGIN_WAIT
    ) -> None:
        self.http = http
        self.logged_in = logged_in
        self.wait = wait

    async def send(
        self, chat: Chat, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> SendResult:
        if self.logged_in is not None and not self.logged_in.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.logged_in.wait(), self.wait)
            if not self.logged_in.is_set():
                return SendResult(Outcome.TRANSIENT, error="not logged in to Discord (yet)")
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
            return SendResult(Outcome.REJECTED, error=f"{exc.status} {exc.text}".strip())
        except TimeoutError:
            # The request left; Discord may have posted it. Retrying errs towards a repeat
            # rather than a lost alert (see bot/delivery.py).
            return SendResult(Outcome.TRANSIENT, error="timed out")
        except (aiohttp.ClientError, OSError) as exc:
            return SendResult(Outcome.TRANSIENT, error=f"{type(exc).__name__}: {exc}")
        message_id = message.get("id") if isinstance(message, dict) else None
        return SendResult(Outcome.SENT, message_id=int(message_id) if message_id else None)


# -- commands --------------------------------------------------------------------------------


async def handle_command(
    core: Core,
    *,
    channel_id: int,
    is_dm: bool,
    can_manage: bool,
    text: str,
    user_id: int = 0,
    title: str | None = None,
) -> Reply:
    """One command from a Discord channel, run by the shared handlers.

    In a server channel only members with Manage Channels may change its follows and
    settings (the handlers ask `is_admin`); in a direct message the user decides alone.
    """
    parsed = parse_command(text)
    if parsed is None:
        return NOT_A_COMMAND
    command, args = parsed
    kind = DM_KIND if is_dm else GUILD_KIND
    chat = await core.store.ensure_chat(PLATFORM, channel_id, kind, title,
                                        core.settings.timezone)  # fmt: skip

    async def is_admin() -> bool:
        return is_dm or can_manage

    request = Request(command, args, chat, user_id, core.store, core.clock, core.settings,
                      is_admin)  # fmt: skip
    return await core.run(request)


def _facts(interaction: discord.Interaction) -> dict:
    """What `handle_command` needs to know about where and by whom an interaction came."""
    is_dm = interaction.guild_id is None
    channel = interaction.channel
    title = getattr(channel, "name", None) or (
        f"@{interaction.user.name}" if is_dm and interaction.user else None)  # fmt: skip
    return {
        "channel_id": int(interaction.channel_id or 0),
        "is_dm": is_dm,
        "can_manage": bool(interaction.permissions.manage_channels),
        "user_id": interaction.user.id if interaction.user else 0,
        "title": title,
    }


async def answer(core: Core, interaction: discord.Interaction, text: str) -> None:
    """Run `text` for this interaction and reply to it, deferring first if it is slow."""
    task = asyncio.ensure_future(handle_command(core, text=text, **_facts(interaction)))
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
    try:
        if not done:
            await interaction.response.defer(thinking=True)
        reply = await task
        content, view = render(reply)
        extra = {"view": view} if view is not None else {}
        if interaction.response.is_done():
            await interaction.followup.send(content, allowed_mentions=NO_MENTIONS, **extra)
        else:
            await interaction.response.send_message(content, allowed_mentions=NO_MENTIONS,
                                                    **extra)  # fmt: skip
    except discord.HTTPException as exc:  # the interaction expired, or Discord is down
        log.warning("could not answer %r in channel %s: %s", text, interaction.channel_id, exc)
    finally:
        task.cancel()


Suggester = Callable[[Core, str], Awaitable[list[str]]]


async def _teams(core: Core) -> list[Target]:
    return await teams_of(core.store)


async def _competitions(core: Core) -> list[Target]:
    return await competitions_of(core.store)


async def suggest_team(core: Core, current: str) -> list[str]:
    return suggest(current, await _teams(core), MAX_CHOICES)


async def suggest_followable(core: Core, current: str) -> list[str]:
    return suggest(current, await _teams(core) + await _competitions(core), MAX_CHOICES)


async def suggest_competition(core: Core, current: str) -> list[str]:
    return suggest(current, await _competitions(core), MAX_CHOICES)


async def suggest_group(core: Core, current: str) -> list[str]:
    comps = await _competitions(core)
    groups = sorted({g for c in comps for g in await core.store.groups(c.id)})
    groups_as_targets = [Target("group", i, g) for i, g in enumerate(groups)]
    return suggest(current, comps + groups_as_targets, MAX_CHOICES)


_ZONES = sorted(available_timezones())


async def suggest_zone(core: Core, current: str) -> list[str]:
    wanted = current.strip().casefold().replace(" ", "_")
    hits = [z for z in _ZONES if z.casefold().startswith(wanted)]
    hits += [z for z in _ZONES if wanted in z.casefold() and z not in hits]
    return hits[:MAX_CHOICES]


SUGGESTERS: dict[str, Suggester] = {
    "score": suggest_team, "scorers": suggest_team, "next": suggest_team,
    "fixtures": suggest_team, "results": suggest_team,
    "follow": suggest_followable, "unfollow": suggest_followable,
    "table": suggest_group, "topscorers": suggest_competition, "timezone": suggest_zone,
}  # fmt: skip


def _slash_command(core: Core, name: str, summary: str) -> app_commands.Command:
    """`/name [option]` → the text `/name value`, handled exactly as on Telegram."""
    option = OPTIONS.get(name)

    async def callback(interaction: discord.Interaction, **values: str | None) -> None:
        value = (values.get(option[0]) or "") if option else ""
        await answer(core, interaction, f"/{name} {value}".strip())

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=discord.Interaction)]  # fmt: skip
    if option:
        parameters.append(inspect.Parameter(option[0], inspect.Parameter.KEYWORD_ONLY,
                                            default=None, annotation=str | None))  # fmt: skip
        callback.__discord_app_commands_param_description__ = {option[0]: option[1]}  # type: ignore[attr-defined]
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command = app_commands.Command(name=name, description=summary[:100], callback=callback)
    if option and name in SUGGESTERS:
        suggester = SUGGESTERS[name]

        async def complete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            names = await suggester(core, current[:100])
            return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names]

        command.autocomplete(option[0])(complete)
    return command


def build_tree(client: discord.Client, core: Core) -> app_commands.CommandTree:
    """Every menu command of COMMANDS as a slash command."""
    tree = app_commands.CommandTree(client)
    for command in COMMANDS:
        if command.menu:
            tree.add_command(_slash_command(core, command.name, command.summary))
    return tree


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
        # Registered now, not at login: delivery then never spins on rows it has no sender for.
        core.add_sender(DiscordSender(self.http, self.logged_in))

    async def setup_hook(self) -> None:
        """Logged in: alerts may go out; register the slash commands."""
        self.logged_in.set()
        try:
            synced = await self.tree.sync()
            log.info("registered %d Discord slash commands", len(synced))
        except discord.HTTPException as exc:  # the commands registered last time still work
            log.error("could not register the Discord slash commands: %s", exc)

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
        """
        delay = 1.0
        while not self.is_closed():
            try:
                if not self.logged_in.is_set():
                    await self.login(token)
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

        Alerts for Discord channels stay in the ledger (the sender answers "not logged in")
        for the next start with a token Discord accepts.
        """
        log.error("%s: the Discord front end is off", reason)
        self.logged_in.clear()
        await self.close()

    async def stop(self) -> None:
        self.core.delivery.senders.pop(PLATFORM, None)
        await self.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner


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
        await core.start_without_job_queue()
        client = await start_discord(core)
        assert client.runner is not None
        try:
            await client.runner  # until the gateway connection ends for good
        except discord.LoginFailure as exc:
            raise SettingsError("DISCORD_BOT_TOKEN: Discord refused this token") from exc
        except discord.ConnectionClosed as exc:
            raise SettingsError(_refusal(exc.code)) from exc
    finally:
        await stop_discord(client)
        await core.close()
