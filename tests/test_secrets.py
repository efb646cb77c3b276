"""The bot token never leaves the process, and TLS is verified with certifi's bundle."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import certifi
import pytest
from aiohttp import web
from telegram.error import NetworkError, TimedOut

from bot.aiohttp_request import AiohttpRequest, redact
from tests.harness import transport as transport

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAH-secret_Token-value"


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose listener never accepts and whose queue is full: a connect there hangs until
    the client's connect timeout, the error aiohttp words with the full URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    try:
        yield port
    finally:
        for sock in (*fillers, server):
            sock.close()


def closed_port() -> int:
    """A port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is not None and item not in seen:
            seen.append(item)
            todo += [item.__cause__, item.__context__]
    return seen


def assert_no_token(exc: BaseException) -> None:
    printed = "".join(traceback.format_exception(exc))
    assert TOKEN not in printed, printed
    for item in chain(exc):
        assert TOKEN not in repr(item) and TOKEN not in str(item.args), repr(item)


def run_bot(api_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api_url,
        "MATCHDAY_DB": str(tmp_path / "bot.db"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


# -- the token -------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["refused", "unanswered"])
def test_a_bot_that_cannot_reach_telegram_never_prints_its_token(
    transport: str, tmp_path: Path, where: str
) -> None:
    if where == "refused":
        done = run_bot(f"http://127.0.0.1:{closed_port()}/bot", tmp_path)
    else:
        with unanswered_port() as port:
            done = run_bot(f"http://127.0.0.1:{port}/bot", tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" in output  # the exit traceback, printed by Python past any log filter
    assert TOKEN not in output and TOKEN.split(":")[1] not in output, output


async def test_transport_errors_carry_no_token() -> None:
    request = AiohttpRequest(connect_timeout=0.5)
    await request.initialize()
    try:
        with unanswered_port() as port:
            with pytest.raises(TimedOut) as timed_out:
                await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
        with pytest.raises(NetworkError) as refused:
            await request.do_request(f"http://127.0.0.1:{closed_port()}/bot{TOKEN}/getMe", "POST")
        with pytest.raises(NetworkError) as bad_url:
            await request.do_request(f"http://127.0.0.1:99999/bot{TOKEN}/getMe", "POST")
    finally:
        await request.shutdown()
    assert "Connection timeout" in str(timed_out.value) and "/bot[redacted]/" in str(
        timed_out.value
    )
    assert "Cannot connect to host" in str(refused.value)
    for caught in (timed_out, refused, bad_url):
        assert_no_token(caught.value)
        assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_redact_takes_the_token_out_in_any_spelling() -> None:
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    for text in (url, url.replace(":", "%3A"), f"file/bot{TOKEN}/photos/1.jpg", f"x {TOKEN} y"):
        assert TOKEN not in redact(text, url) and "%3AAAH" not in redact(text, url)


# -- TLS -------------------------------------------------------------------------------------


def test_tls_is_verified_with_certifis_bundle() -> None:
    context = AiohttpRequest().ssl_context
    expected = ssl.create_default_context(cafile=certifi.where())
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) > 100
    assert context.get_ca_certs() == expected.get_ca_certs()


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a certificate no public CA signed."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_an_untrusted_certificate_is_refused(self_signed: ssl.SSLContext) -> None:
    async def ok(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/bot{rest:.*}", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self_signed)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            await request.do_request(f"https://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
    finally:
        await request.shutdown()
        await runner.cleanup()
    assert_no_token(caught.value)


def test_one_context_for_every_transport() -> None:
    """Built once per process: loading ~150 certificates costs milliseconds per session."""
    assert AiohttpRequest().ssl_context is AiohttpRequest().ssl_context
