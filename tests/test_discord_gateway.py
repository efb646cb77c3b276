"""The gateway session under Discord's faults: RECONNECT, 4000, INVALID_SESSION — and a
refused token, which must end Discord alone, in one log line, while Telegram answers on in
the same process. Plus the fake's own protocol, spoken by hand in plain JSON frames."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.clock import Clock
from bot.discord import run_discord
from bot.settings import Settings, SettingsError
from tests.conftest import NOW
from tests.discord_harness import discord_bot, discord_env, until
from tests.discord_harness import fake as fake
from tests.discord_harness import restore_discord_addresses as restore_discord_addresses
from tests.fake_discord import FakeDiscord
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import running_bot

ROOT = Path(__file__).resolve().parent.parent


def test_discord_gateway_url_setting() -> None:
    assert Settings.load(env={}).discord_gateway_url == "wss://gateway.discord.gg/"
    proxy = Settings.load(env={"DISCORD_GATEWAY_URL": "wss://gw.example.org/"})
    assert proxy.discord_gateway_url == "wss://gw.example.org/"
    with pytest.raises(SettingsError, match="DISCORD_GATEWAY_URL"):
        Settings.load(env={"DISCORD_GATEWAY_URL": "https://discord.com/api/v10"})


async def still_answers(fake: FakeDiscord) -> None:
    reply = await fake.answer(await fake.slash("score", team="Belgium"))
    assert reply.content.startswith("**Belgium 3–2 Japan**")


async def test_a_heartbeat_asked_for_is_sent_and_acknowledged(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    async with discord_bot(fake, tmp_path / "bot.db") as (_, client):
        (connection,) = fake.gateway.connections
        before = connection.heartbeats
        await fake.gateway.request_heartbeat()
        await until(fake, lambda: connection.heartbeats > before, client)
        assert connection.sent[-1]["op"] == 11  # ACK
        (beat,) = connection.ops(1)[before:]
        assert beat["d"] == fake.gateway.session.seq  # the last sequence it saw


@pytest.mark.parametrize("fault", ["reconnect", "close 4000"])
async def test_reconnect_and_4000_resume_the_session(
    fake: FakeDiscord, tmp_path: Path, fault: str
) -> None:
    async with discord_bot(fake, tmp_path / "bot.db") as (_, client):
        gateway = fake.gateway
        session = gateway.session
        assert session is not None
        if fault == "reconnect":
            await gateway.reconnect()
        else:
            await gateway.close(4000, "Unknown error")
        await until(fake, lambda: session.resumes == 1 and gateway.connected, client)
        assert [c.path for c in gateway.connections] == ["/gateway/", "/resume/"]
        assert len(gateway.sessions) == 1
        await still_answers(fake)


async def test_an_invalid_session_identifies_afresh_at_the_gateway_url(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    """INVALID_SESSION (not resumable): discord.py forgets the resume URL and identifies
    again at DEFAULT_GATEWAY — DISCORD_GATEWAY_URL, not discord.gg."""
    async with discord_bot(fake, tmp_path / "bot.db") as (_, client):
        gateway = fake.gateway
        await gateway.invalidate(resumable=False)
        await until(fake, lambda: len(gateway.sessions) == 2 and gateway.ready(), client)
        assert [c.path for c in gateway.connections] == ["/gateway/", "/gateway/"]
        assert len(gateway.connections[1].ops(2)) == 1  # a new IDENTIFY
        await still_answers(fake)


async def test_a_refused_resume_identifies_afresh(fake: FakeDiscord, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "bot.db") as (_, client):
        gateway = fake.gateway
        old = gateway.session
        assert old is not None
        old.invalid = True  # Discord forgot the session while the connection was down
        await gateway.drop()
        await until(fake, lambda: len(gateway.sessions) == 2 and gateway.ready(), client)
        _, resumed, identified = gateway.connections
        assert resumed.path == "/resume/" and len(resumed.ops(6)) == 1
        assert resumed.sent[-1]["op"] == 9 and resumed.sent[-1]["d"] is False
        assert len(identified.ops(2)) == 1 and not identified.ops(6)  # a new session
        await still_answers(fake)


# -- a refused token ends Discord, not the process ---------------------------------------------


@pytest.mark.parametrize("refusal", ["401 at login", "4004 at the gateway"])
async def test_a_refused_token_ends_discord_while_telegram_runs_on(
    fake: FakeDiscord, fake_telegram: FakeTelegram, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, refusal: str,
) -> None:  # fmt: skip
    env = discord_env(fake, tmp_path / "unused.db")
    del env["MATCHDAY_DB"]
    if refusal.startswith("401"):
        env["DISCORD_BOT_TOKEN"] = "MTIzNDU2.refused.not-this-bot"
    else:
        fake.gateway.refuse_identify = True
    caplog.set_level(logging.INFO)
    async with running_bot(fake_telegram, tmp_path / "bot.db", **env) as application:
        client = application.bot_data["discord"]
        assert client.runner is not None
        await asyncio.wait({client.runner})  # Discord ends by itself...
        assert client.is_closed()
        fake_telegram.push_message(77, "/score Belgium")  # ...and Telegram answers on
        (reply,) = await fake_telegram.wait_for_messages(77, 1)
        assert "Belgium" in reply
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    (line,) = errors
    assert "DISCORD_BOT_TOKEN" in line.getMessage()
    assert ("401" if refusal.startswith("401") else "4004") in line.getMessage()
    assert "the Discord front end is off" in line.getMessage()
    assert not any(env["DISCORD_BOT_TOKEN"] in r.getMessage() for r in caplog.records)
    if refusal.startswith("4004"):
        (connection,) = fake.gateway.connections
        assert connection.closed_with == 4004


async def test_discord_alone_with_a_refused_token_ends_the_run(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    """`matchday run` with only DISCORD_BOT_TOKEN: nothing left to run, so it ends with the
    reason (the CLI prints it and exits 2)."""
    fake.gateway.refuse_identify = True
    settings = Settings.load(env=discord_env(fake, tmp_path / "bot.db"))
    with pytest.raises(SettingsError, match=r"DISCORD_BOT_TOKEN .*4004"):
        await run_discord(settings, Clock(NOW, 1.0))


# -- the fake's protocol, by hand ----------------------------------------------------------------


async def test_plain_json_frames_hello_identify_ready_heartbeat(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
            hello = json.loads((await ws.receive()).data)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41_250
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 1,
                                               "properties": {}}})  # fmt: skip
            ready = await ws.receive_json()
            assert (ready["op"], ready["t"], ready["s"]) == (0, "READY", 1)
            assert ready["d"]["resume_gateway_url"] == fake.gateway.resume_url
            guild = await ws.receive_json()
            assert (guild["t"], guild["s"]) == ("GUILD_CREATE", 2)
        async with session.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
            await ws.receive()  # HELLO
            await ws.send_json({"op": 2, "d": {"token": "nope", "properties": {}}})
            closing = await ws.receive()
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4004


async def test_matchday_run_with_both_tokens_and_discord_refused(
    fake: FakeDiscord, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    """As an operator starts it: `matchday run` with both tokens, the gateway refusing the
    Discord token. One log line says so; Telegram answers on; no token in the log."""
    fake.gateway.refuse_identify = True
    log_path = tmp_path / "bot.log"
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": fake_telegram.token,
           "TELEGRAM_API_URL": fake_telegram.base_url, "MATCHDAY_DB": str(tmp_path / "bot.db"),
           **discord_env(fake, tmp_path / "bot.db")}  # fmt: skip
    with log_path.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--now", "2018-07-03T12:00:00Z",
            cwd=ROOT, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        await fake.wait_for(lambda: any(c.closed_with == 4004 for c in fake.gateway.connections))
        fake_telegram.push_message(77, "/score Belgium")
        (reply,) = await fake_telegram.wait_for_messages(77, 1, timeout=60)
        assert "Belgium" in reply
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    log = log_path.read_text()
    errors = [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line]
    assert errors == [line for line in errors if "DISCORD_BOT_TOKEN" in line], errors
    assert len(errors) == 1 and "4004" in errors[0], log
    assert fake.token not in log and fake_telegram.token not in log
