"""Replicas on one PostgreSQL database, at the store: exclusive claims, exclusive roles, one
webhook secret. Real server, several real stores (each its own pool and lock session)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import asyncpg
import pytest

from bot.settings import Settings
from bot.webhook import SECRET_KEY, webhook_secret
from feeds.openfootball import load_bundled_world_cup_2018
from feeds.replay import ReplayFeed
from handlers.alerts import render_alert
from storage.leadership import LeadershipLost, SoleProcess
from storage.ledger import Ledger
from storage.store import Store

NOW = datetime(2018, 7, 2, 19, 5, tzinfo=UTC)
CHATS = 600


async def seed_alerts(store: Store, chats: int) -> None:
    """One pending alert for each of `chats` chats (a goal's fan-out)."""
    (match,) = load_bundled_world_cup_2018().matches[:1]
    await store.apply([ReplayFeed([match]).state_at(match, NOW)], NOW, render_alert, silent=True)
    (match_row,) = await store._all("SELECT id FROM matches")
    rows = [await store.ensure_chat("telegram", n, "private", f"c{n}", "UTC") for n in
            range(1, chats + 1)]  # fmt: skip
    async with store.transaction() as tx:
        await tx.execute_many(
            "INSERT INTO alerts(chat_id, match_id, event, text, created_at) VALUES (?, ?, ?, ?, ?)",
            [(c.id, match_row[0], "goal", f"goal for {c.external_id}", "2018-07-02T19:05:00Z")
             for c in rows],
        )  # fmt: skip


async def test_claims_racing_from_several_processes_never_take_a_row_twice(
    postgres_url: str,
) -> None:
    stores = [await Store.open(postgres_url) for _ in range(4)]
    try:
        await seed_alerts(stores[0], CHATS)
        claimed: list[list[int]] = [[] for _ in stores]

        async def claim_all(index: int) -> None:
            ledger = Ledger(stores[index])
            while rows := await ledger.claim(["telegram"], NOW.timestamp(), 7):
                claimed[index] += [row.id for row in rows]
                await asyncio.sleep(0)  # let the other claimers' statements interleave

        await asyncio.gather(*(claim_all(i) for i in range(len(stores))))
        every = Counter(alert_id for ids in claimed for alert_id in ids)
        assert [i for i, n in every.items() if n > 1] == [], "a row was claimed twice"
        assert len(every) == CHATS, "a row was never claimed"
        assert sum(1 for ids in claimed if ids) >= 2, "the claims never raced"
        assert await Ledger(stores[0]).claimed() == CHATS
    finally:
        for store in stores:
            await store.close()


async def test_one_process_holds_a_role_until_its_session_ends(postgres_url: str) -> None:
    first, second = await Store.open(postgres_url), await Store.open(postgres_url)
    try:
        assert await first.leadership.holds("engine")
        assert not await second.leadership.holds("engine")
        assert await second.leadership.holds("delivery:telegram"), "roles are independent"
        assert not await first.leadership.holds("delivery:telegram")
        assert await first.leadership.holds("engine"), "a holder keeps its role"
        await first.close()  # as a SIGKILL would: the server ends the session, locks and all
        assert await second.leadership.holds("engine")
    finally:
        await second.close()


async def test_a_holder_whose_lock_session_is_cut_is_told_so(postgres_url: str) -> None:
    store = await Store.open(postgres_url)
    try:
        assert await store.leadership.holds("engine")
        admin = await asyncpg.connect(postgres_url)
        try:
            cut = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'matchday-leadership' AND datname = current_database()"
            )
        finally:
            await admin.close()
        assert cut == 1
        with pytest.raises(LeadershipLost):
            await store.leadership.holds("engine")
    finally:
        await store.close()


async def test_sqlite_is_one_process_holding_every_role(tmp_path: object) -> None:
    store = await Store.open(f"{tmp_path}/one.db")
    try:
        assert isinstance(store.leadership, SoleProcess)
        assert await store.leadership.holds("engine")
        assert await store.leadership.holds("delivery:telegram")
    finally:
        await store.close()


async def test_replicas_starting_together_agree_on_the_webhook_secret(postgres_url: str) -> None:
    await (await Store.open(postgres_url)).close()  # migrated once, as the first replica would
    settings = Settings.load(env={"MATCHDAY_DB": postgres_url})
    secrets = await asyncio.gather(*(webhook_secret(settings) for _ in range(6)))
    assert len(set(secrets)) == 1, secrets
    store = await Store.open(postgres_url)
    try:
        assert await store.get_meta(SECRET_KEY) == secrets[0]
    finally:
        await store.close()
