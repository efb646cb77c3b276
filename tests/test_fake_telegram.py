"""Proves the fake Bot API speaks the wire format PTB 22's real request layer expects.

Every test drives a real ``telegram.Bot`` (or ``Application``) over HTTP, so a passing test
means PTB's own encoding and error mapping accepted the fake's answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import time
import warnings
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from tests.fake_telegram import (
    FakeError,
    FakeTelegram,
    ManualClock,
    lenient,
    parse_telegram_html,
)

# The redundant alias marks an explicit re-export: no F401 here and no F811 at the use site.
from tests.fake_telegram import fake_telegram as fake_telegram

pytestmark = [
    pytest.mark.timeout(10),
    # PTB 22 itself reads RetryAfter.retry_after in __init__, which warns unless PTB_TIMEDELTA=1.
    pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"),
]

PRIVATE = 4242
GROUP = -1001234567890  # a supergroup id


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A fresh server per test: no state leaks between tests. Its clock moves only by hand,
    so flood control and query expiry never depend on how busy the machine is."""
    async with FakeTelegram(clock=ManualClock()) as server:
        server.register_chats([PRIVATE, GROUP])  # chats that have talked to the bot before
        yield server


@pytest_asyncio.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A real PTB Bot pointed at the fake (initialize() already called getMe)."""
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


def retry_seconds(exc: RetryAfter) -> float:
    """PTB 22 returns int (deprecated) or timedelta (PTB_TIMEDELTA=1) for retry_after."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# ------------------------------------------------------------------ basics
async def test_send_message_round_trip_is_recorded(fake: FakeTelegram, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Table", callback_data="table:pl")]])
    msg = await bot.send_message(
        PRIVATE, "Hello <b>Arsenal</b>", parse_mode="HTML", reply_markup=markup
    )

    assert msg.text == "Hello Arsenal"
    assert msg.chat.id == PRIVATE and msg.from_user and msg.from_user.is_bot
    (bold,) = msg.entities
    assert (bold.type, bold.offset, bold.length) == ("bold", 6, 7)
    assert msg.reply_markup == markup
    second = await bot.send_message(PRIVATE, "again")
    assert second.message_id == msg.message_id + 1

    assert fake.messages_to(PRIVATE) == ["Hello <b>Arsenal</b>", "again"]
    assert fake.messages_to(PRIVATE, visible=True) == ["Hello Arsenal", "again"]
    sent = fake.sent[0]
    assert (sent.chat_id, sent.parse_mode, sent.message_id) == (PRIVATE, "HTML", msg.message_id)
    assert sent.reply_markup == {
        "inline_keyboard": [[{"text": "Table", "callback_data": "table:pl"}]]
    }
    call = fake.calls("sendMessage")[0]
    assert call.status == 200 and call.params["chat_id"] == PRIVATE
    assert [r.method for r in fake.requests][:1] == ["getMe"]


async def test_wait_for_messages_reports_what_arrived(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(PRIVATE, "one")
    assert await fake.wait_for_messages(PRIVATE, 1, timeout=1) == ["one"]
    with pytest.raises(AssertionError, match="'one'"):
        await fake.wait_for_messages(PRIVATE, 2, timeout=0.2)


async def test_edit_message_text_and_not_modified(fake: FakeTelegram, bot: Bot) -> None:
    msg = await bot.send_message(GROUP, "0-0")
    edited = await bot.edit_message_text("1-0", chat_id=GROUP, message_id=msg.message_id)
    assert edited.text == "1-0" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("1-0", chat_id=GROUP, message_id=msg.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=999)
    assert fake.messages_to(GROUP, include_edits=True) == ["0-0", "1-0"]


# ------------------------------------------------------------------ HTML and length
async def test_valid_nested_html_passes(bot: Bot) -> None:
    text = (
        '<b>bold <i>both <u>all</u></i></b> <a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler> <code>c</code> '
        '<pre><code class="language-python">p</code></pre> <blockquote expandable>q</blockquote> '
        "&lt;&gt;&amp;&quot;&#33;&#x21;"
    )
    msg = await bot.send_message(PRIVATE, text, parse_mode="HTML")
    assert msg.text == 'bold both all link s t c p q <>&"!!'
    types = {e.type for e in msg.entities}
    assert {"bold", "italic", "underline", "text_link", "spoiler", "code", "pre"} <= types
    assert "expandable_blockquote" in types
    link = next(e for e in msg.entities if e.type == "text_link")
    assert link.url == "https://x.org/?a=1&b=2"
    pre = next(e for e in msg.entities if e.type == "pre")
    assert pre.language == "python"


@pytest.mark.parametrize(
    "text",
    ["a < b", "Tom & Jerry", "<script>alert(1)</script>", "<b>x", "<b>x</i>", "1 > 0", "</b>"],
)
async def test_invalid_html_is_rejected(fake: FakeTelegram, bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(PRIVATE, text, parse_mode="HTML")
    assert fake.sent == []
    assert fake.calls("sendMessage")[-1].status == 400


async def test_plain_text_is_not_parsed(bot: Bot) -> None:
    msg = await bot.send_message(PRIVATE, "a < b & <script>")
    assert msg.text == "a < b & <script>"


@pytest.mark.parametrize("text", ["", "   \n "])
async def test_empty_text_is_rejected(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(PRIVATE, text)


async def test_length_limit_counts_visible_characters(bot: Bot) -> None:
    await bot.send_message(PRIVATE, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(PRIVATE, "x" * 4097)
    # Tags are free and an entity is one character.
    await bot.send_message(PRIVATE, "<b>" + "x" * 4095 + "</b>&lt;", parse_mode="HTML")
    msg = await bot.send_message(PRIVATE, "&lt;" * 4096, parse_mode="HTML")
    assert msg.text == "<" * 4096
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(PRIVATE, "&lt;" * 4097, parse_mode="HTML")


def test_parser_reports_utf16_entity_offsets() -> None:
    visible, entities = parse_telegram_html("⚽🏆 <b>goal</b>")
    assert visible == "⚽🏆 goal"
    assert entities == [{"type": "bold", "offset": 4, "length": 4}]


async def test_callback_data_limit(bot: Bot) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="x" * 64)]])
    await bot.send_message(PRIVATE, "fits", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(PRIVATE, "66 bytes", reply_markup=too_long)


# ------------------------------------------------------------------ scripted faults
async def test_retry_after_maps_to_ptb_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", error=FakeError.retry_after(7))
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(PRIVATE, "x")
    assert retry_seconds(info.value) == 7
    assert fake.calls("sendMessage")[-1].status == 429
    await bot.send_message(PRIVATE, "consumed, so this one passes")


async def test_faults_are_restricted_by_chat_and_consumed_in_order(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.fail_next(chat_id=GROUP, times=2, error=FakeError.server_error(502))
    fake.fail_next(chat_id=GROUP, error=FakeError.forbidden())
    await bot.send_message(PRIVATE, "other chat unaffected")
    for _ in range(2):
        with pytest.raises(NetworkError) as info:
            await bot.send_message(GROUP, "x")
        assert type(info.value) is NetworkError  # not BadRequest/TimedOut subclasses
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(GROUP, "x")
    await bot.send_message(GROUP, "all consumed")
    assert fake.messages_to(GROUP) == ["all consumed"]


async def test_migrate_maps_to_chat_migrated(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next(error=FakeError.migrate(-1009999))
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-77, "x")
    assert info.value.new_chat_id == -1009999
    fake.migrate_chat(-78, -1008888)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-78, "x")
    assert info.value.new_chat_id == -1008888


async def test_block_answers_forbidden_until_unblocked(fake: FakeTelegram, bot: Bot) -> None:
    fake.block(PRIVATE)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(PRIVATE, "x")
    fake.block(GROUP)
    with pytest.raises(Forbidden, match="kicked from the supergroup"):
        await bot.send_message(GROUP, "x")
    fake.unblock(PRIVATE)
    await bot.send_message(PRIVATE, "back")


async def test_bad_request_fault(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next(error=FakeError.bad_request("chat not found"))
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(PRIVATE, "x")


async def test_timeout_fault_times_out_but_message_arrives(fake: FakeTelegram) -> None:
    fake.fail_next(error=FakeError.timeout(1.0))
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(fake.token, base_url=fake.base_url, request=request) as bot:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(PRIVATE, "did it arrive?")
        assert time.monotonic() - started < 0.9
    assert fake.messages_to(PRIVATE) == ["did it arrive?"]


async def test_drop_connection_is_a_network_error(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next(error=FakeError.drop_connection())
    with pytest.raises(NetworkError):
        await bot.send_message(PRIVATE, "lost")
    assert fake.sent == []
    assert fake.calls("sendMessage")[-1].status is None
    await bot.send_message(PRIVATE, "next call works")


async def test_wrong_token_is_invalid_token(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=fake.base_url):
            pass
    assert fake.requests[-1].status == 401


async def test_unknown_method_is_404(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})


async def test_odd_bodies_get_400_not_a_crash(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{fake.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/sendMessage", data=b"{nope", headers={"Content-Type": "application/json"}
        ) as resp:
            body = await resp.json()
            assert resp.status == 400 and body["ok"] is False and body["error_code"] == 400
        async with http.post(f"{url}/sendMessage", json={"chat_id": "abc", "text": "x"}) as resp:
            assert resp.status == 400
        async with http.post(
            f"{url}/sendMessage",
            json={
                "chat_id": PRIVATE,
                "text": "json body",
                "reply_markup": {"remove_keyboard": True},
            },
        ) as resp:
            body = await resp.json()
            assert resp.status == 200 and body["result"]["text"] == "json body"
        async with http.get(f"{url}/getMe") as resp:
            assert (await resp.json())["result"]["username"] == fake.bot_username


# ------------------------------------------------------------------ chat members, commands
async def test_get_chat_member_reflects_set_admins(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_admins(GROUP, [11, 12], creator=10)
    assert (await bot.get_chat_member(GROUP, 11)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, 10)).status == "creator"
    assert (await bot.get_chat_member(GROUP, 99)).status == "member"
    admins = await bot.get_chat_administrators(GROUP)
    assert [m.user.id for m in admins] == [10, 11, 12]
    chat = await bot.get_chat(GROUP)
    assert chat.type == "supergroup"


async def test_set_my_commands_is_stored(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("table", "League table")])
    await bot.set_my_commands([BotCommand("admin", "Admin")], scope=BotCommandScopeChat(GROUP))
    assert fake.commands_for() == [
        {"command": "start", "description": "Start"},
        {"command": "table", "description": "League table"},
    ]
    assert fake.commands_for({"type": "chat", "chat_id": GROUP}) == [
        {"command": "admin", "description": "Admin"}
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "table"]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


# ------------------------------------------------------------------ long polling
async def test_get_updates_returns_pushed_message_promptly(fake: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    pushed = fake.push_message(GROUP, "/table@matchday_test_bot pl", user_id=7, title="Lads")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    (update,) = updates
    assert update.update_id == pushed["update_id"]
    msg = update.message
    assert msg is not None and msg.text == "/table@matchday_test_bot pl"
    assert msg.chat.type == "supergroup" and msg.chat.title == "Lads"
    assert msg.from_user is not None and msg.from_user.id == 7
    assert msg.entities[0].type == "bot_command" and msg.entities[0].length == 24

    # offset confirms; nothing new -> waits the whole timeout, then returns empty.
    started = time.monotonic()
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0.5) == ()
    assert 0.4 <= time.monotonic() - started < 1.5


async def test_update_kinds_parse_in_ptb(fake: FakeTelegram, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("PL", callback_data="pl")]])
    sent = await bot.send_message(PRIVATE, "pick", reply_markup=markup)
    fake.push_callback_query(PRIVATE, "pl")
    fake.push_sticker(PRIVATE)
    fake.push_edited_message(PRIVATE, "edited")
    fake.push_my_chat_member(-55, "administrator")
    updates = await bot.get_updates(timeout=0)
    query = updates[0].callback_query
    assert query is not None and query.data == "pl"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await query.answer("ok")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)
    assert updates[1].message is not None and updates[1].message.sticker is not None
    assert updates[2].edited_message is not None and updates[2].edited_message.text == "edited"
    member = updates[3].my_chat_member
    assert member is not None and member.new_chat_member.status == "administrator"
    assert member.chat.type == "group"


async def test_newer_get_updates_terminates_older(fake: FakeTelegram, bot: Bot) -> None:
    # A second Bot: PTB's get_updates connection pool holds one connection only.
    async with Bot(fake.token, base_url=fake.base_url) as other:
        first = asyncio.create_task(bot.get_updates(timeout=3))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(other.get_updates(timeout=0.2))
        with pytest.raises(Conflict):
            await asyncio.wait_for(first, 2)
        assert await second == ()


async def test_application_long_polling_end_to_end(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Welcome</b> to Matchday")

    app = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        fake.push_message(PRIVATE, "/start")
        assert await fake.wait_for_messages(PRIVATE, 1, timeout=3, visible=True) == [
            "Welcome to Matchday"
        ]
        await app.updater.stop()
        await app.stop()
    assert fake.calls("deleteWebhook")


async def test_fixture_from_module_is_usable(fake_telegram: FakeTelegram) -> None:
    async with Bot(fake_telegram.token, base_url=fake_telegram.base_url) as bot:
        assert (await bot.get_me()).username == "matchday_test_bot"


# ------------------------------------------------------------------ strict by default
# Each test below builds the fake with nothing but a hand-moved clock: what it proves is the
# default. Time is stepped, never slept, so a busy machine cannot change the outcome.
@contextlib.asynccontextmanager
async def strict(clock: ManualClock, *chats: int) -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    """A default FakeTelegram on ``clock``, ``chats`` known to it, and a real Bot."""
    async with FakeTelegram(clock=clock) as fake:
        fake.register_chats(list(chats))
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            yield fake, bot


async def send_outcome(bot: Bot, chat_id: int, text: str) -> str:
    """"ok", or "429/<retry_after>" when flood control refused the send."""
    try:
        await bot.send_message(chat_id, text)
    except RetryAfter as exc:
        return f"429/{retry_seconds(exc):g}"
    return "ok"


def test_defaults_are_strict() -> None:
    fake = FakeTelegram()
    assert fake.enforce_limits and fake.refuse_unknown_chats
    assert fake.callback_query_ttl is not None and fake.callback_query_ttl <= 60
    assert (fake.overall_per_second, fake.chat_per_second, fake.group_per_minute) == (30, 1, 20)


async def test_burst_over_30_a_second_overall_gets_429() -> None:
    clock = ManualClock()
    chats = list(range(5001, 5041))  # 40 chats, one message each: only the overall limit
    async with strict(clock, *chats) as (fake, bot):
        outcomes = [await send_outcome(bot, chat, "goal") for chat in chats]
        assert outcomes == ["ok"] * 30 + ["429/1"] * 10  # Telegram's answer: retry after 1 s
        assert fake.too_many_requests == 10
        response = fake.calls("sendMessage")[-1]
        assert response.status == 429
        clock.advance(1.0)  # a second later there is room for 30 more
        assert [await send_outcome(bot, chat, "again") for chat in chats[30:]] == ["ok"] * 10


async def test_two_messages_a_second_to_one_chat_gets_429() -> None:
    clock = ManualClock()
    async with strict(clock, PRIVATE) as (fake, bot):
        outcomes = []
        for i in range(8):  # every half second: twice Telegram's 1/s
            outcomes.append(await send_outcome(bot, PRIVATE, f"{i}"))
            clock.advance(0.5)
        # A small burst is forgiven, then 429s; the chat's bucket refills at 1/s.
        assert outcomes[:5] == ["ok"] * 5
        assert "429/1" in outcomes[5:]
        assert len(fake.messages_to(PRIVATE)) == outcomes.count("ok") < 8
        # One a second, sustained, is always fine.
        clock.advance(5)
        for i in range(10):
            assert await send_outcome(bot, PRIVATE, f"steady {i}") == "ok"
            clock.advance(1.0)


async def test_more_than_20_a_minute_to_a_group_gets_429() -> None:
    clock = ManualClock()
    async with strict(clock, GROUP, PRIVATE) as (fake, bot):
        outcomes = []
        for i in range(21):  # one a second: fine for a private chat, too fast for a group
            outcomes.append(await send_outcome(bot, GROUP, f"goal {i}"))
            clock.advance(1.0)
        assert outcomes[:20] == ["ok"] * 20
        # The 21st waits until the first leaves the minute: sent at t=0, now t=20.
        assert outcomes[20] == "429/40"
        assert len(fake.messages_to(GROUP)) == 20
        assert await send_outcome(bot, PRIVATE, "other chats are unaffected") == "ok"
        clock.advance(40.0)
        assert await send_outcome(bot, GROUP, "a minute after the first") == "ok"


async def test_expired_callback_query_is_refused() -> None:
    clock = ManualClock()
    async with strict(clock, PRIVATE) as (fake, bot):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("PL", callback_data="pl")]])
        await bot.send_message(PRIVATE, "pick", reply_markup=markup)
        fresh = fake.push_callback_query(PRIVATE, "pl")["callback_query"]["id"]
        late = fake.push_callback_query(PRIVATE, "pl")["callback_query"]["id"]
        while_down = fake.push_callback_query(PRIVATE, "pl", age=600)["callback_query"]["id"]
        clock.advance(5)
        assert await bot.answer_callback_query(fresh)  # within the window
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(while_down)  # pressed while the bot was down
        clock.advance(20)
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(late)  # 25 s after the press
        assert list(fake.callback_answers) == [fresh]


async def test_length_limit_counts_utf16_units_so_emoji_count_double() -> None:
    async with strict(ManualClock(), PRIVATE, PRIVATE + 1) as (fake, bot):
        trophy = "\U0001f3c6"  # outside the BMP: two UTF-16 units, one Python character
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(PRIVATE, trophy * 2100)  # 2,100 characters, 4,200 units
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(PRIVATE, f"<b>{trophy * 2048}</b>!", parse_mode="HTML")
        msg = await bot.send_message(PRIVATE, f"<b>{trophy * 2048}</b>", parse_mode="HTML")
        assert msg.text == trophy * 2048  # exactly 4,096 units, tags not counted
        await bot.send_message(PRIVATE + 1, "\u26bd" * 4096)  # U+26BD is one unit
        assert fake.too_many_requests == 0


async def test_unknown_chat_is_chat_not_found() -> None:
    async with strict(ManualClock()) as (fake, bot):
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(777, "hi")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.get_chat(-1001777)
        assert fake.sent == []
        fake.push_message(777, "/start")  # the user writes first: now Telegram knows the chat
        await bot.send_message(777, "welcome")
        fake.register_chat(-1001777, title="Fans")  # known before the test began
        assert (await bot.get_chat(-1001777)).title == "Fans"


async def test_lenient_needs_a_reason_and_only_turns_strictness_off() -> None:
    assert lenient("measures throughput", enforce_limits=False) == {"enforce_limits": False}
    with pytest.raises(ValueError, match="reason"):
        lenient(" ", enforce_limits=False)
    with pytest.raises(ValueError, match="30 to 1000"):
        lenient("why", overall_per_second=10**6)
    with pytest.raises(ValueError, match="not a lenient"):
        lenient("why", chat_per_second=5)
    with pytest.raises(ValueError, match="not a lenient"):
        lenient("why", enforce_limits=True)
    async with FakeTelegram(**lenient("a fixture-free check", refuse_unknown_chats=False)) as fake:
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            await bot.send_message(31337, "a chat it never saw")
        assert fake.enforce_limits  # what was not named stays strict


@pytest.mark.lenient_telegram("proves the marker reaches the fixture", callback_query_ttl=None)
async def test_lenient_marker_configures_the_fixture(fake_telegram: FakeTelegram) -> None:
    assert fake_telegram.callback_query_ttl is None
    assert fake_telegram.enforce_limits and fake_telegram.refuse_unknown_chats
