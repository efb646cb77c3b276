"""Replicas: two real `matchday run` processes in webhook mode on one real PostgreSQL database.

Telegram (the fake, its 30/s overall limit on) POSTs updates to one URL, a tiny round-robin
forwarder standing in for the load balancer: that is how replicas are deployed (both register
the same URL and secret), and it shows each replica answering commands. The feed is the
football-data fake, whose match the test scores by hand, so every step waits for an event
(a log line, a count at the fake, the ledger), not for the clock; timeouts are safety nets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web

from bot.core import EXIT_LEADERSHIP_LOST
from feeds.football_data.parsing import parse_match
from handlers.alerts import render_alert
from storage.store import Store
from tests.fake_football_data import FakeFootballData, v4_goal, v4_match
from tests.fake_telegram import FakeTelegram
from tests.fake_webhook import SECRET_HEADER
from tests.test_ops import free_port

ROOT = Path(__file__).resolve().parent.parent
BEL, JPN = ("Belgium", "BEL"), ("Japan", "JPN")
MATCH = 7001
FOLLOWERS = range(1, 1001)  # chat ids
ASKERS = (5001, 5002)  # chats that only ask /score, during the fan-out
FD_TOKEN = "fd-replicas-secret-9f3e"
PATH = "/telegram/updates"


class Forwarder:
    """The load balancer: each update to the next replica in turn, or the one after it if
    that one does not answer (a health check's effect, without the wait)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.served: Counter[int] = Counter()  # updates each replica accepted
        self._turn = 0
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Forwarder:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post(PATH, self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}{PATH}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None and self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        if SECRET_HEADER in request.headers:
            headers[SECRET_HEADER] = request.headers[SECRET_HEADER]
        for _ in self.ports:
            port = self.ports[self._turn % len(self.ports)]
            self._turn += 1
            try:
                url = f"http://127.0.0.1:{port}{PATH}"
                async with self._session.post(url, data=body, headers=headers) as answer:
                    if answer.status < 300:
                        self.served[port] += 1
                    return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientError:
                continue
        return web.Response(status=502)


def environment(fake: FakeTelegram, fd: FakeFootballData, db: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM", "MATCHDAY", "DISCORD", "FOOTBALL", "API_FOOTBALL"))}
    env.update({
        "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "MATCHDAY_DB": db,
        "MATCHDAY_FEED": "football-data", "FOOTBALL_DATA_TOKEN": fd.token,
        "FOOTBALL_DATA_URL": fd.url, "FOOTBALL_DATA_COMPETITIONS": "WC",
        "FOOTBALL_DATA_RATE": "100000", "MATCHDAY_POLL_SECONDS": "1", **extra,
    })  # fmt: skip
    return env


@contextlib.asynccontextmanager
async def replica(env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """A real `matchday run` on the real clock: replicas share time only if it is real."""
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def logged(log: Path, text: str, process: asyncio.subprocess.Process) -> None:
    """Until the process's log says `text` (it failing first fails the test)."""
    async with asyncio.timeout(90):  # a safety net: the event is the log line
        while text not in log.read_text():  # noqa: ASYNC240 - a small local file
            assert process.returncode is None, log.read_text()[-3000:]  # noqa: ASYNC240
            await asyncio.sleep(0.1)


def match(scheduled: datetime, goals: list[tuple[int, str]]) -> dict[str, object]:
    """Belgium v Japan in play; `goals` as (minute, scorer) for Japan."""
    nodes = [v4_goal(minute, JPN, scorer, score=(0, n))
             for n, (minute, scorer) in enumerate(goals, 1)]  # fmt: skip
    return v4_match(MATCH, BEL, JPN, scheduled, "IN_PLAY", (0, len(goals)), minute=30,
                    goals=nodes)  # fmt: skip


async def seed_followers(url: str, scheduled: datetime) -> None:
    """The match as a poll stored it, and 1,000 chats following Japan, through the store (as
    /follow leaves them), before the replicas start: a live match with followers is polled
    every 30 s from the first look."""
    store = await Store.open(url)
    try:
        now = datetime.now(UTC)
        await store.apply([parse_match(match(scheduled, []))], now, render_alert, silent=True)
        (japan,) = [t for t in await store.teams() if t.name == "Japan"]
        for chat_id in FOLLOWERS:
            chat = await store.ensure_chat("telegram", chat_id, "private", f"fan {chat_id}", "UTC")
            await store.set_reminders(chat.id, [])
            await store.follow(chat.id, "team", japan.id, now)
    finally:
        await store.close()


async def test_two_replicas_share_the_work_and_survive_a_sigkill(
    postgres_url: str, tmp_path: Path
) -> None:
    scheduled = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    async with (
        FakeTelegram(enforce_limits=True) as fake,
        FakeFootballData(token=FD_TOKEN, quota_per_minute=100_000) as fd,
    ):
        fd.set_match(match(scheduled, []))
        await seed_followers(postgres_url, scheduled)
        fake.register_chats(list(FOLLOWERS))  # they started the bot (the fake is strict)
        ports = [free_port(), free_port()]
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        async with Forwarder(ports) as forwarder:
            envs = [
                environment(fake, fd, postgres_url, MATCHDAY_WEBHOOK_URL=forwarder.url,
                            MATCHDAY_WEBHOOK_LISTEN=f"127.0.0.1:{port}")
                for port in ports
            ]  # fmt: skip
            async with replica(envs[0], logs[0]) as first:
                # The first one up runs the engine and Telegram's delivery...
                await logged(logs[0], "now runs engine", first)
                await logged(logs[0], "now runs delivery:telegram", first)
                async with replica(envs[1], logs[1]) as second:
                    # ... the second answers commands and stands by.
                    await fake.wait_for(lambda: len(fake.calls("setWebhook")) == 2, timeout=90)
                    await goal_reaches_every_follower_once(
                        fake, fd, scheduled, [(31, "Osako")], "0–1", ASKERS
                    )
                    await ledger_settled(postgres_url)
                    # SIGKILL the holder of everything between two goals: nothing in flight.
                    first.send_signal(signal.SIGKILL)
                    await first.wait()
                    await logged(logs[1], "now runs engine", second)
                    await logged(logs[1], "now runs delivery:telegram", second)
                    await goal_reaches_every_follower_once(
                        fake, fd, scheduled, [(31, "Osako"), (40, "Inui")], "0–2", ()
                    )
                    await ledger_settled(postgres_url)
                    second.send_signal(signal.SIGTERM)
                    async with asyncio.timeout(30):
                        assert await second.wait() == 0
        received = Counter(s.chat_id for s in fake.sent if s.chat_id in FOLLOWERS)
        assert set(received.values()) == {2} and len(received) == len(FOLLOWERS)
        for chat_id in (1, 500, 1000):
            first_goal, second_goal = fake.messages_to(chat_id)
            assert "0–1" in first_goal and "0–2" in second_goal
        assert fake.too_many_requests == 0, "a 429: the replicas sent over 30/s together"
        # The rate over any 5 s: loopback HTTP on a busy machine can bunch single seconds
        # (the fake's token bucket, like Telegram's, takes such bursts: no 429 above).
        assert busiest(fake, 5.0) <= 5 * 30
        assert len({c.params["secret_token"] for c in fake.calls("setWebhook")}) == 1
        assert all(forwarder.served[port] >= 1 for port in ports), forwarder.served


async def goal_reaches_every_follower_once(
    fake: FakeTelegram, fd: FakeFootballData, scheduled: datetime,
    goals: list[tuple[int, str]], score: str, askers: tuple[int, ...],
) -> None:  # fmt: skip
    """Score the goal at the feed; every follower gets its alert (and the askers a reply,
    from whichever replica the forwarder picks, while the fan-out runs)."""
    fd.set_match(match(scheduled, goals))
    told = f"Belgium {score} Japan"

    def alerted() -> int:
        return sum(1 for s in fake.sent if told in s.text and s.chat_id in FOLLOWERS)

    await fake.wait_for(lambda: alerted() >= 100, timeout=120)
    for chat_id in askers:  # mid fan-out: replies share the 30/s with the alerts
        fake.push_message(chat_id, "/score Japan")
    for chat_id in askers:
        (reply,) = await fake.wait_for_messages(chat_id, 1, timeout=60)
        assert told in reply
    await fake.wait_for(lambda: alerted() >= len(FOLLOWERS), timeout=180)


async def ledger_settled(url: str) -> None:
    """Until every alert row is marked sent (the marks are what a takeover reads)."""

    async def settled() -> bool:
        conn = await asyncpg.connect(url)
        try:
            return not await conn.fetchval(
                "SELECT count(*) FROM alerts WHERE status IN ('pending', 'sending')"
            )
        finally:
            await conn.close()

    async with asyncio.timeout(60):
        while not await settled():  # noqa: ASYNC110 - another process's rows: no event
            await asyncio.sleep(0.2)


def busiest(fake: FakeTelegram, window: float) -> int:
    """The most sendMessage calls the fake received within any `window` seconds."""
    times = sorted(c.time for c in fake.calls("sendMessage"))
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_a_replica_that_loses_its_lock_session_stops_at_once(
    postgres_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    async with (
        FakeTelegram() as fake,
        FakeFootballData(token=FD_TOKEN, quota_per_minute=100_000) as fd,
        replica(environment(fake, fd, postgres_url), log) as process,
    ):
        await logged(log, "now runs delivery:telegram", process)
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'matchday-leadership' AND datname = current_database()"
            )
        finally:
            await admin.close()
        async with asyncio.timeout(30):
            assert await process.wait() == EXIT_LEADERSHIP_LOST
    assert "stopping this process at once" in log.read_text()
