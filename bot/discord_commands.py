"""Discord's slash commands, autocomplete and buttons, mapped onto the shared handlers.

A slash command `/name option:value` is the text `/name value`, handled exactly as on
Telegram; a button press is the command text in its custom_id. Discord wants a first answer
within 3 seconds: a reply not ready after `DEFER_AFTER` is deferred, then follows up by the
interaction's webhook. In a server channel only members with Manage Channels (the bit in
the interaction's `member.permissions`) change what it follows; in a DM the user decides.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from bot.core import Core
from bot.discord_render import render
from handlers.base import Reply, Request
from handlers.commands import COMMANDS, parse_command
from handlers.lookup import competitions_of, teams_of
from handlers.names import Target, suggest
from handlers.zones import portable_zones

log = logging.getLogger("matchday.discord")

PLATFORM = "discord"
GUILD_KIND = "group"  # a server channel: many members, admin-only changes (Chat.is_group)
DM_KIND = "private"
DEFER_AFTER = 2.0  # Discord wants an answer within 3 s; a slower reply is deferred first
MAX_CHOICES = 25  # autocomplete suggestions Discord shows
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


_ZONES = sorted(portable_zones())  # what /timezone accepts: no host-only names like localtime


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
