"""A fake of Telegram's Bot API, served over real HTTP on 127.0.0.1.

Why: unit tests with mocked ``Bot`` methods never exercise python-telegram-bot's real request
layer (form encoding, JSON-encoded nested objects, status-code -> exception mapping, long
polling).  This fake speaks the Bot API wire format, so the real ``Application`` can poll it
and the real error mapping (``RetryAfter``, ``Forbidden``, ``ChatMigrated``, ``BadRequest``,
``TimedOut``, ``NetworkError``) is triggered by genuine HTTP answers.

Usage::

    async with FakeTelegram() as fake:
        app = (
            Application.builder()
            .token(fake.token)
            .base_url(fake.base_url)
            .base_file_url(fake.base_file_url)
            .build()
        )
        fake.push_message(42, "/start")
        assert await fake.wait_for_messages(42, 1)

or use the ``fake_telegram`` fixture defined at the bottom of this module.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal, TypeVar

import pytest
import pytest_asyncio
from aiohttp import web

from tests.fake_webhook import WEBHOOK_CONFLICT, WebhookPusher

__all__ = [
    "FakeError",
    "FakeTelegram",
    "HtmlParseError",
    "ManualClock",
    "Recorded",
    "SentMessage",
    "fake_telegram",
    "lenient",
    "parse_telegram_html",
]

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "123456:TEST-TOKEN-abc"
DEFAULT_BOT_USERNAME = "matchday_test_bot"
#: Sender used for group messages when the test does not name one.
DEFAULT_GROUP_USER_ID = 424242
MAX_TEXT_LENGTH = 4096  # UTF-16 code units of the visible text, after entity parsing
#: Seconds a callback query can still be answered. Telegram does not document the window;
#: clients give up waiting after about 15 s and answers later than that are refused.
CALLBACK_QUERY_TTL = 15.0
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100

_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


# --------------------------------------------------------------------------------------------
# Errors and records
# --------------------------------------------------------------------------------------------
class FakeApiError(Exception):
    """Raised inside method handlers; turned into an ``{"ok": false, ...}`` answer."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad_request(description: str) -> FakeApiError:
    """Build a 400 with Telegram's "Bad Request: " prefix (PTB strips it again)."""
    if not description.startswith("Bad Request"):
        description = f"Bad Request: {description}"
    return FakeApiError(400, description)


@dataclass(frozen=True)
class FakeError:
    """A scripted fault for :meth:`FakeTelegram.fail_next`; build it with the factories."""

    kind: Literal["error", "timeout", "drop", "answer", "raw"]
    status: int = 200
    description: str = ""
    parameters: JSON | None = None
    delay: float = 0.0

    @classmethod
    def retry_after(cls, seconds: int) -> FakeError:
        """429 flood control, as PTB maps it to ``telegram.error.RetryAfter``."""
        return cls(
            "error", 429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
        )

    @classmethod
    def forbidden(cls, description: str = "Forbidden: bot was blocked by the user") -> FakeError:
        """403, e.g. the user blocked the bot or it was kicked from the group."""
        return cls("error", 403, description)

    @classmethod
    def migrate(cls, new_chat_id: int) -> FakeError:
        """400 with ``migrate_to_chat_id`` -> ``telegram.error.ChatMigrated``."""
        return cls(
            "error",
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )

    @classmethod
    def server_error(cls, status: int = 502, description: str | None = None) -> FakeError:
        """5xx from Telegram's frontend -> ``telegram.error.NetworkError``."""
        if description is None:
            try:
                description = HTTPStatus(status).phrase
            except ValueError:
                description = "Internal Server Error"
        return cls("error", status, description)

    @classmethod
    def bad_request(cls, description: str) -> FakeError:
        """Arbitrary 400; the "Bad Request: " prefix is added when missing."""
        return cls("error", 400, _bad_request(description).description)

    @classmethod
    def timeout(cls, seconds: float) -> FakeError:
        """Process the call normally but hold the answer back ``seconds``.

        Simulates a send that reached Telegram although the client timed out waiting.
        """
        return cls("timeout", delay=seconds)

    @classmethod
    def odd_success(cls, result: Any) -> FakeError:
        """200 ``{"ok": true, "result": result}`` without doing the call: a garbled answer."""
        return cls("answer", parameters={"result": result})

    @classmethod
    def unauthorized(cls) -> FakeError:
        """401, as Telegram answers a revoked token (PTB: ``InvalidToken``)."""
        return cls("error", 401, "Unauthorized")

    @classmethod
    def not_json(cls, body: str = "<html>502 Bad Gateway</html>") -> FakeError:
        """200 with a body that is not JSON (a proxy's page): the call is not processed."""
        return cls("raw", 200, body)

    @classmethod
    def drop_connection(cls) -> FakeError:
        """Abort the TCP connection without answering (the call is not processed)."""
        return cls("drop")


@dataclass
class Recorded:
    """One HTTP call the fake received; ``status`` is None while pending or if dropped."""

    method: str
    params: JSON
    time: float
    status: int | None = None


@dataclass
class SentMessage:
    """A successful sendMessage/editMessageText; ``text`` is raw, as the bot sent it."""

    method: str
    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: JSON | None
    visible_text: str
    time: float


class ManualClock:
    """Monotonic seconds that move only when the test says so (``FakeTelegram(clock=...)``):
    flood control and query expiry are then tested by stepping time, never by sleeping."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _Fault:
    error: FakeError
    method: str | None
    chat_id: int | None
    remaining: int


class _TokenBucket:
    """Classic token bucket: ``capacity`` burst, refilled at ``rate`` tokens per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if one is available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.tokens -= 1


class _SlidingWindow:
    """At most ``limit`` sends in any ``window`` seconds: "20 messages a minute to a group"
    (a token bucket would let a steady sender through 20 + 20 in its first minute)."""

    def __init__(self, limit: float, window: float) -> None:
        self.limit = limit
        self.window = window
        self.sends: collections.deque[float] = collections.deque()

    def wait_time(self, now: float) -> float:
        """Seconds until the oldest send in the window leaves it (0 if there is room)."""
        while self.sends and self.sends[0] <= now - self.window:
            self.sends.popleft()
        if len(self.sends) < self.limit:
            return 0.0
        if self.limit < 1:
            return math.inf
        return self.sends[0] + self.window - now

    def take(self, now: float) -> None:
        self.sends.append(now)


# --------------------------------------------------------------------------------------------
# Telegram HTML
# --------------------------------------------------------------------------------------------
class HtmlParseError(ValueError):
    """Text is not valid Telegram HTML (Telegram answers "can't parse entities")."""


_ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "span", "tg-spoiler", "blockquote", "tg-emoji",
    }
)  # fmt: skip
_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "a": "text_link", "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_TAG_NAME_RE = re.compile(r"[a-zA-Z0-9-]*")
_ATTR_NAME_RE = re.compile(r"[a-zA-Z0-9_-]+")
_UNQUOTED_VALUE_RE = re.compile(r"[^\s>]+")
_SPACE = " \t\r\n"


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start16: int
    language: str | None = None


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(match: re.Match[str], byte_offset: int) -> str:
    named, dec, hexa = match.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(dec) if dec else int(hexa, 16)
    if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlParseError(f"Invalid numeric HTML entity at byte offset {byte_offset}")
    return chr(code)


def _decode_attr(raw: str) -> str:
    """Attribute values may contain entities; be lenient there like Telegram."""

    def repl(m: re.Match[str]) -> str:
        try:
            return _decode_entity(m, 0)
        except HtmlParseError:
            return m.group()

    return _ENTITY_RE.sub(repl, raw)


def parse_telegram_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into (visible text, MessageEntity dicts).

    Stricter than Telegram in one way on purpose: a bare ``&`` or ``>`` is rejected, so the bot's
    escaping bugs surface in tests instead of as odd output in production.
    """
    out: list[str] = []
    out16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i, n = 0, len(text)

    def boff(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    def emit(chunk: str) -> None:
        nonlocal out16
        out.append(chunk)
        out16 += utf16_len(chunk)

    def skip_space(pos: int) -> int:
        while pos < n and text[pos] in _SPACE:
            pos += 1
        return pos

    while i < n:
        c = text[i]
        if c == "&":
            m = _ENTITY_RE.match(text, i)
            if m is None:
                raise HtmlParseError(
                    f'Character "&" at byte offset {boff(i)} must be escaped as "&amp;"'
                )
            emit(_decode_entity(m, boff(i)))
            i = m.end()
            continue
        if c == ">":
            raise HtmlParseError(
                f'Character ">" at byte offset {boff(i)} must be escaped as "&gt;"'
            )
        if c != "<":
            j = i + 1
            while j < n and text[j] not in "<>&":
                j += 1
            emit(text[i:j])
            i = j
            continue

        start = i
        if i + 1 < n and text[i + 1] == "/":  # end tag
            m = _TAG_NAME_RE.match(text, i + 2)
            assert m is not None  # the pattern matches the empty string
            name = m.group().lower()
            j = skip_space(m.end())
            if j >= n or text[j] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {boff(start)}")
            if not stack:
                raise HtmlParseError(f'Unexpected end tag "{name}" at byte offset {boff(start)}')
            top = stack.pop()
            if top.name != name:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {boff(start)}, "
                    f'expected "</{top.name}>", found "</{name}>"'
                )
            _close_entity(top, stack, out16, entities)
            i = j + 1
            continue

        m = _TAG_NAME_RE.match(text, i + 1)
        assert m is not None
        name = m.group().lower()
        if name not in _ALLOWED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {boff(start)}')
        j = m.end()
        attrs: dict[str, str] = {}
        while True:
            j = skip_space(j)
            if j >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {boff(start)}")
            if text[j] == ">":
                j += 1
                break
            am = _ATTR_NAME_RE.match(text, j)
            if am is None:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {boff(j)}'
                )
            attr = am.group().lower()
            j = skip_space(am.end())
            value = ""
            if j < n and text[j] == "=":
                j = skip_space(j + 1)
                if j >= n:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {boff(start)}")
                if text[j] in "\"'":
                    end = text.find(text[j], j + 1)
                    if end < 0:
                        raise HtmlParseError(f"Unclosed attribute value at byte offset {boff(j)}")
                    value = _decode_attr(text[j + 1 : end])
                    j = end + 1
                else:
                    vm = _UNQUOTED_VALUE_RE.match(text, j)
                    if vm is None:
                        raise HtmlParseError(f"Expected attribute value at byte offset {boff(j)}")
                    value = _decode_attr(vm.group())
                    j = vm.end()
            attrs[attr] = value
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {boff(start)}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise HtmlParseError(
                f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset {boff(start)}'
            )
        stack.append(_OpenTag(name, attrs, out16))
        i = j

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_entity(top: _OpenTag, stack: list[_OpenTag], out16: int, entities: list[JSON]) -> None:
    """Turn a closed tag into a MessageEntity (if it covers any text)."""
    length = out16 - top.start16
    if top.name == "code" and stack and stack[-1].name == "pre":
        cls = top.attrs.get("class", "")
        if cls.startswith("language-"):
            stack[-1].language = cls.removeprefix("language-")
            return
    if length <= 0:
        return
    entity: JSON = {"type": _ENTITY_TYPES[top.name], "offset": top.start16, "length": length}
    if top.name == "a":
        href = top.attrs.get("href")
        if not href:
            return
        entity["url"] = href
    elif top.name == "pre" and top.language:
        entity["language"] = top.language
    elif top.name == "blockquote" and "expandable" in top.attrs:
        entity["type"] = "expandable_blockquote"
    elif top.name == "tg-emoji":
        entity["custom_emoji_id"] = top.attrs["emoji-id"]
    entities.append(entity)


def _strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram trims surrounding whitespace of message texts; shift entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead16 = utf16_len(text[: len(text) - len(text.lstrip())])
    total16 = utf16_len(stripped)
    fixed: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead16)
        end = min(total16, entity["offset"] + entity["length"] - lead16)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return stripped, fixed


# --------------------------------------------------------------------------------------------
# Request parameter decoding
# --------------------------------------------------------------------------------------------
_INT_FIELDS = frozenset(
    {
        "chat_id", "from_chat_id", "user_id", "message_id", "offset", "limit",
        "reply_to_message_id", "message_thread_id", "cache_time", "until_date",
    }
)  # fmt: skip
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification", "protect_content", "show_alert", "drop_pending_updates",
        "disable_web_page_preview", "allow_sending_without_reply", "only_if_banned",
        "revoke_messages", "allow_paid_broadcast",
    }
)  # fmt: skip
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "commands", "scope", "entities", "caption_entities", "allowed_updates",
        "link_preview_options", "reply_parameters", "media", "results", "options",
        "permissions",
    }
)  # fmt: skip


def _coerce_params(raw: JSON) -> JSON:
    """Type the string values of a form body the way the Bot API does (by field name).

    Values that do not convert stay as received; the method handlers then answer 400.
    """
    params: JSON = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _INT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = int(value)
            elif key in _FLOAT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = float(value)
            elif key in _BOOL_FIELDS:
                value = value.strip().lower() in ("true", "1")
            elif key in _JSON_FIELDS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
        params[key] = value
    return params


def _chat_type_for(chat_id: int) -> str:
    """Infer a chat type from Telegram's id ranges (-100… ids are supergroups/channels)."""
    if chat_id > 0:
        return "private"
    if chat_id <= -1_000_000_000_000:
        return "supergroup"
    return "group"


Handler = Callable[[JSON], Awaitable[Any]]


# --------------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------------
class FakeTelegram:
    """In-process Bot API server; an async context manager that binds 127.0.0.1:<free port>."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        *,
        bot_first_name: str = "Matchday Test Bot",
        enforce_limits: bool = True,
        overall_per_second: float = 30.0,
        group_per_minute: float = 20.0,
        chat_per_second: float = 1.0,
        chat_burst: int = 3,
        limited_methods: set[str] | None = None,
        refuse_unknown_chats: bool = True,
        callback_query_ttl: float | None = CALLBACK_QUERY_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Strict by default, like Telegram: flood control, unknown chats refused, callback
        queries expiring. A test that needs one of them off says so where it builds the fake
        (``enforce_limits=False``, ``refuse_unknown_chats=False``, ``callback_query_ttl=None``).

        ``clock`` (monotonic seconds) drives flood control and query expiry, so a test can
        step time by hand instead of sleeping.
        """
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 123456
        self.bot_username = bot_username
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.clock = clock
        # Flood control (mutable at runtime).
        self.enforce_limits = enforce_limits
        self.overall_per_second = overall_per_second
        self.group_per_minute = group_per_minute
        self.chat_per_second = chat_per_second
        self.chat_burst = chat_burst
        self.limited_methods: set[str] = (
            set(limited_methods)
            if limited_methods is not None
            else {"sendMessage", "editMessageText"}
        )
        self.too_many_requests = 0
        self.refuse_unknown_chats = refuse_unknown_chats
        self.callback_query_ttl = callback_query_ttl
        # Recordings.
        self.requests: list[Recorded] = []
        self.sent: list[SentMessage] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.chat_actions: list[tuple[int, str]] = []
        # State.
        self._admins: dict[int, list[int]] = {}
        self._creators: dict[int, int] = {}
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._pending_callbacks: dict[str, float] = {}  # query id -> when it was pressed
        self._updates: list[JSON] = []
        self._next_update_id = 100_000
        self._callback_ids = itertools.count(7_000_000_000)
        self._faults: list[_Fault] = []
        self._buckets: dict[tuple[str, int], _TokenBucket] = {}
        self._group_windows: dict[int, _SlidingWindow] = {}
        self._pollers: list[asyncio.Event] = []
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.webhook = WebhookPusher(
            lambda: dict(self._updates[0]) if self._updates else None, self._webhook_delivered
        )
        self._methods: dict[str, Handler] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "close": self._true,
                "logOut": self._true,
                "getUpdates": self._get_updates,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "answerCallbackQuery": self._answer_callback_query,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "getChat": self._get_chat,
                "sendChatAction": self._send_chat_action,
            }.items()
        }

    # ---------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind to a free port on 127.0.0.1 (port 0 -> the OS picks)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])  # the port the OS actually bound

    async def stop(self) -> None:
        """Release long polls and delayed answers first so shutdown is immediate."""
        self._closing.set()
        self._notify()
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (only valid after start)."""
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """Value for ``Bot(base_url=...)`` / ``ApplicationBuilder.base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``Bot(base_file_url=...)``; file downloads answer 404."""
        return f"{self.url}/file/bot"

    # ---------------------------------------------------------------- configuration
    def set_admins(self, chat_id: int, user_ids: list[int], *, creator: int | None = None) -> None:
        """Make ``user_ids`` administrators (``creator`` the owner) of ``chat_id``."""
        self._chat(chat_id)
        self._admins[chat_id] = list(user_ids)
        if creator is not None:
            self._creators[chat_id] = creator
        else:
            self._creators.pop(chat_id, None)

    def register_chat(
        self, chat_id: int, chat_type: str | None = None, title: str | None = None
    ) -> None:
        """Make a chat known, as if it had talked to the bot before the test began.

        Sends to a chat the fake has never seen answer "chat not found", as on Telegram.
        """
        self._chat(chat_id, chat_type, title)

    def register_chats(self, chat_ids: list[int]) -> None:
        """:meth:`register_chat` for each id, typed by its range."""
        for chat_id in chat_ids:
            self._chat(chat_id)

    def block(self, chat_id: int) -> None:
        """Every later send to the chat answers 403 (user blocked the bot / bot kicked)."""
        self._chat(chat_id)  # a chat that blocked the bot is one Telegram knows
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`: sends to the chat succeed again."""
        self._blocked.discard(chat_id)

    def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Permanently upgrade a group: sends to the old id answer 400 migrate_to_chat_id."""
        self._migrated[old_chat_id] = new_chat_id
        self._chat(new_chat_id, "supergroup", self._chats.get(old_chat_id, {}).get("title"))

    def fail_next(
        self,
        method: str | None = "sendMessage",
        chat_id: int | None = None,
        times: int = 1,
        *,
        error: FakeError,
    ) -> None:
        """Script ``error`` for the next ``times`` matching calls (``None`` = any)."""
        self._faults.append(_Fault(error, method.lower() if method else None, chat_id, times))

    def clear_faults(self) -> None:
        """End every scripted fault (an outage is over)."""
        self._faults.clear()

    def clear_recordings(self) -> None:
        """Forget recorded requests and sent messages (state such as chats is kept)."""
        self.requests.clear()
        self.sent.clear()

    # ---------------------------------------------------------------- inspection
    def calls(self, method: str) -> list[Recorded]:
        """Recorded calls of one method (case-insensitive, like the Bot API)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def messages_to(
        self, chat_id: int, *, visible: bool = False, include_edits: bool = False
    ) -> list[str]:
        """Texts sent to ``chat_id`` in order (raw as sent, or visible after HTML parsing)."""
        return [
            s.visible_text if visible else s.text
            for s in self.sent
            if s.chat_id == chat_id and (include_edits or s.method == "sendMessage")
        ]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """Current state of a message (after edits) as Telegram would return it."""
        return self._messages.get((chat_id, message_id))

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands stored by setMyCommands for a scope (default scope when None)."""
        return list(self.commands.get(self._commands_key(scope, language_code), []))

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
    ) -> T:
        """Wait until ``predicate()`` is truthy; woken by every fake event, never spins."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"condition not met within {timeout}s; sent so far: "
                    f"{[(s.chat_id, s.text) for s in self.sent][-20:]}"
                )
            event = self._changed
            # Re-check at least every 0.1 s for predicates over state the fake cannot see.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.1))

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
        *,
        visible: bool = False,
    ) -> list[str]:
        """Wait for ``count`` messages to ``chat_id``; return the first ``count`` texts."""
        try:
            await self.wait_for(lambda: len(self.messages_to(chat_id)) >= count, timeout=timeout)
        except AssertionError:
            raise AssertionError(
                f"expected {count} message(s) to chat {chat_id} within {timeout}s, got "
                f"{self.messages_to(chat_id)!r}"
            ) from None
        return self.messages_to(chat_id, visible=visible)[:count]

    # ---------------------------------------------------------------- injecting updates
    def push_update(self, raw: JSON) -> JSON:
        """Queue a raw update (``update_id`` assigned when missing) for getUpdates."""
        update = dict(raw)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
        self._updates.append(update)
        self._notify()
        self.webhook.wake()
        return update

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """A user writes ``text``; ``chat_type`` defaults from the id (positive = private)."""
        message = self._user_message(chat_id, user_id, chat_type, title, username, first_name)
        message["text"] = text
        command = re.match(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?", text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}
            ]
        if reply_to_message_id is not None:
            replied = self._messages.get((chat_id, reply_to_message_id))
            if replied is not None:
                message["reply_to_message"] = dict(replied)
        self._store(message)
        return self.push_update({"message": message})

    def push_edited_message(
        self,
        chat_id: int,
        text: str,
        *,
        message_id: int | None = None,
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """A user edits their message (default: their latest one in the chat)."""
        message = self._user_message(chat_id, user_id, chat_type, title, username, None)
        sender = message["from"]["id"]
        if message_id is None:
            own = [
                mid
                for (cid, mid), m in self._messages.items()
                if cid == chat_id and m.get("from", {}).get("id") == sender
            ]
            message_id = max(own) if own else message["message_id"]
        original = self._messages.get((chat_id, message_id))
        message["message_id"] = message_id
        if original is not None:
            message["date"] = original["date"]
        message["edit_date"] = int(time.time())
        message["text"] = text
        self._store(message)
        return self.push_update({"edited_message": message})

    def push_callback_query(
        self,
        chat_id: int,
        data: str,
        *,
        user_id: int | None = None,
        message_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        age: float = 0.0,
    ) -> JSON:
        """A user presses an inline button on a bot message (default: the latest one).

        ``age`` backdates the press: a query pressed while the bot was down is already
        older than Telegram's answer window when the bot reads it.
        """
        chat = self._chat(chat_id, chat_type, title)
        sender = self._sender(chat, user_id, username, None)
        if message_id is None:
            ids = [
                mid
                for (cid, mid), m in self._messages.items()
                if cid == chat_id and m.get("from", {}).get("id") == self.bot_id
            ]
            if not ids:
                raise ValueError(f"the bot has sent no message to chat {chat_id} yet")
            message_id = max(ids)
        message = self._messages.get((chat_id, message_id))
        if message is None:  # e.g. a button on a message sent before the fake started
            message = {
                "message_id": message_id,
                "from": dict(self.bot_user),
                "chat": dict(chat),
                "date": int(time.time()) - 60,
                "text": "(earlier message)",
            }
            self._store(message)
        query_id = str(next(self._callback_ids))
        self._pending_callbacks[query_id] = self.clock() - age
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender,
                    "chat_instance": str(abs(chat_id) * 7919 % 10**12),
                    "message": dict(message),
                    "data": data,
                }
            }
        )

    def push_sticker(
        self,
        chat_id: int,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        emoji: str = "⚽",
    ) -> JSON:
        """A non-text message, for "ignore what you do not understand" paths."""
        message = self._user_message(chat_id, user_id, chat_type, title, username, None)
        message["sticker"] = {
            "file_id": f"CAACAgIAAx-fake-{message['message_id']}",
            "file_unique_id": f"AgAD-fake-{message['message_id']}",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": emoji,
        }
        self._store(message)
        return self.push_update({"message": message})

    def push_my_chat_member(
        self,
        chat_id: int,
        new_status: str,
        *,
        chat_type: str | None = None,
        old_status: str | None = None,
        user_id: int | None = None,
        title: str | None = None,
    ) -> JSON:
        """The bot's own membership changed (added, promoted, kicked, blocked in private).

        Side effect, like Telegram: "kicked"/"left" blocks later sends, joining unblocks.
        """
        chat = self._chat(chat_id, chat_type, title)
        actor = self._sender(chat, user_id, None, None)
        if old_status is None:
            old_status = "left" if new_status in ("member", "administrator") else "member"
        if new_status in ("kicked", "left"):
            self.block(chat_id)
        else:
            self.unblock(chat_id)
        admins = self._admins.setdefault(chat_id, [])
        if new_status == "administrator" and self.bot_id not in admins:
            admins.append(self.bot_id)
        elif new_status != "administrator" and self.bot_id in admins:
            admins.remove(self.bot_id)
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": dict(chat),
                    "from": actor,
                    "date": int(time.time()),
                    "old_chat_member": self._member_json(self.bot_user, old_status),
                    "new_chat_member": self._member_json(self.bot_user, new_status),
                }
            }
        )

    # ---------------------------------------------------------------- internals: state
    def _notify(self) -> None:
        """Wake every waiter (long polls, wait_for) by swapping in a fresh event."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def _chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
    ) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = {"id": chat_id, "type": chat_type or _chat_type_for(chat_id)}
            self._chats[chat_id] = chat
        elif chat_type:
            chat["type"] = chat_type
        if chat["type"] == "private":
            user = self._user(chat_id, None, username)
            chat["first_name"] = user["first_name"]
            if user.get("username"):
                chat["username"] = user["username"]
        else:
            chat["title"] = title or chat.get("title") or f"Chat {chat_id}"
            if username:
                chat["username"] = username
        return chat

    def _user(self, user_id: int, first_name: str | None, username: str | None) -> JSON:
        if user_id == self.bot_id:
            return dict(self.bot_user)
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        )
        if first_name:
            user["first_name"] = first_name
        if username:
            user["username"] = username
        user.setdefault("language_code", "en")
        return user

    def _sender(
        self, chat: JSON, user_id: int | None, username: str | None, first_name: str | None
    ) -> JSON:
        if user_id is None:
            user_id = chat["id"] if chat["type"] == "private" else DEFAULT_GROUP_USER_ID
        return dict(self._user(user_id, first_name, username))

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _user_message(
        self,
        chat_id: int,
        user_id: int | None,
        chat_type: str | None,
        title: str | None,
        username: str | None,
        first_name: str | None,
    ) -> JSON:
        chat = self._chat(chat_id, chat_type, title)
        sender = self._sender(chat, user_id, username, first_name)
        if chat["type"] == "private":
            chat = self._chat(chat_id)  # refresh first_name/username from the sender
        return {
            "message_id": self._new_message_id(chat_id),
            "from": sender,
            "chat": dict(chat),
            "date": int(time.time()),
        }

    def _store(self, message: JSON) -> None:
        self._messages[(message["chat"]["id"], message["message_id"])] = message

    def _member_json(self, user: JSON, status: str) -> JSON:
        """A ChatMember of any status with every field PTB 22 requires for it."""
        member: JSON = {"status": status, "user": dict(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=True,
                can_edit_stories=True,
                can_delete_stories=True,
                can_pin_messages=True,
            )
        elif status == "kicked":
            member["until_date"] = 0
        elif status == "restricted":
            member.update(
                is_member=True,
                until_date=0,
                **dict.fromkeys(
                    (
                        "can_change_info", "can_invite_users", "can_pin_messages",
                        "can_send_messages", "can_send_polls", "can_send_other_messages",
                        "can_add_web_page_previews", "can_manage_topics", "can_send_audios",
                        "can_send_documents", "can_send_photos", "can_send_videos",
                        "can_send_video_notes", "can_send_voice_notes", "can_edit_tag",
                        "can_react_to_messages",
                    ),
                    False,
                ),
            )  # fmt: skip
        return member

    def _status_of(self, chat_id: int, user_id: int) -> str:
        if self._creators.get(chat_id) == user_id:
            return "creator"
        if user_id in self._admins.get(chat_id, []):
            return "administrator"
        return "member"

    @staticmethod
    def _commands_key(scope: JSON | None, language_code: str) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), language_code or ""

    # ---------------------------------------------------------------- internals: HTTP
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Entry point for every HTTP request; never lets an exception escape."""
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", request.path)
        method = match.group(2) if match else request.path
        record = Recorded(method=method, params={}, time=time.monotonic())
        self.requests.append(record)
        try:
            try:
                record.params = await self._read_params(request)
            except FakeApiError:
                raise
            except Exception as exc:
                raise _bad_request(f"can't parse request body: {exc}") from exc
            if match is None:
                raise FakeApiError(404, "Not Found")
            if match.group(1) != self.token:
                raise FakeApiError(401, "Unauthorized")
            handler = self._methods.get(method.lower())
            if handler is None:
                raise FakeApiError(404, "Not Found")
            fault = self._take_fault(method, record.params)
            if fault is not None and fault.kind == "drop":
                return self._drop(request, record)
            if fault is not None and fault.kind == "error":
                new_chat = (fault.parameters or {}).get("migrate_to_chat_id")
                if isinstance(new_chat, int):  # the supergroup exists on Telegram from now on
                    self._chat(new_chat, "supergroup")
                raise FakeApiError(fault.status, fault.description, fault.parameters)
            if fault is not None and fault.kind == "raw":
                record.status = fault.status
                self._notify()
                return web.Response(status=fault.status, text=fault.description)
            if fault is not None and fault.kind == "answer":
                return self._ok(record, (fault.parameters or {}).get("result"))
            try:
                response = self._ok(record, await handler(record.params))
            except FakeApiError as exc:
                response = self._error(record, exc)
            if fault is not None and fault.kind == "timeout":
                await self._sleep(fault.delay)
            return response
        except FakeApiError as exc:
            return self._error(record, exc)
        except Exception as exc:  # the fake must answer, never crash
            return self._error(record, _bad_request(f"fake server error: {exc!r}"))

    async def _read_params(self, request: web.Request) -> JSON:
        """Accept query string, urlencoded, multipart (PTB's choice) and JSON bodies."""
        raw: JSON = dict(request.query)
        if request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _bad_request("can't parse JSON request body") from exc
                if not isinstance(body, dict):
                    raise _bad_request("request body must be a JSON object")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key in form:
                    value = form[key]
                    if isinstance(value, web.FileField):
                        raw[key] = {"filename": value.filename, "content_type": value.content_type}
                    else:
                        raw[key] = value
        return _coerce_params(raw)

    def _take_fault(self, method: str, params: JSON) -> FakeError | None:
        chat_id = params.get("chat_id")
        for fault in self._faults:
            if fault.method is not None and fault.method != method.lower():
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault.error
        return None

    def _ok(self, record: Recorded, result: Any) -> web.Response:
        record.status = 200
        self._notify()
        return web.json_response({"ok": True, "result": result})

    def _error(self, record: Recorded, exc: FakeApiError) -> web.Response:
        record.status = exc.status
        body: JSON = {"ok": False, "error_code": exc.status, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        self._notify()
        return web.json_response(body, status=exc.status)

    def _drop(self, request: web.Request, record: Recorded) -> web.Response:
        """Abort the socket; aiohttp's later write to it is a silent no-op."""
        record.status = None
        if request.transport is not None:
            request.transport.abort()
        self._notify()
        return web.Response(status=500)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but return at once when the fake shuts down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # ---------------------------------------------------------------- internals: checks
    @staticmethod
    def _int_param(params: JSON, name: str, missing: str) -> int:
        value = params.get(name)
        if value is None or value == "":
            raise _bad_request(missing)
        if isinstance(value, bool) or not isinstance(value, int):
            if name == "chat_id":
                raise _bad_request("chat not found")
            raise _bad_request(f"invalid {name} specified")
        return value

    def _chat_id(self, params: JSON) -> int:
        """The request's chat; one Telegram never saw is "chat not found" (when strict)."""
        chat_id = self._int_param(params, "chat_id", "chat_id is empty")
        if chat_id == 0:
            raise _bad_request("chat not found")
        known = chat_id in self._chats or chat_id in self._migrated
        if self.refuse_unknown_chats and not known:
            raise _bad_request("chat not found")
        return chat_id

    def _check_access(self, chat_id: int) -> None:
        """Migrated and blocked chats answer like Telegram does."""
        if chat_id in self._migrated:
            raise FakeApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id in self._blocked:
            kind = self._chat(chat_id)["type"]
            if kind == "private":
                raise FakeApiError(403, "Forbidden: bot was blocked by the user")
            if kind == "channel":
                raise FakeApiError(403, "Forbidden: bot is not a member of the channel chat")
            raise FakeApiError(403, f"Forbidden: bot was kicked from the {kind} chat")

    def _bucket(self, key: tuple[str, int], capacity: float, rate: float) -> _TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.capacity != capacity or bucket.rate != rate:
            bucket = _TokenBucket(capacity, rate, self.clock())
            self._buckets[key] = bucket
        return bucket

    def _check_flood(self, method: str, chat_id: int) -> None:
        """Token buckets after Telegram's documented limits; 429 + retry_after when over."""
        if not self.enforce_limits or method.lower() not in {
            m.lower() for m in self.limited_methods
        }:
            return
        buckets: list[_TokenBucket | _SlidingWindow] = [
            self._bucket(("overall", 0), self.overall_per_second, self.overall_per_second),
            # About one a second to any chat, groups included, with a small burst.
            self._bucket(("chat", chat_id), max(1, self.chat_burst), self.chat_per_second),
        ]
        if chat_id < 0:
            window = self._group_windows.get(chat_id)
            if window is None or window.limit != self.group_per_minute:
                window = self._group_windows[chat_id] = _SlidingWindow(self.group_per_minute, 60)
            buckets.append(window)
        now = self.clock()
        wait = max(b.wait_time(now) for b in buckets)
        if wait > 0:
            self.too_many_requests += 1
            seconds = max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
            raise FakeApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        for bucket in buckets:
            bucket.take(now)

    def _render(self, params: JSON) -> tuple[str, list[JSON]]:
        """Validate text + parse_mode; return visible text and entities."""
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad_request("message text is empty")
        parse_mode = params.get("parse_mode")
        mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
        if mode == "html":
            try:
                visible, entities = parse_telegram_html(text)
            except HtmlParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from None
        elif mode in ("", "markdown", "markdownv2"):
            visible, entities = text, []  # Markdown is not validated by the fake
        else:
            raise _bad_request("unsupported parse_mode")
        visible, entities = _strip_text(visible, entities)
        if not visible:
            raise _bad_request("text must be non-empty")
        if utf16_len(visible) > MAX_TEXT_LENGTH:  # Telegram counts UTF-16 code units
            raise _bad_request("message is too long")
        return visible, entities

    @staticmethod
    def _markup(params: JSON) -> JSON | None:
        """Parse and validate reply_markup (inline keyboards in detail)."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise _bad_request("can't parse reply keyboard markup JSON object") from None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            actions = (
                "url", "callback_data", "web_app", "login_url", "switch_inline_query",
                "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                "copy_text", "callback_game", "pay",
            )  # fmt: skip
            buttons = [b for row in rows for b in row]
            if len(buttons) > MAX_INLINE_BUTTONS:
                raise _bad_request("reply markup is too long")
            for button in buttons:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad_request("can't parse inline keyboard button: Text is not a string")
                present = [a for a in actions if a in button]
                if not present:
                    raise _bad_request("text buttons are unallowed in the inline keyboard")
                if len(present) > 1:
                    raise _bad_request(
                        f"inline keyboard button must have exactly one action, got {present}"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise _bad_request("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not re.match(
                        r"(https?|tg)://\S+$", url, re.IGNORECASE
                    ):
                        raise _bad_request(
                            f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                        )
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad_request(
                    'field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
                )
        elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        return markup

    # ---------------------------------------------------------------- Bot API methods
    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook.clear()
        return True

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _bad_request("Bad webhook: an HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("Bad webhook: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook.set(url, None if secret is None else str(secret))
        return True

    def _webhook_delivered(self, update: JSON) -> None:
        self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
        self._notify()

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook.last_error:
            info["last_error_message"] = self.webhook.last_error
        return info

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Long polling: confirm < offset, then hold until an update or the timeout."""
        if self.webhook.url:
            raise FakeApiError(409, WEBHOOK_CONFLICT)
        offset = params.get("offset")
        if offset is not None and not isinstance(offset, int):
            raise _bad_request("invalid offset specified")
        limit = params.get("limit", 100)
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        timeout = max(0.0, float(timeout)) if isinstance(timeout, int | float) else 0.0
        if isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        elif isinstance(offset, int):
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # A newer getUpdates terminates an older one still waiting, as on Telegram.
        for other in self._pollers:
            other.set()
        superseded = asyncio.Event()
        self._pollers.append(superseded)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if superseded.is_set():
                    raise FakeApiError(409, _CONFLICT)
                if self._updates or self._closing.is_set():
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                changed = asyncio.ensure_future(self._changed.wait())
                replaced = asyncio.ensure_future(superseded.wait())
                try:
                    await asyncio.wait(
                        {changed, replaced}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    changed.cancel()
                    replaced.cancel()
        finally:
            self._pollers.remove(superseded)
        return [dict(u) for u in self._updates[:limit]]

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = params.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise _bad_request("can't parse BotCommandScope JSON object")
        key = self._commands_key(scope, str(params.get("language_code") or ""))
        self.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        scope = params.get("scope")
        return self.commands_for(
            scope if isinstance(scope, dict) else None, str(params.get("language_code") or "")
        )

    async def _delete_my_commands(self, params: JSON) -> bool:
        scope = params.get("scope")
        key = self._commands_key(
            scope if isinstance(scope, dict) else None, str(params.get("language_code") or "")
        )
        self.commands.pop(key, None)
        return True

    async def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        self._check_access(chat_id)
        visible, entities = self._render(params)
        markup = self._markup(params)
        reply_to: JSON | None = None
        reply_parameters = params.get("reply_parameters")
        reply_id = params.get("reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply_parameters, dict):
            reply_id = reply_parameters.get("message_id")
            allow_missing = bool(reply_parameters.get("allow_sending_without_reply"))
        if reply_id is not None:
            if isinstance(reply_id, int):
                reply_to = self._messages.get((chat_id, reply_id))
            if reply_to is None and not allow_missing:
                raise _bad_request("message to be replied not found")
        self._check_flood("sendMessage", chat_id)

        chat = self._chat(chat_id)
        message: JSON = {
            "message_id": self._new_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
            "text": visible,
        }
        if entities:
            message["entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if reply_to is not None:
            message["reply_to_message"] = dict(reply_to)
        if isinstance(params.get("message_thread_id"), int):
            message["message_thread_id"] = params["message_thread_id"]
        self._store(message)
        self._record_sent("sendMessage", chat_id, message, params, markup)
        return message

    async def _edit_message_text(self, params: JSON) -> JSON:
        if params.get("inline_message_id"):
            raise _bad_request("inline messages are not supported by the fake")
        chat_id = self._chat_id(params)
        message_id = self._int_param(params, "message_id", "message identifier is not specified")
        self._check_access(chat_id)
        visible, entities = self._render(params)
        markup = self._markup(params)
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            raise _bad_request("message to edit not found")
        if stored.get("from", {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        new_markup = markup if markup is not None and "inline_keyboard" in markup else None
        if (
            stored.get("text") == visible
            and stored.get("entities", []) == entities
            and stored.get("reply_markup") == new_markup
        ):
            raise _bad_request(_NOT_MODIFIED)
        self._check_flood("editMessageText", chat_id)
        stored["text"] = visible
        stored["edit_date"] = int(time.time())
        for key, value in (("entities", entities), ("reply_markup", new_markup)):
            if value:
                stored[key] = value
            else:
                stored.pop(key, None)
        self._record_sent("editMessageText", chat_id, stored, params, markup)
        return dict(stored)

    def _record_sent(
        self, method: str, chat_id: int, message: JSON, params: JSON, markup: JSON | None
    ) -> None:
        parse_mode = params.get("parse_mode")
        self.sent.append(
            SentMessage(
                method=method,
                chat_id=chat_id,
                message_id=message["message_id"],
                text=params["text"],
                parse_mode=parse_mode if isinstance(parse_mode, str) else None,
                reply_markup=markup,
                visible_text=message["text"],
                time=time.monotonic(),
            )
        )

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._pending_callbacks:
            raise _bad_request(_QUERY_INVALID)
        pressed = self._pending_callbacks[query_id]
        ttl = self.callback_query_ttl
        if ttl is not None and self.clock() - pressed > ttl:
            del self._pending_callbacks[query_id]
            raise _bad_request(_QUERY_INVALID)
        text = params.get("text")
        if isinstance(text, str) and utf16_len(text) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        del self._pending_callbacks[query_id]
        self.callback_answers[query_id] = dict(params)
        return True

    async def _get_chat_member(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        user_id = self._int_param(params, "user_id", "user_id is empty")
        user = self._user(user_id, None, None)
        return self._member_json(user, self._status_of(chat_id, user_id))

    async def _get_chat_administrators(self, params: JSON) -> list[JSON]:
        chat_id = self._chat_id(params)
        if self._chat(chat_id)["type"] == "private":
            raise _bad_request("there are no administrators in the private chat")
        ids: list[int] = []
        if chat_id in self._creators:
            ids.append(self._creators[chat_id])
        ids += [u for u in self._admins.get(chat_id, []) if u not in ids]
        return [
            self._member_json(self._user(u, None, None), self._status_of(chat_id, u)) for u in ids
        ]

    async def _get_chat(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        self._check_access(chat_id)
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    _CHAT_ACTIONS = frozenset(
        {
            "typing", "upload_photo", "record_video", "upload_video", "record_voice",
            "upload_voice", "upload_document", "choose_sticker", "find_location",
            "record_video_note", "upload_video_note",
        }
    )  # fmt: skip

    async def _send_chat_action(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        self._check_access(chat_id)
        action = params.get("action")
        if action not in self._CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self.chat_actions.append((chat_id, str(action)))
        return True


_LENIENT_KNOBS = {
    "enforce_limits": False,
    "refuse_unknown_chats": False,
    "callback_query_ttl": None,
}
#: Telegram lets paid broadcasts (``allow_paid_broadcast``) go up to 1000 messages a second.
PAID_BROADCAST_PER_SECOND = 1000.0


def lenient(reason: str, **knobs: Any) -> JSON:
    """Keyword arguments that switch some of the fake's strictness off, with the reason.

    Only the strictness knobs are accepted, and only their lenient values, so a lenient test
    is easy to find (grep "lenient") and always says why.
    """
    if not reason.strip():
        raise ValueError("a lenient fake needs a reason")
    if not knobs:
        raise ValueError("name the strictness to switch off, e.g. enforce_limits=False")
    for name, value in knobs.items():
        if name == "overall_per_second":  # a higher overall rate, per-chat limits still on
            if not 30 < value <= PAID_BROADCAST_PER_SECOND:
                raise ValueError(f"overall_per_second={value!r}: Telegram allows 30 to 1000")
        elif name not in _LENIENT_KNOBS or value != _LENIENT_KNOBS[name]:
            raise ValueError(f"{name}={value!r} is not a lenient setting")
    return knobs


@pytest_asyncio.fixture
async def fake_telegram(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegram]:
    """A started, strict FakeTelegram, stopped after the test.

    A test that needs it lenient says so: ``@pytest.mark.lenient_telegram("why",
    enforce_limits=False)``.
    """
    marker = request.node.get_closest_marker("lenient_telegram")
    knobs = lenient(*marker.args, **marker.kwargs) if marker is not None else {}
    async with FakeTelegram(**knobs) as fake:
        yield fake
