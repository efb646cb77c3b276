"""The Discord front end: rendering, the Manage Channels check, slash commands, and delivery
through discord.py's real HTTP client against the fake Discord REST API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route

from bot.clock import Clock
from bot.delivery import ChatLimits, Delivery, Outcome, RateGate
from bot.discord import (
    GUILD_KIND,
    OPTIONS,
    DiscordSender,
    build_tree,
    handle_command,
    run_discord,
    start_discord,
    stop_discord,
    suggest_followable,
    suggest_team,
    suggest_zone,
    use_api_url,
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
from handlers.commands import COMMANDS, dispatch
from storage.store import Chat, Store
from tests.conftest import NOW, ask, build_store
from tests.fake_discord import TOKEN, FakeDiscord, Fault
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


def core_for(store: Store, **env: str) -> Any:
    """What `handle_command` uses of Core: the store, clock, settings and its way in."""
    return SimpleNamespace(store=store, clock=Clock(NOW, 1.0), settings=Settings.load(env=env),
                           run=dispatch)  # fmt: skip


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


# -- delivery through discord.py's HTTP client, against the fake -----------------------------


class SpacingOff(RateGate):
    """Matchday's own per-chat spacing off, so discord.py alone keeps Discord's buckets."""

    def _chat_wait(self, chat: Chat, limits: ChatLimits, now: float) -> float:
        return 0.0


@pytest.fixture
async def fast_fake() -> AsyncIterator[FakeDiscord]:
    """Discord's 5-per-channel bucket, with a 1 s window to keep the suite quick."""
    async with FakeDiscord(bucket_limit=5, bucket_window=1.0) as fake:
        yield fake


@pytest.fixture
async def http(fast_fake: FakeDiscord) -> AsyncIterator[HTTPClient]:
    use_api_url(fast_fake.base_url)
    client = HTTPClient(asyncio.get_running_loop(), max_ratelimit_timeout=30)
    await client.static_login(fast_fake.token)
    try:
        yield client
    finally:
        await client.close()


async def seed(store: Store, channel_id: int, count: int, kind: str = GUILD_KIND) -> Chat:
    """A Discord channel with `count` goal alerts waiting in the ledger."""
    chat = await store.ensure_chat("discord", channel_id, kind, f"#{channel_id}", "UTC")
    match = await store._one("SELECT id FROM matches ORDER BY id LIMIT 1")
    assert match is not None
    async with store.transaction() as db:
        await db.executemany(
            "INSERT INTO alerts(chat_id, match_id, event, text, created_at) VALUES (?,?,?,?,?)",
            [(chat.id, match[0], f"goal:{channel_id}:{i}",
              f"⚽ Goal {i:02d} — <b>Japan</b> &amp; friends_{i}", "2018-07-02T19:05:00Z")
             for i in range(count)],
        )  # fmt: skip
    return chat


async def statuses(store: Store, chat: Chat) -> list[str]:
    rows = await store._all("SELECT status FROM alerts WHERE chat_id = ? ORDER BY id", (chat.id,))
    return [row[0] for row in rows]


def delivery_for(store: Store, http: HTTPClient) -> Delivery:
    return Delivery(store, {"discord": DiscordSender(http)}, Clock(NOW, 1.0), SpacingOff(1000.0))


async def drain(delivery: Delivery, store: Store) -> None:
    """Deliver until nothing deliverable is pending (callers bound it with a timeout).

    `Delivery.drain` alone may return while a chat's next row waits behind a sent mark not
    yet written; another pass then sends it.
    """
    while True:
        await delivery.drain()
        now = time.time()
        if not [r for r in await store.pending_alerts()
                if r.next_attempt_at is None or r.next_attempt_at <= now]:  # fmt: skip
            return


def expected(count: int) -> list[str]:
    return [f"⚽ Goal {i:02d} — **Japan** & friends\\_{i}" for i in range(count)]


async def test_thirty_alerts_to_one_channel_keep_its_bucket(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    chat = await seed(store, 501, 30)
    delivery = delivery_for(store, http)
    async with asyncio.timeout(30):
        await drain(delivery, store)
    assert fast_fake.texts(501) == expected(30)  # all of them, in order
    assert fast_fake.over_limit == 0  # discord.py waited on X-RateLimit-* every time
    assert set(fast_fake.statuses(501)) == {200}
    times = [p.time for p in fast_fake.posted]
    for i in range(len(times) - 5):  # never a sixth message within one bucket window
        assert times[i + 5] - times[i] >= 0.9, i
    assert await statuses(store, chat) == ["sent"] * 30
    assert fast_fake.posted[0].allowed_mentions == {"parse": []}


async def test_channels_have_their_own_buckets(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    channels = [511, 512, 513]
    for channel in channels:
        await seed(store, channel, 10)
    delivery = delivery_for(store, http)
    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(30):
        await drain(delivery, store)
    elapsed = asyncio.get_running_loop().time() - started
    assert fast_fake.over_limit == 0
    for channel in channels:
        assert fast_fake.texts(channel) == expected(10)
    assert elapsed < 4.5  # in parallel: one channel's wait holds up no other (serial: 5 s+)


async def test_429_retry_after_is_waited_out(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    chat = await seed(store, 502, 3)
    fast_fake.fail(502, Fault(429, retry_after=0.5))
    delivery = delivery_for(store, http)
    async with asyncio.timeout(20):
        await drain(delivery, store)
    assert fast_fake.statuses(502) == [429, 200, 200, 200]
    limited, retried = [r.time for r in fast_fake.requests if r.channel_id == 502][:2]
    assert retried - limited >= 0.49
    assert fast_fake.texts(502) == expected(3)  # nothing lost, nothing twice
    assert await statuses(store, chat) == ["sent"] * 3


async def test_global_429_holds_every_channel(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    for channel in (521, 522, 523):
        await seed(store, channel, 3)
    fast_fake.fail(None, Fault(429, retry_after=0.8, is_global=True))
    delivery = delivery_for(store, http)
    async with asyncio.timeout(20):
        await drain(delivery, store)
    for channel in (521, 522, 523):
        assert fast_fake.texts(channel) == expected(3)
    (limited,) = [r for r in fast_fake.requests if r.status == 429]
    # Requests already on their way may land; nothing new starts until the limit is over.
    during = [r for r in fast_fake.requests
              if limited.time + 0.2 < r.time < limited.time + 0.75]  # fmt: skip
    assert during == []


@pytest.mark.parametrize("gone", ["forbidden", "deleted"])
async def test_403_and_404_deactivate_the_channel(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient, gone: str
) -> None:
    lost = await seed(store, 503, 4)
    fine = await seed(store, 504, 2)
    getattr(fast_fake, gone).add(503)
    delivery = delivery_for(store, http)
    async with asyncio.timeout(20):
        await drain(delivery, store)
    assert fast_fake.statuses(503) == [403 if gone == "forbidden" else 404]  # asked once
    again = await store.chat("discord", 503)
    assert again is not None and not again.active
    assert await statuses(store, lost) == ["inactive"] * 4
    assert await statuses(store, fine) == ["sent"] * 2
    # A new command from the channel brings it back, as with a blocked Telegram chat.
    await handle_command(core_for(store), channel_id=503, is_dm=False, can_manage=False,
                         text="/live", title="#503")  # fmt: skip
    back = await store.chat("discord", 503)
    assert back is not None and back.active


async def test_500_is_retried_and_400_fails_one_message(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    chat = await seed(store, 505, 3)
    fast_fake.fail(505, Fault(500), Fault(200), Fault(400))  # 500, then fine, then refused
    delivery = delivery_for(store, http)
    async with asyncio.timeout(20):
        await drain(delivery, store)
    assert fast_fake.statuses(505) == [500, 200, 400, 200]
    assert await statuses(store, chat) == ["sent", "failed", "sent"]
    assert fast_fake.texts(505) == [expected(3)[0], expected(3)[2]]


async def test_sender_posts_markdown_and_buttons(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    chat = await store.ensure_chat("discord", 506, GUILD_KIND, "#506", "UTC")
    buttons = [[Button("Belgium", "/score Belgium"), Button("Japan", "/score Japan")]]
    result = await DiscordSender(http).send(chat, "<b>Which?</b> @everyone", buttons)
    assert result.outcome is Outcome.SENT and result.message_id == fast_fake.posted[0].id
    (posted,) = fast_fake.posted
    assert posted.content == "**Which?** @everyone"
    assert posted.allowed_mentions == {"parse": []}  # shown, never pinging anyone
    assert posted.custom_ids == ["/score Belgium", "/score Japan"]


class Raising:
    """An HTTP client whose send fails with `error`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def send_message(self, channel_id: int, *, params: Any) -> Any:
        raise self.error


def http_error(kind: type[discord.HTTPException], status: int, **headers: str) -> Any:
    response = SimpleNamespace(status=status, reason="x", headers=headers)
    return kind(response, {"message": "m", "code": 0})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (discord.RateLimited(120.0), Outcome.RETRY_AFTER),
        (http_error(discord.HTTPException, 429, **{"Retry-After": "7"}), Outcome.RETRY_AFTER),
        (http_error(discord.Forbidden, 403), Outcome.FORBIDDEN),
        (http_error(discord.NotFound, 404), Outcome.FORBIDDEN),
        (http_error(discord.DiscordServerError, 503), Outcome.TRANSIENT),
        (http_error(discord.HTTPException, 400), Outcome.REJECTED),
        (aiohttp.ClientConnectionError("refused"), Outcome.TRANSIENT),
        (TimeoutError(), Outcome.TRANSIENT),
    ],
)
async def test_sender_maps_every_discord_error(error: BaseException, outcome: Outcome) -> None:
    chat = Chat(1, "discord", 42, GUILD_KIND, "x", "UTC", (30,), True)
    result = await DiscordSender(Raising(error)).send(chat, "hi")  # type: ignore[arg-type]
    assert result.outcome is outcome
    if outcome is Outcome.RETRY_AFTER:
        assert result.retry_after in {120.0, 7.0}


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
        # Its alerts wait in the ledger, retried with backoff: never a spin, never a send.
        sender = core.delivery.senders["discord"]
        assert isinstance(sender, DiscordSender)
        sender.wait = 0.05
        chat = Chat(1, "discord", 42, GUILD_KIND, "x", "UTC", (30,), True)
        assert (await sender.send(chat, "hi")).outcome is Outcome.TRANSIENT
        assert fast_fake.posted == []
        await stop_discord(client)
        assert "discord" not in core.delivery.senders
    finally:
        await core.close()
