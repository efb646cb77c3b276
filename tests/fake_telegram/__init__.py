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

or use the ``fake_telegram`` fixture. The package, by concern: ``server`` (HTTP, recording,
routing), ``methods`` (the Bot API methods), ``updates`` (what users do), ``state`` (chats,
messages, configuration), ``limits`` (flood control, query expiry, the clock),
``entities`` (HTML parse mode, UTF-16 lengths), ``params`` (request fields, reply markup),
``errors`` (error answers, scripted faults, records), ``fixture`` (the pytest fixture).
"""

from tests.fake_telegram.entities import (
    MAX_TEXT_LENGTH,
    HtmlParseError,
    parse_telegram_html,
    utf16_len,
)
from tests.fake_telegram.errors import FakeApiError, FakeError, Recorded, SentMessage
from tests.fake_telegram.fixture import fake_telegram, lenient
from tests.fake_telegram.limits import CALLBACK_QUERY_TTL, PAID_BROADCAST_PER_SECOND, ManualClock
from tests.fake_telegram.server import FakeTelegram
from tests.fake_telegram.state import DEFAULT_BOT_USERNAME, DEFAULT_GROUP_USER_ID, DEFAULT_TOKEN

__all__ = [
    "CALLBACK_QUERY_TTL",
    "DEFAULT_BOT_USERNAME",
    "DEFAULT_GROUP_USER_ID",
    "DEFAULT_TOKEN",
    "MAX_TEXT_LENGTH",
    "PAID_BROADCAST_PER_SECOND",
    "FakeApiError",
    "FakeError",
    "FakeTelegram",
    "HtmlParseError",
    "ManualClock",
    "Recorded",
    "SentMessage",
    "fake_telegram",
    "lenient",
    "parse_telegram_html",
    "utf16_len",
]
