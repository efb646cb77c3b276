"""A group that becomes a supergroup which already has a row of its own: one chat, all kept."""

from __future__ import annotations

import asyncio

import pytest

from storage.store import Store
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import core_of, running_bot
from tests.harness import transport as transport
from tests.test_delivery import BEFORE_HARAGUCHI, goal_sends, seed_followers
from tests.test_store import BELGIUM_JAPAN, follow


async def alerts_of(store: Store) -> list[tuple[int, str, str]]:
    rows = await store._all("SELECT chat_id, event, status FROM alerts ORDER BY event")
    return [(row[0], row[1], row[2]) for row in rows]


async def seed_alert(store: Store, chat_id: int, event: str, status: str) -> None:
    row = await store._one("SELECT id FROM matches WHERE key = ?", (BELGIUM_JAPAN,))
    assert row is not None
    match_id = row[0]
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO alerts(chat_id, match_id, event, text, created_at, status) "
            "VALUES (?, ?, ?, ?, '2018-07-02T19:00:00Z', ?)",
            (chat_id, match_id, event, f"{event} for {chat_id}", status),
        )


async def test_migration_merges_into_the_supergroups_own_row(store: Store) -> None:
    group = await store.ensure_chat("test", -7, "group", "Fans", "Europe/Brussels")
    await store.set_reminders(group.id, [60, 15])
    await follow(store, group, "Belgium", "Japan")
    supergroup = await store.ensure_chat("test", -1007, "supergroup", "Fans HQ", "UTC")
    await follow(store, supergroup, "Japan", "Brazil")
    # The same event in both chats, in every combination of states, plus one in each only.
    both = {
        "goal:a": ("pending", "pending"),  # both queued: one send
        "goal:b": ("sent", "pending"),  # the group saw it (its history moves along): no resend
        "goal:c": ("pending", "sent"),  # the supergroup already has it: no resend
        "goal:d": ("failed", "pending"),  # the supergroup can still get it
    }
    for event, (in_group, in_supergroup) in both.items():
        await seed_alert(store, group.id, event, in_group)
        await seed_alert(store, supergroup.id, event, in_supergroup)
    await seed_alert(store, group.id, "goal:e", "pending")
    await seed_alert(store, supergroup.id, "goal:f", "pending")

    await store.migrate_chat(group.id, -1007)

    assert await store.chat("test", -7) is None
    merged = await store.chat("test", -1007)
    assert merged is not None and merged.id == group.id
    assert (merged.kind, merged.title, merged.timezone, merged.reminders, merged.active) == (
        "supergroup", "Fans HQ", "Europe/Brussels", (60, 15), True,
    )  # fmt: skip
    assert sorted(f.name for f in await store.follows(merged.id)) == ["Belgium", "Brazil", "Japan"]
    assert await alerts_of(store) == [
        (group.id, "goal:a", "pending"),
        (group.id, "goal:b", "sent"),
        (group.id, "goal:c", "sent"),
        (group.id, "goal:d", "pending"),
        (group.id, "goal:e", "pending"),
        (group.id, "goal:f", "pending"),
    ]
    assert await store._one("SELECT COUNT(*) FROM chats WHERE id = ?", (supergroup.id,)) == (0,)
    # On a tie the supergroup's row is the one kept: a send to the old id can only fail now.
    text = await store._one("SELECT text FROM alerts WHERE event = 'goal:a'")
    assert text == (f"goal:a for {supergroup.id}",)


async def test_migrating_twice_or_an_unknown_chat_changes_nothing(store: Store) -> None:
    group = await store.ensure_chat("test", -8, "group", "Fans", "UTC")
    await follow(store, group, "Japan")
    await store.migrate_chat(group.id, -1008)
    await store.migrate_chat(group.id, -1008)  # a second ChatMigrated answer, e.g. in flight
    await store.migrate_chat(999_999, -1009)
    moved = await store.chat("test", -1008)
    assert moved is not None and moved.id == group.id
    assert [f.name for f in await store.follows(group.id)] == ["Japan"]
    assert await store.chat("test", -1009) is None


@pytest.mark.usefixtures("transport")  # once per MATCHDAY_HTTP
async def test_a_migrating_group_whose_supergroup_follows_too_gets_the_goal_once(
    fake_telegram: FakeTelegram, database_url: str
) -> None:
    db = database_url
    group, supergroup, others = -3001, -1003001, [3002, 3003]
    await seed_followers(
        db, [group, supergroup, *others], BEFORE_HARAGUCHI, fake=fake_telegram
    )
    fake_telegram.migrate_chat(group, supergroup)
    async with running_bot(
        fake_telegram, db, now=BEFORE_HARAGUCHI, MATCHDAY_POLL_SECONDS="1"
    ) as app:
        await fake_telegram.wait_for(
            lambda: {supergroup, *others} <= {c for c, _ in goal_sends(fake_telegram)}, timeout=30
        )
        store = core_of(app).store
        for _ in range(100):  # until the migration and the last marks are written
            counts = await store.ledger_counts()
            settled = counts["pending"] == counts["sending"] == 0
            if settled and await store.chat("telegram", group) is None:
                break
            await asyncio.sleep(0.05)
        merged = await store.chat("telegram", supergroup)
        assert merged is not None
        follows = [f.name for f in await store.follows(merged.id)]
        rows = await store._all("SELECT status FROM alerts WHERE chat_id = ?", (merged.id,))
    got = [chat for chat, _ in goal_sends(fake_telegram)]
    assert sorted(got) == sorted([supergroup, *others])  # the supergroup once, nobody twice
    assert follows == ["Japan"]
    assert [status for (status,) in rows] == ["sent"]
    assert counts["pending"] == 0 and counts["failed"] == 0
