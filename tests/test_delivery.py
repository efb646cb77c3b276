"""Fan-out through Telegram's limits and faults, against the fake Bot API that enforces them."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery import CLAIM_AHEAD, MAX_IN_FLIGHT
from tests.fake_telegram import FakeError, FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import core_of, running_bot, seed_followers
from tests.harness import transport as transport
from tests.test_restart import matchday_process

pytestmark = pytest.mark.usefixtures("transport")  # every test once per MATCHDAY_HTTP

BEFORE_HARAGUCHI = datetime(2018, 7, 2, 19, 4, 57, tzinfo=UTC)  # his 48' shows at 19:05:00Z
GOAL = "Haraguchi 48'"


def goal_sends(fake: FakeTelegram) -> list[tuple[int, float]]:
    return [(s.chat_id, s.time) for s in fake.sent if GOAL in s.text]


async def test_500_followers_one_goal_within_limits(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    chats = list(range(1000, 1450)) + [-1_000_000_000_000 - i for i in range(50)]
    await seed_followers(db, chats, BEFORE_HARAGUCHI, fake=fake_telegram)
    async with running_bot(fake_telegram, db, now=BEFORE_HARAGUCHI, MATCHDAY_POLL_SECONDS="1"):
        await fake_telegram.wait_for(lambda: len(goal_sends(fake_telegram)) >= 100, timeout=30)
        fake_telegram.push_message(77, "/score Japan")  # a user asks mid fan-out
        await fake_telegram.wait_for(lambda: len(goal_sends(fake_telegram)) >= 500, timeout=60)
    sends = goal_sends(fake_telegram)
    got = [chat for chat, _ in sends]
    assert len(got) == len(set(got)) == len(chats)  # each chat once
    assert set(got) == set(chats), set(got) ^ set(chats)
    assert fake_telegram.too_many_requests == 0
    # Paced at the limit: the typical gap between two sends (the fake's clock) is 1/30 s.
    # The median, not the total: a busy machine's stalls are not the bot's pacing.
    gaps = sorted(b - a for (_, a), (_, b) in itertools.pairwise(sends))
    assert gaps[len(gaps) // 2] <= 1 / (0.9 * 30), gaps[len(gaps) // 2]
    reply_at = next(s.time for s in fake_telegram.sent if s.chat_id == 77)
    assert reply_at < sends[-100][1]  # answered ahead of the queue, not after it


async def test_faults_lose_nothing(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    blocked, migrating, flaky, slow, throttled = 2001, -2002, 2003, 2004, 2005
    healthy = list(range(2100, 2110))
    await seed_followers(
        db,
        [blocked, migrating, flaky, slow, throttled, *healthy],
        BEFORE_HARAGUCHI,
        fake=fake_telegram,
    )
    fake_telegram.block(blocked)
    fake_telegram.fail_next("sendMessage", migrating, error=FakeError.migrate(-1002002))
    fake_telegram.fail_next("sendMessage", flaky, times=3, error=FakeError.server_error(502))
    fake_telegram.fail_next("sendMessage", slow, error=FakeError.timeout(6))
    fake_telegram.fail_next("sendMessage", throttled, error=FakeError.retry_after(1))
    fake_telegram.fail_next(
        "sendMessage", healthy[0], error=FakeError.bad_request("message is bad")
    )
    async with running_bot(
        fake_telegram, db, now=BEFORE_HARAGUCHI, MATCHDAY_POLL_SECONDS="1"
    ) as app:
        receivers = {-1002002, flaky, slow, throttled, *healthy[1:]}
        await fake_telegram.wait_for(
            lambda: receivers <= {chat for chat, _ in goal_sends(fake_telegram)}, timeout=40
        )
        store = core_of(app).store
        assert (await store.chat("telegram", blocked)).active is False  # type: ignore[union-attr]
        moved = await store.chat("telegram", -1002002)
        assert moved is not None and [f.name for f in await store.follows(moved.id)] == ["Japan"]
        assert await store.chat("telegram", migrating) is None
        # The blocked user comes back: a command reactivates the chat.
        fake_telegram.unblock(blocked)
        fake_telegram.push_message(blocked, "/following")
        await fake_telegram.wait_for_messages(blocked, 1)
        assert (await store.chat("telegram", blocked)).active is True  # type: ignore[union-attr]
        counts = await store.ledger_counts()
    got = [chat for chat, _ in goal_sends(fake_telegram)]
    assert blocked not in got and healthy[0] not in got  # refused once, never retried
    calls = fake_telegram.calls("sendMessage")
    tries = [r for r in calls if r.params.get("chat_id") == blocked and GOAL in r.params["text"]]
    assert len(tries) == 1
    for chat in receivers - {slow}:
        assert got.count(chat) == 1
    assert 1 <= got.count(slow) <= 2  # a timed-out send may have arrived: we err towards resending
    assert counts["failed"] == 1 and counts["inactive_chats"] == 0


async def test_alerts_go_out_as_html_without_link_previews_and_odd_answers_fail_one(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    garbled, fine = 3001, 3002
    await seed_followers(db, [garbled, fine], BEFORE_HARAGUCHI, fake=fake_telegram)
    fake_telegram.fail_next("sendMessage", garbled, error=FakeError.odd_success(True))
    async with running_bot(
        fake_telegram, db, now=BEFORE_HARAGUCHI, MATCHDAY_POLL_SECONDS="1"
    ) as app:
        await fake_telegram.wait_for(lambda: goal_sends(fake_telegram), timeout=20)
        store = core_of(app).store
        await fake_telegram.wait_for_messages(fine, 1)
        for _ in range(100):  # the garbled answer is settled on its own, in any order
            counts = await store.ledger_counts()
            if counts["failed"]:
                break
            await asyncio.sleep(0.1)
        errors = await store.last_errors()
    (sent,) = [s for s in fake_telegram.sent if s.chat_id == fine and GOAL in s.text]
    assert sent.parse_mode == "HTML" and "<b>" in sent.text and "<b>" not in sent.visible_text
    (call,) = [r for r in fake_telegram.calls("sendMessage") if r.params["chat_id"] == fine]
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert [chat for chat, _ in goal_sends(fake_telegram)] == [fine]
    assert counts["failed"] == 1  # the garbled answer fails that one message, not delivery
    assert any("without a message id" in error for _, _, error in errors), errors


@pytest.mark.lenient_telegram("MAX_SEND_RATE=200, a paid broadcast", overall_per_second=200)
async def test_sigkill_mid_fan_out_delivers_the_rest(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db, log = tmp_path / "bot.db", tmp_path / "bot.log"
    chats = list(range(10_000, 11_000))
    await seed_followers(db, chats, BEFORE_HARAGUCHI, fake=fake_telegram)
    start = BEFORE_HARAGUCHI.strftime("%Y-%m-%dT%H:%M:%SZ")
    os.environ["MATCHDAY_MAX_SEND_RATE"] = "200"
    os.environ["MATCHDAY_POLL_SECONDS"] = "1"
    try:
        async with matchday_process(fake_telegram, db, start, 1, log) as first:
            await fake_telegram.wait_for(lambda: len(goal_sends(fake_telegram)) >= 300, timeout=60)
            first.send_signal(signal.SIGKILL)
            await first.wait()
        with sqlite3.connect(db) as conn:
            (pending,) = conn.execute(
                "SELECT COUNT(*) FROM alerts WHERE status = 'pending'"
            ).fetchone()
            (claimed,) = conn.execute(
                "SELECT COUNT(*) FROM alerts WHERE status = 'sending'"
            ).fetchone()
        assert pending > 0, "the kill came too late to test anything"
        assert claimed <= MAX_IN_FLIGHT * CLAIM_AHEAD  # the rows that may have been sent...
        later = (BEFORE_HARAGUCHI + timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        async with matchday_process(fake_telegram, db, later, 1, log):
            await fake_telegram.wait_for(
                lambda: set(chats) <= {c for c, _ in goal_sends(fake_telegram)}, timeout=60
            )
    finally:
        del os.environ["MATCHDAY_MAX_SEND_RATE"], os.environ["MATCHDAY_POLL_SECONDS"]
    got = [chat for chat, _ in goal_sends(fake_telegram)]
    assert set(got) == set(chats)
    repeats = len(got) - len(set(got))
    print(f"SIGKILL: {repeats} repeats, {claimed} rows claimed at the kill")  # for -rP runs
    # ...and of those, at most the send slots' worth left before the kill went unmarked.
    assert repeats <= min(claimed, MAX_IN_FLIGHT), (repeats, claimed)
    assert fake_telegram.too_many_requests == 0


@pytest.mark.lenient_telegram("MAX_SEND_RATE=200, a paid broadcast", overall_per_second=200)
async def test_sigterm_mid_fan_out_then_restart_repeats_nothing_and_loses_nothing(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db, log = tmp_path / "bot.db", tmp_path / "bot.log"
    chats = list(range(30_000, 30_600))
    await seed_followers(db, chats, BEFORE_HARAGUCHI, fake=fake_telegram)
    start = BEFORE_HARAGUCHI.strftime("%Y-%m-%dT%H:%M:%SZ")
    os.environ["MATCHDAY_MAX_SEND_RATE"] = "200"
    os.environ["MATCHDAY_POLL_SECONDS"] = "1"
    try:
        async with matchday_process(fake_telegram, db, start, 1, log) as first:
            await fake_telegram.wait_for(lambda: len(goal_sends(fake_telegram)) >= 150, timeout=60)
            first.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                assert await first.wait() == 0
        with sqlite3.connect(db) as conn:
            counts = dict(conn.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status"))
        assert counts.get("sending", 0) == 0  # every send finished and marked, or handed back
        assert counts.get("pending", 0) > 0, "the signal came too late to test anything"
        assert counts["sent"] == len(goal_sends(fake_telegram))  # marked = arrived
        later = (BEFORE_HARAGUCHI + timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        async with matchday_process(fake_telegram, db, later, 1, log):
            await fake_telegram.wait_for(
                lambda: set(chats) <= {c for c, _ in goal_sends(fake_telegram)}, timeout=60
            )
    finally:
        del os.environ["MATCHDAY_MAX_SEND_RATE"], os.environ["MATCHDAY_POLL_SECONDS"]
    got = [chat for chat, _ in goal_sends(fake_telegram)]
    assert sorted(got) == chats  # each chat exactly once: zero lost, zero repeated
    assert fake_telegram.too_many_requests == 0
    assert fake_telegram.token not in log.read_text()
