"""The ledger stays small: settled rows pruned by age on the clock, /stats read from indexes."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core import PRUNE_BATCH
from bot.importer import print_stats
from bot.settings import Settings, SettingsError
from handlers.alerts import render_alert
from storage.db import Connection
from storage.store import Store
from storage.times import to_db
from tests.conftest import NOW, SQLITE_ONLY, ask, build_store, plain_text
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import core_of, running_bot
from tests.test_delivery import BEFORE_HARAGUCHI, seed_followers
from tests.test_store import BELGIUM_JAPAN, at, chat, follow, replayed

OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=5)


async def add_rows(db: Connection, chat_id: int, prefix: str, n: int, status: str,
                   when: datetime, expires_at: datetime | None = None) -> None:  # fmt: skip
    """`n` ledger rows created (and, if sent, sent) at `when`, written beside the store."""
    row = await db.fetch_one("SELECT id FROM matches WHERE key = ?", (BELGIUM_JAPAN,))
    assert row is not None
    sent_at = to_db(when) if status == "sent" else None
    expiry = to_db(expires_at) if expires_at else None
    await db.execute_many(
        "INSERT INTO alerts(chat_id, match_id, event, text, created_at, expires_at, status, "
        "sent_at) VALUES (?, ?, ?, 'text', ?, ?, ?, ?)",
        [(chat_id, row[0], f"{prefix}:{i}", to_db(when), expiry, status, sent_at)
         for i in range(n)],
    )  # fmt: skip


async def seed_history(db: Connection, chat_id: int) -> None:
    await add_rows(db, chat_id, "old-sent", 1_200, "sent", OLD)
    await add_rows(db, chat_id, "old-failed", 150, "failed", OLD)
    await add_rows(db, chat_id, "old-expired", 100, "expired", OLD)
    await add_rows(db, chat_id, "recent-sent", 70, "sent", RECENT)
    await add_rows(db, chat_id, "old-pending", 5, "pending", OLD)  # still to send: never pruned
    await add_rows(db, chat_id, "old-inactive", 3, "inactive", OLD)
    # A reminder sent long ago for a kick-off still ahead: it stops a second reminder.
    await add_rows(db, chat_id, "reminder", 1, "sent", OLD, expires_at=NOW + timedelta(days=1))


async def statuses(db: Connection) -> dict[str, int]:
    """Ledger rows by the prefix of their event (what `add_rows` was asked for)."""
    rows = await db.fetch_all("SELECT event FROM alerts")
    return dict(Counter(event.split(":", 1)[0] for (event,) in rows))


async def chat_id_of(db: Connection, external_id: int) -> int:
    row = await db.fetch_one("SELECT id FROM chats WHERE external_id = ?", (external_id,))
    assert row is not None
    return int(row[0])


PARTIAL = ("alerts_pending", "alerts_sending", "chats_inactive", "alerts_errors")
KEPT = {"recent-sent": 70, "old-pending": 5, "old-inactive": 3, "reminder": 1}


async def test_settled_rows_are_pruned_in_small_batches(database_url: str) -> None:
    store = await build_store(database_url)
    try:
        c = await chat(store, 1)
        await seed_history(store.db, c.id)
        batches = []
        while pruned := await store.prune_ledger(NOW - timedelta(days=30), NOW, 500):
            batches.append(pruned)
        counts = await store.ledger_counts()
        assert await statuses(store.db) == KEPT
    finally:
        await store.close()
    assert batches == [500, 500, 450]
    assert (counts["sent"], counts["pending"], counts["failed"], counts["expired"]) == (71, 5, 0, 0)


async def test_the_running_bot_prunes_on_its_clock(
    fake_telegram: FakeTelegram, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows 40 days older than the *virtual* clock go; rows 5 days older stay, though both are
    years older than the real date."""
    await seed_followers(database_url, [4242], NOW, fake=fake_telegram)
    beside = await Store.open(database_url)  # a second handle, as an operator's would be
    try:
        await seed_history(beside.db, await chat_id_of(beside.db, 4242))
        caplog.set_level(logging.INFO, logger="matchday")
        async with running_bot(
            fake_telegram, database_url, now=NOW, MATCHDAY_POLL_SECONDS="1"
        ) as app:
            core = core_of(app)
            for _ in range(600):  # a few ticks of 0.2 s each, however busy the machine
                done = (await statuses(beside.db)).get("old-sent", 0) == 0
                if done and core.next_prune is not None:
                    break
                await asyncio.sleep(0.05)
        assert await statuses(beside.db) == KEPT
    finally:
        await beside.close()
    batches = [r.getMessage().split()[1] for r in caplog.records if "pruned" in r.getMessage()]
    assert batches == [str(PRUNE_BATCH)] * 2 + ["450"]  # one small batch a tick


async def test_retention_setting() -> None:
    assert Settings.load(env={}).ledger_days == 30
    assert Settings.load(env={"MATCHDAY_LEDGER_DAYS": "7"}).ledger_days == 7
    for bad in ("0", "-3", "a month"):
        with pytest.raises(SettingsError, match="MATCHDAY_LEDGER_DAYS"):
            Settings.load(env={"MATCHDAY_LEDGER_DAYS": bad})


# -- reports from indexes --------------------------------------------------------------------


async def plans(store: Store, action: object) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement `action` runs on the store's connection."""
    statements: list[str] = []
    await store.db.connection.set_trace_callback(statements.append)
    try:
        await action()  # type: ignore[operator]
    finally:
        await store.db.connection.set_trace_callback(None)
    details = []
    for sql in statements:
        if sql.split()[0].upper() in {"SELECT", "UPDATE", "DELETE", "WITH"}:
            details += [row[3] for row in await store._all(f"EXPLAIN QUERY PLAN {sql}")]
    assert details, statements
    return details


def full_scans(details: list[str]) -> list[str]:
    """Plan steps that read a whole table or a whole full index. Scanning a partial index
    (pending rows, inactive chats, rows with an error) reads only the rows it holds."""
    partial = tuple(f"USING INDEX {name}" for name in PARTIAL)
    return [d for d in details if d.startswith("SCAN ") and "CONSTANT ROW" not in d
            and not d.endswith(partial)]  # fmt: skip


@SQLITE_ONLY  # EXPLAIN QUERY PLAN through SQLite's trace callback: no PostgreSQL equivalent
async def test_stats_and_housekeeping_read_indexes_not_tables(store: Store) -> None:
    env = {"MATCHDAY_ADMINS": "4242"}
    text = plain_text((await ask(store, "/stats", env=env)).text)
    assert "Alert ledger" in text and "sent: 0" in text and "inactive_chats: 0" in text
    assert "settled alerts kept: 30 days" in text
    stats = await plans(store, lambda: ask(store, "/stats", env=env))
    assert any("alerts_sent" in d for d in stats) and any("alerts_settled" in d for d in stats)
    assert full_scans(stats) == [], stats
    prune = await plans(store, lambda: store.prune_ledger(NOW, NOW, 500))
    assert full_scans(prune) == [], prune
    # The reminder-expiry update of a match that kicked off finds that match's rows.
    c = await chat(store, 1)
    await follow(store, c, "Brazil")
    await store.queue_due_reminders(at(6, 17, 40), render_alert)
    kicked_off = replayed("world-cup-2018:2018-07-06:brazil-belgium", at(6, 18, 1))
    expiry = await plans(store, lambda: store.apply([kicked_off], at(6, 18, 1), render_alert))
    assert any("alerts_match" in d for d in expiry), expiry
    assert (await store.ledger_counts())["expired"] == 1


async def test_matchday_stats_counts_from_the_same_indexes(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed_followers(database_url, [4242], BEFORE_HARAGUCHI, fake=None)  # no Telegram here
    beside = await Store.open(database_url)
    try:
        chat_id = await chat_id_of(beside.db, 4242)
        await add_rows(beside.db, chat_id, "sent", 3, "sent", datetime.now(UTC))
        await add_rows(beside.db, chat_id, "failed", 2, "failed", datetime.now(UTC))
    finally:
        await beside.close()
    assert await print_stats(Settings.load(env={"MATCHDAY_DB": database_url})) == 0
    out = capsys.readouterr().out
    assert "sent: 3" in out and "failed: 2" in out and "pending: 0" in out
    assert "kept: 30 days" in out


async def test_the_ledger_indexes_leave_a_fan_outs_inserts_alone(store: Store) -> None:
    """A goal writes one pending row per follower; none of these indexes holds pending rows,
    so the fan-out's insert does not grow with them. (An `IN (...)` list in a partial index's
    WHERE is built again for every inserted row: it doubled the insert's cost.)"""
    if store.db.dialect.engine == "sqlite":
        catalog = "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
    else:  # PostgreSQL spells an IN list in an index's WHERE as `= ANY (ARRAY[...])`
        catalog = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'alerts'"
    rows = await store._all(catalog)
    ledger = {name: sql for name, sql in rows if name in
              {"alerts_sent", "alerts_settled", "alerts_errors", "alerts_match",
               "alerts_sending"}}  # fmt: skip
    assert len(ledger) == 5
    for sql in ledger.values():
        upper = sql.upper()
        assert " WHERE " in upper and " IN (" not in upper and "ANY (" not in upper, sql


async def test_a_store_from_the_first_ledger_indexes_is_upgraded(tmp_path: Path) -> None:
    """Migration 3 shipped full indexes on alerts; migration 5 replaces them in place.
    SQLite only: PostgreSQL's schema began after migration 5 (its baseline is version 7)."""
    from storage.schema import MIGRATIONS

    path = tmp_path / "v3.db"
    with sqlite3.connect(path) as old:
        for script in MIGRATIONS[:3]:
            old.executescript(script)
        old.execute("PRAGMA user_version = 3")
    old.close()
    store = await Store.open(path)
    try:
        rows = await store._all("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        (version,) = await store._one("PRAGMA user_version") or (0,)
    finally:
        await store.close()
    indexes = dict(rows)
    assert version == len(MIGRATIONS) and "alerts_status" not in indexes
    for name in ("alerts_sent", "alerts_settled", "alerts_match", "alerts_sending"):
        assert " WHERE " in indexes[name], name
