"""Delivery from the ledger's claims: fair, per platform and chat, through faults.

Real parts throughout: a real SQLite store, a real PTB Application posting over HTTP on
127.0.0.1 to the fake Bot API (which enforces Telegram's limits where a test says so), and
the real `Delivery` loop. Each test counts alerts lost and repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from discord.http import HTTPClient
from telegram.ext import Application

from bot.aiohttp_request import AiohttpRequest
from bot.clock import Clock
from bot.delivery import (
    CLAIM_AHEAD,
    MAX_ATTEMPTS,
    MAX_IN_FLIGHT,
    MIN_JITTER,
    Delivery,
    RateGate,
    Sender,
    backoff,
)
from bot.discord import DiscordSender
from bot.telegram import TelegramSender
from storage.ledger import Ledger
from storage.store import Store
from tests.conftest import build_store
from tests.fake_telegram import FakeError, FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram

NOW = datetime(2018, 7, 2, 19, 5, tzinfo=UTC)


async def seed(
    store: Store,
    platform: str,
    chat_ids: range,
    events: int = 1,
    *,
    fake: FakeTelegram | None = None,
) -> None:
    """`events` alert rows for each chat, event by event (as a goal's fan-out writes them).

    Telegram knows chats that talked to the bot: `fake` learns them (it refuses others).
    """
    if fake is not None:
        fake.register_chats(list(chat_ids))
    (match,) = await store._all("SELECT id FROM matches ORDER BY id LIMIT 1")
    chats = []
    for external in chat_ids:
        kind = "supergroup" if external < 0 else "private"
        chats.append(await store.ensure_chat(platform, external, kind, f"chat {external}", "UTC"))
    async with store.transaction() as db:
        for event in range(events):
            await db.execute_many(
                "INSERT INTO alerts(chat_id, match_id, event, text, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(c.id, match[0], f"e{event}", f"event {event} for {c.external_id}",
                  "2018-07-02T19:05:00Z") for c in chats],
            )  # fmt: skip


async def statuses(store: Store) -> Counter[str]:
    return Counter(row[0] for row in await store._all("SELECT status FROM alerts"))


@asynccontextmanager
async def telegram(fake: FakeTelegram) -> AsyncIterator[TelegramSender]:
    """A TelegramSender on a real PTB Application talking to the fake over HTTP."""
    app = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .request(AiohttpRequest(connection_pool_size=128))
        .build()
    )
    await app.initialize()
    try:
        yield TelegramSender(app)
    finally:
        await app.shutdown()


@asynccontextmanager
async def delivering(delivery: Delivery) -> AsyncIterator[Delivery]:
    """`Delivery.run` in the background, stopped the way a SIGTERM stops it."""
    task = asyncio.create_task(delivery.run())
    try:
        yield delivery
    finally:
        await delivery.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def texts_by_chat(fake: FakeTelegram) -> Counter[int]:
    return Counter(s.chat_id for s in fake.sent)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = await build_store(database_url, NOW)
    try:
        yield s
    finally:
        await s.close()


@pytest.mark.lenient_telegram("a fan-out at the paid-broadcast rate", overall_per_second=1000)
async def test_absent_and_logged_out_platforms_never_block_telegram(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    # 600 rows of the console (not run here) and 600 of Discord (not logged in) come first.
    await seed(store, "console", range(1, 601))
    await seed(store, "discord", range(1, 601))
    await seed(store, "telegram", range(5000, 7000), fake=fake_telegram)
    discord = DiscordSender(HTTPClient(asyncio.get_running_loop()), asyncio.Event())
    async with telegram(fake_telegram) as sender:
        senders: dict[str, Sender] = {"telegram": sender, "discord": discord}
        async with delivering(Delivery(store, senders, Clock(NOW), RateGate(1000))):
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent) >= 2000, timeout=120)
            for _ in range(20):
                if (await statuses(store))["sent"] == 2000:
                    break
                await asyncio.sleep(0.05)
            # Never claimed, so none ever held a send slot.
            assert (await statuses(store))["sending"] == 0
    got = texts_by_chat(fake_telegram)
    assert set(got) == set(range(5000, 7000)) and set(got.values()) == {1}
    assert await statuses(store) == Counter(pending=1200, sent=2000)
    assert fake_telegram.too_many_requests == 0


async def test_oldest_event_first_across_chats(store: Store, fake_telegram: FakeTelegram) -> None:
    # Two events for 60 chats at 30/s: every chat gets the first before anyone the second.
    await seed(store, "telegram", range(100, 160), fake=fake_telegram, events=2)
    async with telegram(fake_telegram) as sender:
        async with delivering(Delivery(store, {"telegram": sender}, Clock(NOW), RateGate(30))):
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent) >= 120, timeout=60)
    order = [s.text.split()[1] for s in sorted(fake_telegram.sent, key=lambda s: s.time)]
    assert order == ["0"] * 60 + ["1"] * 60
    for chat in range(100, 160):  # in order within each chat, once each
        assert fake_telegram.messages_to(chat) == [f"event {i} for {chat}" for i in range(2)]
    assert fake_telegram.too_many_requests == 0


async def test_a_429_for_one_chat_holds_that_chat_only(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    await seed(store, "telegram", range(200, 220), fake=fake_telegram, events=3)
    slow = 205
    fake_telegram.fail_next("sendMessage", slow, error=FakeError.retry_after(3))
    async with telegram(fake_telegram) as sender:
        async with delivering(Delivery(store, {"telegram": sender}, Clock(NOW), RateGate(30))):
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent) >= 60, timeout=60)
    calls = fake_telegram.calls("sendMessage")
    (limited,) = [c for c in calls if c.status == 429]
    retried = next(c for c in calls if c.params["chat_id"] == slow and c.time > limited.time)
    assert retried.time - limited.time >= 2.9  # that chat waited out its retry_after
    others = [s for s in fake_telegram.sent if limited.time < s.time < retried.time]
    assert len({s.chat_id for s in others}) >= 10  # while the rest went on
    for chat in range(200, 220):
        assert fake_telegram.messages_to(chat) == [f"event {i} for {chat}" for i in range(3)]


async def test_429s_across_chats_pause_the_platform(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    await seed(store, "telegram", range(300, 330), fake=fake_telegram, events=2)
    for chat in (300, 301, 302):
        fake_telegram.fail_next("sendMessage", chat, error=FakeError.retry_after(2))
    async with telegram(fake_telegram) as sender:
        async with delivering(Delivery(store, {"telegram": sender}, Clock(NOW), RateGate(20))):
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent) >= 60, timeout=60)
    calls = sorted(fake_telegram.calls("sendMessage"), key=lambda c: c.time)
    third = [c for c in calls if c.status == 429][2]
    # Requests already on their way may land; nothing new starts until the pause is over.
    during = [c for c in calls if third.time + 0.3 < c.time < third.time + 1.9]
    assert during == []
    assert Counter(s.chat_id for s in fake_telegram.sent) == {c: 2 for c in range(300, 330)}


async def test_a_chat_telegram_does_not_know_is_deactivated_not_retried(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    """"chat not found" (a deleted group, a wrong id) stops that chat's alerts, as a block
    does, instead of failing each of them with a request of its own."""
    await seed(store, "telegram", range(700, 703), events=2)
    fake_telegram.register_chats([700, 702])  # 701 is gone
    async with telegram(fake_telegram) as sender:
        async with delivering(Delivery(store, {"telegram": sender}, Clock(NOW), RateGate(30))):
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent) >= 4, timeout=60)
            for _ in range(200):
                if (await statuses(store))["inactive"] == 2:
                    break
                await asyncio.sleep(0.05)
    assert await statuses(store) == Counter(sent=4, inactive=2)
    gone = await store.chat("telegram", 701)
    assert gone is not None and not gone.active
    refused = [c for c in fake_telegram.calls("sendMessage") if c.params["chat_id"] == 701]
    assert [c.status for c in refused] == [400]  # its second alert was never tried


async def test_a_refused_token_pauses_telegram_with_one_clear_line(
    store: Store, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(store, "telegram", range(400, 450), fake=fake_telegram)
    caplog.set_level(logging.WARNING, logger="matchday.delivery")
    fake_telegram.fail_next("sendMessage", None, 10**9, error=FakeError.unauthorized())
    async with telegram(fake_telegram) as sender:
        delivery = Delivery(store, {"telegram": sender}, Clock(NOW), RateGate(30))
        async with delivering(delivery):
            await fake_telegram.wait_for(lambda: fake_telegram.calls("sendMessage"), timeout=10)
            await asyncio.sleep(1.0)  # long enough for a spin to show
        assert delivery.gate.paused_for("telegram") > 60
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "refused our credentials" in errors[0].getMessage()
    assert fake_telegram.token not in caplog.text  # the token is never in a log line
    assert len(fake_telegram.calls("sendMessage")) <= 5  # the gate's burst, then the pause
    assert await statuses(store) == Counter(pending=50)  # nothing failed, all wait
    (spent,) = (await store._one("SELECT MAX(attempts) FROM alerts")) or (None,)
    assert spent == 0


async def test_a_non_json_answer_is_retried_not_dropped(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    await seed(store, "telegram", range(500, 503), fake=fake_telegram)
    fake_telegram.fail_next("sendMessage", 501, error=FakeError.not_json())
    clock = Clock(NOW, speed=60)  # backoff runs on the bot's clock
    async with telegram(fake_telegram) as sender:
        async with delivering(Delivery(store, {"telegram": sender}, clock, RateGate(30))):
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent) >= 3, timeout=20)
    assert texts_by_chat(fake_telegram) == {500: 1, 501: 1, 502: 1}


async def test_a_twenty_minute_outage_loses_nothing(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    await seed(store, "telegram", range(600, 610), fake=fake_telegram, events=2)
    fake_telegram.fail_next("sendMessage", None, 10**9, error=FakeError.server_error(502))
    clock = Clock(NOW, speed=600)  # 20 minutes in 2 s
    async with telegram(fake_telegram) as sender:
        async with delivering(Delivery(store, {"telegram": sender}, clock, RateGate(30))):
            await asyncio.sleep((timedelta(minutes=20) - (clock.now() - NOW)).total_seconds()
                                / clock.speed)  # until the clock says the outage is over
            fake_telegram.clear_faults()
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent) >= 20, timeout=30)
            failed_calls = [c for c in fake_telegram.calls("sendMessage") if c.status == 502]
    # Each chat was tried again and again (at most once a real second: Telegram's per-chat
    # pace), never given up on.
    assert len(failed_calls) >= 2 * 10
    for chat in range(600, 610):
        assert fake_telegram.messages_to(chat) == [f"event {i} for {chat}" for i in range(2)]
    assert (await statuses(store))["failed"] == 0


def test_transient_failures_are_retried_for_at_least_an_hour() -> None:
    shortest = sum(backoff(n, MIN_JITTER) for n in range(MAX_ATTEMPTS - 1))
    longest = sum(backoff(n, 1.0) for n in range(MAX_ATTEMPTS - 1))
    assert 3600 <= shortest and longest <= 2 * 3600, (shortest, longest)


class Operator:
    """Another process's connection to the store's database, on either engine: it holds the
    write lock for a while, then makes every sent mark fail for a while."""

    def __init__(self, store: Store, database_url: str) -> None:
        self.engine = store.db.dialect.engine
        self.url = database_url
        self._sqlite: sqlite3.Connection | None = None
        self._pg: asyncpg.Connection | None = None

    async def __aenter__(self) -> Operator:
        if self.engine == "sqlite":
            self._sqlite = sqlite3.connect(self.url, isolation_level=None, check_same_thread=False)
        else:
            self._pg = await asyncpg.connect(self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None:
            await self._pg.close()

    async def sql(self, statement: str) -> None:
        if self._sqlite is not None:  # its calls block: run them off the event loop
            await asyncio.to_thread(self._sqlite.execute, statement)
        else:
            assert self._pg is not None
            await self._pg.execute(statement)

    async def hold_the_write_lock(self, seconds: float) -> None:
        """SQLite: longer than the 5 s busy timeout, so writes fail. PostgreSQL: writes to
        the ledger wait behind the lock (reads go on), then proceed."""
        if self.engine == "sqlite":
            await self.sql("BEGIN IMMEDIATE")
        else:
            await self.sql("BEGIN; LOCK TABLE alerts IN EXCLUSIVE MODE")
        await asyncio.sleep(seconds)
        await self.sql("COMMIT")

    async def fail_sent_marks(self, seconds: float) -> None:
        if self.engine == "sqlite":
            await self.sql(
                "CREATE TRIGGER fail_marks BEFORE UPDATE OF status ON alerts "
                "WHEN NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        else:
            await self.sql(
                "CREATE FUNCTION fail_marks() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk I/O error'; END $$; "
                "CREATE TRIGGER fail_marks BEFORE UPDATE OF status ON alerts FOR EACH ROW "
                "WHEN (NEW.status = 'sent') EXECUTE FUNCTION fail_marks()"
            )
        await asyncio.sleep(seconds)
        on = "" if self.engine == "sqlite" else " ON alerts"
        await self.sql(f"DROP TRIGGER fail_marks{on}")


@pytest.mark.lenient_telegram("ledger faults under a 200/s paid broadcast", overall_per_second=200)
async def test_a_locked_database_and_failing_writes_lose_and_repeat_nothing(
    store: Store, fake_telegram: FakeTelegram, database_url: str
) -> None:
    await seed(store, "telegram", range(10_000, 10_400), fake=fake_telegram)
    async with telegram(fake_telegram) as sender, Operator(store, database_url) as operator:
        async with delivering(Delivery(store, {"telegram": sender}, Clock(NOW), RateGate(200))):
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent) >= 50, timeout=30)
            await operator.hold_the_write_lock(6.0)
            await operator.fail_sent_marks(1.0)
            await fake_telegram.wait_for(lambda: len(fake_telegram.sent) >= 400, timeout=60)
            for _ in range(100):
                if (await statuses(store))["sent"] == 400:
                    break
                await asyncio.sleep(0.05)
    got = texts_by_chat(fake_telegram)
    assert set(got) == set(range(10_000, 10_400)) and set(got.values()) == {1}
    assert await statuses(store) == Counter(sent=400)
    # Logged, counted for /stats, and delivery carried on by itself.
    assert store.health.errors["sent marks"] >= 1, store.health.lines()
    # SQLite's lock also failed writes (busy timeout); PostgreSQL's only made them wait.
    least = 2 if store.db.dialect.engine == "sqlite" else 1
    assert sum(store.health.errors.values()) >= least, store.health.lines()


@pytest.mark.lenient_telegram("claims refill while sends run at 1000/s", overall_per_second=1000)
async def test_claims_never_exceed_the_send_slots(
    store: Store, fake_telegram: FakeTelegram
) -> None:
    await seed(store, "telegram", range(20_000, 20_600), fake=fake_telegram)
    most = 0
    async with telegram(fake_telegram) as sender:
        delivery = Delivery(store, {"telegram": sender}, Clock(NOW), RateGate(1000))
        async with delivering(delivery):
            while len(fake_telegram.sent) < 600:
                most = max(most, await delivery.ledger.claimed())
                await asyncio.sleep(0.01)
    assert 0 < most <= MAX_IN_FLIGHT * CLAIM_AHEAD
    assert set(texts_by_chat(fake_telegram).values()) == {1}


async def test_a_batch_of_marks_lands_each_message_id_on_its_own_row(store: Store) -> None:
    """mark_sent and release write a batch with one UPDATE per chunk (not one per row): each
    row still gets its own message id (Discord's exceed 32 bits; None stays NULL), its own
    attempt, and release touches only rows still `sending`. More rows than a chunk."""
    await seed(store, "telegram", range(1, 351))
    ledger = Ledger(store)
    claimed = await ledger.claim(["telegram"], NOW.timestamp(), 350)
    assert len(claimed) == 350 and await ledger.claimed() == 350
    ids = [a.id for a in claimed]
    sent = {i: (None if i % 7 == 0 else 2**40 + i * 3) for i in ids[:320]}
    await ledger.mark_sent(sent.items(), NOW)
    rows = await store._all("SELECT id, status, message_id, attempts, sent_at FROM alerts")
    by_id = {row[0]: tuple(row[1:]) for row in rows}
    for i in ids[:320]:
        assert by_id[i] == ("sent", sent[i], 1, "2018-07-02T19:05:00Z")
    # Back to pending: the sent rows are left alone (the `sending` guard), the rest counted.
    await ledger.release(ids, 99.0, "x" * 600, attempt=True)
    rows = await store._all("SELECT id, status, attempts, next_attempt_at, last_error FROM alerts")
    by_id = {row[0]: tuple(row[1:]) for row in rows}
    assert all(by_id[i][:2] == ("sent", 1) and by_id[i][3] is None for i in ids[:320])
    assert all(by_id[i] == ("pending", 1, 99.0, "x" * 500) for i in ids[320:])
    assert await ledger.claimed() == 0
