"""AiohttpRequest against the fake Bot API, side by side with PTB's own HTTPXRequest.

Every behaviour the bot relies on is checked through a real `telegram.Bot` with each
transport, so a difference between the two fails here rather than in production.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from telegram import Bot, InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.aiohttp_request import AiohttpRequest
from bot.app import build_application
from bot.clock import Clock
from bot.settings import Settings
from tests.fake_telegram import FakeError, FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import TRANSPORTS

CHAT = 4242


def make_request(transport: str, **kwargs: Any) -> BaseRequest:
    if transport == "aiohttp":
        return AiohttpRequest(**kwargs)
    return HTTPXRequest(**kwargs)


@asynccontextmanager
async def bot_for(
    fake: FakeTelegram, transport: str, token: str | None = None, **kwargs: Any
) -> AsyncIterator[Bot]:
    """A Bot on `transport`, used without `initialize` (as HTTPXRequest allows), so that a
    wrong token or a failing first call surfaces in the test; its requests are shut down."""
    fake.register_chats([CHAT, CHAT + 1])  # chats that talked to the bot: Telegram knows them
    requests = make_request(transport, **kwargs)
    updates = make_request(transport, **{**kwargs, "connection_pool_size": 1})
    try:
        yield Bot(token or fake.token, base_url=fake.base_url, request=requests,
                  get_updates_request=updates)  # fmt: skip
    finally:
        await requests.shutdown()
        await updates.shutdown()


# --------------------------------------------------------------------------- parity
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_send_message_round_trip(fake_telegram: FakeTelegram, transport: str) -> None:
    async with bot_for(fake_telegram, transport) as bot:
        message = await bot.send_message(CHAT, "Goal! <b>Japan</b> 1–0 &amp; more", "HTML")
    assert message.chat_id == CHAT and message.text == "Goal! Japan 1–0 & more"
    (call,) = fake_telegram.calls("sendMessage")
    assert call.params["text"] == "Goal! <b>Japan</b> 1–0 &amp; more"
    assert call.params["parse_mode"] == "HTML"


FAULTS: dict[str, tuple[FakeError, type[TelegramError], str]] = {
    "retry_after": (FakeError.retry_after(7), RetryAfter, "Flood control exceeded. Retry in 7"),
    "forbidden": (FakeError.forbidden(), Forbidden, "Forbidden: bot was blocked by the user"),
    "migrate": (FakeError.migrate(-1001234), ChatMigrated, "Group migrated to supergroup"),
    "bad_request": (FakeError.bad_request("message is bad"), BadRequest, "Message is bad"),
    "bad_gateway": (FakeError.server_error(502), NetworkError, "Bad Gateway"),
    "server_error": (FakeError.server_error(500), NetworkError, "Internal Server Error"),
    "dropped": (FakeError.drop_connection(), NetworkError, "isconnected"),
    "timed_out": (FakeError.timeout(2), TimedOut, "Timed out"),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("fault", list(FAULTS))
async def test_errors_map_as_with_httpx(
    fake_telegram: FakeTelegram, transport: str, fault: str
) -> None:
    error, expected, message = FAULTS[fault]
    fake_telegram.fail_next("sendMessage", CHAT, error=error)
    async with bot_for(fake_telegram, transport, read_timeout=0.3) as bot:
        await bot.get_me()
        with pytest.raises(expected) as caught:
            await bot.send_message(CHAT, "hello")
        assert type(caught.value) is expected
        assert message in str(caught.value)
        if expected is RetryAfter:
            assert caught.value.retry_after in (7, 7.0) or caught.value.retry_after.seconds == 7
        if expected is ChatMigrated:
            assert caught.value.new_chat_id == -1001234
        # The transport is healthy again afterwards.
        assert (await bot.send_message(CHAT, "again")).text == "again"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_invalid_token(fake_telegram: FakeTelegram, transport: str) -> None:
    async with bot_for(fake_telegram, transport, token="999:WRONG") as bot:
        with pytest.raises(InvalidToken):
            await bot.get_me()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connection_refused_is_a_network_error(transport: str) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nothing listens on `port` now
    request = make_request(transport)
    async with request:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe")
    assert not isinstance(caught.value, TimedOut)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pool_timeout(fake_telegram: FakeTelegram, transport: str) -> None:
    fake_telegram.fail_next("sendMessage", CHAT, error=FakeError.timeout(1.0))
    async with bot_for(fake_telegram, transport, connection_pool_size=1, pool_timeout=0.2) as bot:
        slow = asyncio.create_task(bot.send_message(CHAT, "slow"))
        await fake_telegram.wait_for(lambda: fake_telegram.calls("sendMessage"))
        with pytest.raises(TimedOut, match="Pool timeout"):
            await bot.send_message(CHAT + 1, "waits for the only connection")
        assert (await slow).text == "slow"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_write_timeout(transport: str) -> None:
    """A server that never reads: the body cannot be written, so the write timeout fires."""
    connected, done = asyncio.Event(), asyncio.Event()

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        await done.wait()
        writer.close()

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    data = RequestData(
        [RequestParameter.from_input("document", InputFile(b"x" * (64 << 20), filename="a.bin"))]
    )
    request = make_request(transport, read_timeout=30, media_write_timeout=0.5)
    try:
        async with request:
            started = time.monotonic()
            with pytest.raises(TimedOut):
                await request.post(f"http://127.0.0.1:{port}/bot1:x/sendDocument", data)
            assert time.monotonic() - started < 10
            assert connected.is_set()
    finally:
        done.set()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_multipart_upload_fields(fake_telegram: FakeTelegram, transport: str) -> None:
    # The fake has no sendDocument: it parses and records the multipart body, then answers
    # 404, which PTB maps to InvalidToken (as Telegram's 404 for an unknown method).
    async with bot_for(fake_telegram, transport) as bot:
        with pytest.raises(InvalidToken):
            await bot.send_document(CHAT, b"table\n", filename="table.txt", caption="Group H")
    (call,) = fake_telegram.calls("sendDocument")
    assert call.params["chat_id"] == CHAT
    assert call.params["caption"] == "Group H"
    assert call.params["document"]["filename"] == "table.txt"


# --------------------------------------------------------------------------- long polling
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_get_updates_long_poll_extends_the_read_timeout(
    fake_telegram: FakeTelegram, transport: str
) -> None:
    async with bot_for(fake_telegram, transport, read_timeout=0.5) as bot:
        started = time.monotonic()
        # 0.5 s read timeout, 2 s long poll: PTB waits read_timeout + timeout for the answer.
        assert await bot.get_updates(timeout=2) == ()
        assert 1.8 <= time.monotonic() - started < 5
        asyncio.get_running_loop().call_later(0.3, fake_telegram.push_message, CHAT, "/score")
        (update,) = await bot.get_updates(timeout=5)
        assert update.message.text == "/score"
        # An explicit read timeout is the base the poll's timeout is added to: 0.6 s alone
        # would time out before the 1 s poll ends; 0.6 + 1 leaves a busy machine 0.6 s.
        assert await bot.get_updates(timeout=1, read_timeout=0.6, offset=update.update_id + 1) == ()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_get_updates_read_timeout_fires(fake_telegram: FakeTelegram, transport: str) -> None:
    fake_telegram.fail_next("getUpdates", error=FakeError.timeout(3))
    async with bot_for(fake_telegram, transport, read_timeout=0.2) as bot:
        with pytest.raises(TimedOut):
            await bot.get_updates(timeout=0.5)  # waits 0.7 s, the answer comes after 3 s


# --------------------------------------------------------------------------- proxies
class RecordingProxy:
    """A minimal forward proxy on loopback: records each request line.

    Absolute-URI requests (plain http through a proxy) are forwarded to their target and the
    answer relayed; CONNECT (https through a proxy) is refused with 403 after recording.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._server: asyncio.Server | None = None
        self._client: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> RecordingProxy:
        self._client = aiohttp.ClientSession(trust_env=False)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._client is not None
        self._server.close()
        await self._client.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                line, *header_lines = head.decode("latin-1").split("\r\n")
                self.lines.append(line)
                method, target, _ = line.split(" ", 2)
                if method == "CONNECT":
                    writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    return
                headers = dict(h.split(": ", 1) for h in header_lines if h)
                lowered = {k.lower(): v for k, v in headers.items()}
                body = await reader.readexactly(int(lowered.get("content-length", 0)))
                assert self._client is not None
                forward = {"Content-Type": lowered.get("content-type", "text/plain")}
                async with self._client.request(method, target, data=body, headers=forward) as r:
                    answer = await r.read()
                    writer.write(
                        f"HTTP/1.1 {r.status} {r.reason}\r\nContent-Type: {r.content_type}\r\n"
                        f"Content-Length: {len(answer)}\r\n\r\n".encode()
                        + answer
                    )
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch.setenv


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_http_proxy_from_the_environment(
    fake_telegram: FakeTelegram, transport: str, no_proxy_env: Callable[[str, str], None]
) -> None:
    async with RecordingProxy() as proxy:
        no_proxy_env("HTTP_PROXY", proxy.url)
        async with bot_for(fake_telegram, transport) as bot:
            assert (await bot.send_message(CHAT, "via the proxy")).text == "via the proxy"
    assert f"POST {fake_telegram.base_url}{fake_telegram.token}/sendMessage HTTP/1.1" in (
        proxy.lines
    )
    assert fake_telegram.messages_to(CHAT) == ["via the proxy"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_no_proxy_names_hosts_reached_directly(
    fake_telegram: FakeTelegram, transport: str, no_proxy_env: Callable[[str, str], None]
) -> None:
    async with RecordingProxy() as proxy:
        no_proxy_env("HTTP_PROXY", proxy.url)
        no_proxy_env("NO_PROXY", "127.0.0.1")
        async with bot_for(fake_telegram, transport) as bot:
            await bot.send_message(CHAT, "straight there")
            await bot.send_message(CHAT, "and again")
    assert proxy.lines == []
    assert fake_telegram.messages_to(CHAT) == ["straight there", "and again"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_https_proxy_from_the_environment(
    transport: str, no_proxy_env: Callable[[str, str], None]
) -> None:
    # `.invalid` never resolves: only the loopback proxy is ever contacted.
    async with RecordingProxy() as proxy:
        no_proxy_env("HTTPS_PROXY", proxy.url)
        request = make_request(transport)
        bot = Bot("1:x", base_url="https://api.telegram.invalid/bot", request=request)
        try:
            with pytest.raises(NetworkError):
                await bot.get_me()
        finally:
            await request.shutdown()
    assert proxy.lines == ["CONNECT api.telegram.invalid:443 HTTP/1.1"]


async def test_explicit_proxy_argument(
    fake_telegram: FakeTelegram, no_proxy_env: Callable[[str, str], None]
) -> None:
    async with RecordingProxy() as proxy:
        request = AiohttpRequest(proxy=proxy.url)
        assert request.proxy == proxy.url
        fake_telegram.register_chat(CHAT)
        bot = Bot(fake_telegram.token, base_url=fake_telegram.base_url, request=request)
        async with bot:
            await bot.send_message(CHAT, "explicit")
    assert any(line.startswith(f"POST {fake_telegram.base_url}") for line in proxy.lines)


def test_unsupported_options_are_refused() -> None:
    with pytest.raises(ValueError, match="HTTP/2"):
        AiohttpRequest(http_version="2")
    with pytest.raises(ValueError, match="http"):
        AiohttpRequest(proxy="socks5://127.0.0.1:1080")


# --------------------------------------------------------------------------- lifecycle
async def test_shutdown_closes_the_session(fake_telegram: FakeTelegram) -> None:
    request = AiohttpRequest()
    assert request.read_timeout == 5.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await request.initialize()
        session = request.session
        assert session is not None and not session.closed
        status, body = await request.do_request(
            f"{fake_telegram.base_url}{fake_telegram.token}/getMe", "POST"
        )
        assert (
            status == 200 and json.loads(body)["result"]["username"] == fake_telegram.bot_username
        )
        await request.shutdown()
        assert session.closed and request.session is None
        with pytest.raises(RuntimeError, match="not initialized"):
            await request.do_request(f"{fake_telegram.base_url}{fake_telegram.token}/getMe", "POST")
        await request.shutdown()  # twice is harmless
        async with request:  # and it can be brought back
            assert request.session is not None and not request.session.closed
        del session
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)], [str(w.message) for w in caught]


async def test_used_without_initialize_like_httpx(fake_telegram: FakeTelegram) -> None:
    request = AiohttpRequest()
    try:
        status, _ = await request.do_request(
            f"{fake_telegram.base_url}{fake_telegram.token}/getMe", "POST"
        )
        assert status == 200
    finally:
        await request.shutdown()
    assert request.session is None


# --------------------------------------------------------------------------- wiring
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_build_application_uses_the_chosen_transport(transport: str, tmp_path: Any) -> None:
    settings = Settings.load(
        env={
            "TELEGRAM_BOT_TOKEN": "1:x",
            "MATCHDAY_DB": str(tmp_path / "m.db"),
            "MATCHDAY_HTTP": transport,
        }
    )
    application = build_application(settings, Clock(None, 1.0))
    updates, requests = application.bot._request
    expected = AiohttpRequest if transport == "aiohttp" else HTTPXRequest
    assert type(updates) is expected and type(requests) is expected
    if transport == "aiohttp":
        assert requests._pool_size == 128 and updates._pool_size == 1
