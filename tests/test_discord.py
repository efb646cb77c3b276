"""The Discord front end: rendering, the Manage Channels check, slash commands, and delivery
through discord.py's real HTTP client against the fake Discord REST API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.clock import Clock
from bot.delivery import Outcome
from bot.discord import DiscordSender, run_discord, start_discord, stop_discord
from bot.discord_commands import (
    GUILD_KIND,
    OPTIONS,
    build_tree,
    handle_command,
    suggest_followable,
    suggest_team,
    suggest_zone,
)
from bot.discord_render import (
    CUSTOM_ID_LIMIT,
    DISCORD_LIMIT,
    components,
    escape_markdown,
    render,
    to_markdown,
)
from bot.settings import Settings
from handlers.base import Button, Reply
from handlers.commands import COMMANDS
from storage.store import Chat, Store
from tests.conftest import NOW, ask, build_store
from tests.discord_harness import core_for
from tests.discord_harness import fast_fake as fast_fake
from tests.fake_discord import TOKEN, FakeDiscord
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import running_bot

GUILD_CHANNEL = 700_000_000_000_000_001
DM_CHANNEL = 700_000_000_000_000_002


@pytest.fixture(autouse=True)
def _restore_addresses() -> Any:
    """Route.BASE and the gateway are discord.py's process-wide addresses: each test that
    changes them gets them back; the gateway points at loopback, where nothing answers it."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL("ws://127.0.0.1:9/no-gateway-offline/")
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


# -- rendering -------------------------------------------------------------------------------


def test_html_subset_becomes_discord_markdown() -> None:
    assert to_markdown("<b>Belgium 3–2 Japan</b>") == "**Belgium 3–2 Japan**"
    assert to_markdown("<i>after extra time</i>") == "*after extra time*"
    assert to_markdown("<u>u</u> <s>s</s>") == "__u__ ~~s~~"
    assert to_markdown("try <code>/score Belgium</code>") == "try `/score Belgium`"
    assert to_markdown("<b><i>both</i></b>") == "***both***"
    assert to_markdown('<a href="https://example.org/x">the site</a>') == (
        "[the site](<https://example.org/x>)"
    )
    assert to_markdown('<a href="https://example.org/">https://example.org/</a>') == (
        "https://example.org/"
    )
    table = "<pre>Team  P Pts\nBEL   3   9\n</pre>\nnext line"
    assert to_markdown(table) == "```\nTeam  P Pts\nBEL   3   9\n```\nnext line"
    assert to_markdown("<b></b>x<code></code>") == "x"  # empty markup shows no stray marks


def test_entities_are_unescaped_and_markdown_is_escaped() -> None:
    assert to_markdown("&lt;b&gt; &amp; co") == "\\<b\\> & co"
    assert to_markdown("a*b_c~d`e|f") == "a\\*b\\_c\\~d\\`e\\|f"
    assert escape_markdown("[x](y) \\") == "\\[x\\](y) \\\\"
    # What Discord reads at the start of a line: headings, lists, quotes, numbered lists.
    assert to_markdown("# 1\n- two\n> three\n1. Belgium") == (
        "\\# 1\n\\- two\n\\> three\n1\\. Belgium"
    )
    assert to_markdown("<b>Group</b> - B") == "**Group** - B"  # not at a line start
    # A user's echo can neither mention nor format: `<@1>` and `@everyone` stay text.
    assert to_markdown("“&lt;@123&gt; @everyone”") == "“\\<@123\\> @everyone”"
    # Code shows its text raw; a backtick cannot end it early.
    assert to_markdown("<code>a_b*c`d</code>") == "`a_b*cˋd`"
    assert to_markdown("<pre>x```y</pre>") == "```\nxˋˋˋy\n```"


def test_long_replies_are_clipped_on_line_boundaries() -> None:
    lines = [f"line {i:03d} <b>Japan</b> 2–3 Belgium" for i in range(200)]
    content, _ = render(Reply("\n".join(lines)))
    assert len(content) <= DISCORD_LIMIT
    kept = content.split("\n")
    assert kept[-1] == "…"
    wanted = [to_markdown(line) for line in lines]
    assert kept[:-1] == wanted[: len(kept) - 1]  # whole lines, in order


def test_clipping_keeps_code_blocks_closed() -> None:
    rows = "\n".join(f"TEAM{i:03d}  3  2  1  0  9" for i in range(150))
    content, _ = render(Reply(f"<b>Table</b>\n<pre>{rows}</pre>"))
    assert len(content) <= DISCORD_LIMIT
    assert content.count("```") % 2 == 0
    # Two tables, the second too long for what is left: it is dropped whole.
    short = "\n".join(f"A{i}  1" for i in range(5))
    content, _ = render(Reply(f"<pre>{short}</pre>\n<pre>{rows}</pre>"))
    assert content == f"```\n{short}\n```\n…"


def test_buttons_become_component_rows() -> None:
    choices = tuple((Button(f"Team {i}", f"/score Team {i}"),) for i in range(7))
    content, view = render(Reply("Which one?", choices))
    rows = components(view)
    assert [len(r["components"]) for r in rows] == [5, 2]  # seven choices, none dropped
    assert all(r["type"] == 1 for r in rows)
    assert [c["custom_id"] for r in rows for c in r["components"]] == [
        f"/score Team {i}" for i in range(7)
    ]
    assert content == "Which one?"
    too_long = "/score " + "x" * CUSTOM_ID_LIMIT
    buttons = ((Button("a", too_long), Button("b", "/live")), (Button("c", "/live"),),
               (Button("L" * 120, "/help"),))  # fmt: skip
    _, view = render(Reply("x", buttons))
    (row0, row1) = components(view)
    assert [c["custom_id"] for c in row0["components"]] == ["/live"]  # too long; repeated
    assert row1["components"][0]["label"] == "L" * 79 + "…"
    assert render(Reply("x", ((Button("a", too_long),),)))[1] is None
    assert render(Reply("no buttons"))[1] is None


async def test_every_handler_reply_renders_within_discord_limits(store: Store) -> None:
    texts = ["/help", "/start", "/score Belgium", "/scorers Belgium", "/next Belgium",
             "/fixtures Japan", "/results BRA", "/live", "/table", "/table Group H",
             "/topscorers", "/following", "/settings", "/score a", "/follow belgum"]  # fmt: skip
    for text in texts:
        reply = await ask(store, text)
        content, view = render(reply)
        assert 0 < len(content) <= DISCORD_LIMIT, text
        assert content.count("```") % 2 == 0, text
        assert not re.search(r"</?(b|i|code|pre|a)\b", content), (text, content)
        assert "&lt;" not in content and "&amp;" not in content, text
        if reply.buttons:
            assert view is not None and components(view), text


# -- commands and the Manage Channels check --------------------------------------------------


async def test_only_manage_channels_changes_a_server_channel(store: Store) -> None:
    core = core_for(store)
    member = {"channel_id": GUILD_CHANNEL, "is_dm": False, "can_manage": False,
              "title": "football"}  # fmt: skip
    for text in ("/follow Japan", "/unfollow Japan", "/remind 60", "/timezone Europe/Brussels"):
        reply = await handle_command(core, text=text, **member)
        assert "Only this group's administrators" in reply.text, text
    chat = await store.chat("discord", GUILD_CHANNEL)
    assert chat is not None and chat.kind == GUILD_KIND and chat.is_group
    assert chat.title == "football"
    assert await store.follows(chat.id) == []
    # Reading is for everyone.
    score = await handle_command(core, text="/score Belgium", **member)
    assert "Belgium" in score.text and "administrators" not in score.text
    # A member with Manage Channels may.
    reply = await handle_command(core, text="/follow Japan", **{**member, "can_manage": True})
    assert "administrators" not in reply.text
    assert [f.name for f in await store.follows(chat.id)] == ["Japan"]


async def test_a_direct_message_decides_alone(store: Store) -> None:
    core = core_for(store)
    reply = await handle_command(core, channel_id=DM_CHANNEL, is_dm=True, can_manage=False,
                                 text="/follow Japan", title="@fan")  # fmt: skip
    assert "administrators" not in reply.text
    chat = await store.chat("discord", DM_CHANNEL)
    assert chat is not None and chat.kind == "private" and not chat.is_group
    assert [f.name for f in await store.follows(chat.id)] == ["Japan"]


async def test_slash_commands_map_their_option_to_the_command_text(store: Store) -> None:
    core = core_for(store)
    tree = build_tree(discord.Client(intents=discord.Intents.none()), core)
    menu = [c.name for c in COMMANDS if c.menu]
    assert sorted(c.name for c in tree.get_commands()) == sorted(menu)
    for command in tree.get_commands():
        assert isinstance(command, discord.app_commands.Command)
        options = command.to_dict(tree).get("options", [])
        if command.name in OPTIONS:
            (option,) = options
            assert option["name"] == OPTIONS[command.name][0]
            assert option["type"] == discord.AppCommandOptionType.string.value
            assert option["required"] is False
        else:
            assert options == []
    assert tree.get_command("score").to_dict(tree)["options"][0]["autocomplete"] is True
    # What users see of them, through the gateway: tests/test_discord_e2e.py.


async def test_team_autocomplete(store: Store) -> None:
    core = core_for(store)
    assert (await suggest_team(core, "bel"))[0] == "Belgium"
    assert "Belgium" in await suggest_team(core, "belgum")
    assert (await suggest_team(core, "JPN"))[0] == "Japan"
    assert len(await suggest_team(core, "")) == 25
    assert "World Cup 2018" in " ".join(await suggest_followable(core, "world"))
    assert (await suggest_zone(core, "europe/bru"))[0] == "Europe/Brussels"


# -- the front end, started as `matchday run` starts it ---------------------------------------

BEFORE_HARAGUCHI = datetime(2018, 7, 2, 19, 4, 57, tzinfo=UTC)  # his 48' shows at 19:05:00Z


async def followers(db: Path, *chats: tuple[str, int, str]) -> None:
    """A fresh database where each (platform, external id, kind) chat follows Japan."""
    store = await build_store(db, BEFORE_HARAGUCHI)
    try:
        (japan,) = [t for t in await store.teams() if t.name == "Japan"]
        for platform, external_id, kind in chats:
            chat = await store.ensure_chat(platform, external_id, kind, "fans", "UTC")
            await store.set_reminders(chat.id, [])
            await store.follow(chat.id, "team", japan.id, BEFORE_HARAGUCHI)
    finally:
        await store.close()


def goal_in(texts: list[str]) -> bool:
    return any("Haraguchi 48'" in text for text in texts)


def discord_env(fake: FakeDiscord, db: Path) -> dict[str, str]:
    return {"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_API_URL": fake.base_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url, "MATCHDAY_DB": str(db),
            "MATCHDAY_POLL_SECONDS": "1"}  # fmt: skip


async def test_discord_only_run_registers_commands_and_delivers_a_live_goal(
    fast_fake: FakeDiscord, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    await followers(db, ("discord", 601, GUILD_KIND))
    settings = Settings.load(env=discord_env(fast_fake, db))
    task = asyncio.create_task(run_discord(settings, Clock(BEFORE_HARAGUCHI, 1.0)))
    try:
        await fast_fake.wait_for(lambda: goal_in(fast_fake.texts(601)) and fast_fake.commands)
        names = {c["name"] for c in fast_fake.commands}
        assert names == {c.name for c in COMMANDS if c.menu}
        score = next(c for c in fast_fake.commands if c["name"] == "score")
        assert score["options"][0]["name"] == "team" and score["options"][0]["autocomplete"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert next(t for t in fast_fake.texts(601) if "Haraguchi 48'" in t).startswith("⚽")


async def test_telegram_and_discord_share_one_core(
    fake_telegram: FakeTelegram, fast_fake: FakeDiscord, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    await followers(db, ("discord", 602, GUILD_KIND), ("telegram", 77, "private"))
    fake_telegram.register_chat(77)  # a follower has talked to the bot: Telegram knows it
    extra = discord_env(fast_fake, db)
    extra.pop("MATCHDAY_DB")
    async with running_bot(fake_telegram, db, now=BEFORE_HARAGUCHI, **extra) as application:
        core = application.bot_data["core"]
        assert set(core.delivery.senders) == {"telegram", "discord"}
        await fast_fake.wait_for(lambda: goal_in(fast_fake.texts(602)))
        await fake_telegram.wait_for(lambda: goal_in([s.text for s in fake_telegram.sent]),
                                     timeout=60)  # fmt: skip
        fake_telegram.push_message(77, "/score Japan")  # Telegram still answers
        await fake_telegram.wait_for_messages(77, 2)
    assert "discord" not in application.bot_data


async def test_a_refused_token_stops_only_discord(fast_fake: FakeDiscord, tmp_path: Path) -> None:
    from bot.core import Core

    env = {**discord_env(fast_fake, tmp_path / "x.db"), "DISCORD_BOT_TOKEN": "wrong"}
    core = await Core.open(Settings.load(env=env), Clock(NOW, 1.0))
    try:
        client = await start_discord(core)
        assert client.runner is not None
        with pytest.raises(discord.LoginFailure):
            await client.runner
        # Its alerts wait in the ledger, unclaimed (no send slot held): never a spin or a send.
        sender = core.delivery.senders["discord"]
        assert isinstance(sender, DiscordSender) and not sender.ready
        chat = Chat(1, "discord", 42, GUILD_KIND, "x", "UTC", (30,), True)
        assert (await sender.send(chat, "hi")).outcome is Outcome.TRANSIENT
        assert fast_fake.posted == []
        await stop_discord(client)
        assert "discord" not in core.delivery.senders
    finally:
        await core.close()
