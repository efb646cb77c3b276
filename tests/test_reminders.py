"""Reminders on the store, on both engines: queued once when due, collapsed after downtime,
each lead on time, long leads found from the chat's side, expired when kick-off comes or moves."""

from __future__ import annotations

from datetime import datetime, timedelta

from feeds.model import Status
from handlers.alerts import render_alert
from storage.store import Store
from tests.test_store import (
    BRAZIL_BELGIUM,
    BRAZIL_BELGIUM_KICKOFF,
    at,
    chat,
    follow,
    ledger,
    replayed,
    wc,
)


async def test_reminder_is_queued_only_when_due(store: Store) -> None:
    c = await chat(store, 1, "Europe/Moscow")
    await follow(store, c, "Belgium")
    assert c.reminders == (30,)
    assert await store.queue_due_reminders(at(6, 17), render_alert) == 0
    assert await store.queue_due_reminders(at(6, 17, 29, 30), render_alert) == 0
    assert await store.queue_due_reminders(at(6, 17, 30), render_alert) == 1
    (reminder,) = await store.pending_alerts()
    assert reminder.event == "reminder:30:20180706T1800"
    assert reminder.expires_at == BRAZIL_BELGIUM_KICKOFF
    assert "Brazil v Belgium" in reminder.text and "kicks off in 30 minutes" in reminder.text
    assert "21:00 MSK" in reminder.text and "Kazan Arena" in reminder.text
    assert await store.queue_due_reminders(at(6, 17, 31), render_alert) == 0
    assert await store.queue_due_reminders(at(6, 17, 59), render_alert) == 0
    assert len(await ledger(store)) == 1


async def test_no_reminder_after_kickoff(store: Store) -> None:
    c = await chat(store, 1)
    await follow(store, c, "Brazil")
    assert await store.queue_due_reminders(BRAZIL_BELGIUM_KICKOFF, render_alert) == 0
    assert await store.queue_due_reminders(at(6, 18, 1), render_alert) == 0
    assert await ledger(store) == []


async def test_reminder_says_the_lead_asked_for_when_on_time(store: Store) -> None:
    c = await chat(store, 1)
    await follow(store, c, "Belgium")
    assert await store.queue_due_reminders(at(6, 17, 31), render_alert) == 1
    (reminder,) = await store.pending_alerts()
    assert "kicks off in 30 minutes" in reminder.text


async def test_reminders_missed_while_down_collapse_into_one(store: Store) -> None:
    c = await chat(store, 1)
    await store.set_reminders(c.id, [15, 60, 30])
    await follow(store, c, "Belgium")
    # The bot was down from 16:00 until ten minutes before kick-off.
    assert await store.queue_due_reminders(at(6, 17, 50), render_alert) == 1
    (reminder,) = await store.pending_alerts()
    assert reminder.event == "reminder:15:20180706T1800"
    assert "kicks off in 10 minutes" in reminder.text
    assert await store.queue_due_reminders(at(6, 17, 55), render_alert) == 0


async def test_each_lead_time_on_time(store: Store) -> None:
    c = await chat(store, 1)
    await store.set_reminders(c.id, [60, 15])
    await follow(store, c, "Belgium")
    assert await store.queue_due_reminders(at(6, 17), render_alert) == 1
    assert await store.queue_due_reminders(at(6, 17, 30), render_alert) == 0
    assert await store.queue_due_reminders(at(6, 17, 45), render_alert) == 1
    events = [p.event for p in await store.pending_alerts()]
    assert events == ["reminder:60:20180706T1800", "reminder:15:20180706T1800"]


async def test_long_leads_a_day_and_a_week_ahead(store: Store) -> None:
    """Leads beyond two hours are found from the chat's side; nearer ones still work."""
    week, day, default = await chat(store, 1), await chat(store, 2), await chat(store, 3)
    await store.set_reminders(week.id, [10080, 30])
    await store.set_reminders(day.id, [1440])
    await follow(store, week, "Belgium")
    await follow(store, day, "Brazil")
    await follow(store, default, "Belgium")

    async def queued_at(when: datetime) -> set[tuple[int, str]]:
        before = {p.id for p in await store.pending_alerts()}
        await store.queue_due_reminders(when, render_alert)
        return {(p.chat.external_id, p.event) for p in await store.pending_alerts()
                if p.id not in before}  # fmt: skip

    # A week and a minute before Brazil v Belgium: only the week-long lead reaches it.
    assert await queued_at(at(29, 18, 1, month=6)) == {(1, "reminder:10080:20180706T1800")}
    # A day before: the one-day lead. The week-long one would reach the semi-final, but on
    # the clock this store was built at (3 July) Belgium are not in it yet: no spoiler.
    assert await queued_at(at(5, 18)) == {(2, "reminder:1440:20180706T1800")}
    assert await queued_at(at(6, 17, 30)) == {
        (1, "reminder:30:20180706T1800"),
        (3, "reminder:30:20180706T1800"),
    }


async def test_a_changed_lead_or_a_new_chat_is_seen_at_the_next_tick(store: Store) -> None:
    # The tick's look-ahead is cached; every write to chats must refresh it.
    assert await store.queue_due_reminders(at(5, 12), render_alert) == 0  # no chats yet
    c = await chat(store, 1)
    await follow(store, c, "Uruguay")
    assert await store.queue_due_reminders(at(6, 13, 40), render_alert) == 1  # new chat, 30'
    await store.set_reminders(c.id, [600])
    await follow(store, c, "Belgium")
    # A lead of 10 hours came for Brazil v Belgium (18:00) at 08:00: due at the next tick.
    assert await store.queue_due_reminders(at(6, 14), render_alert) == 1
    (latest, *_) = sorted(await store.pending_alerts(), key=lambda p: -p.id)
    assert latest.event.startswith("reminder:600:")
    await store.set_chat_active(c.id, False)
    assert await store.queue_due_reminders(at(6, 17, 45), render_alert) == 0


async def test_a_follow_between_ticks_is_reminded_at_the_next(store: Store) -> None:
    """Ticks with nothing new skip the scan; a follow or a new chat is something new."""
    early, late = await chat(store, 1), await chat(store, 2)
    await follow(store, early, "Belgium")
    assert await store.queue_due_reminders(at(6, 17, 31), render_alert) == 1
    assert await store.queue_due_reminders(at(6, 17, 32), render_alert) == 0
    await follow(store, late, "Brazil")  # an existing chat follows: no chat row changes
    assert await store.queue_due_reminders(at(6, 17, 33), render_alert) == 1
    newcomer = await chat(store, 3)
    await follow(store, newcomer, "Belgium")
    assert await store.queue_due_reminders(at(6, 17, 34), render_alert) == 1
    texts = {p.chat.external_id: p.text for p in await store.pending_alerts()}
    assert "kicks off in 27 minutes" in texts[2] and "kicks off in 26 minutes" in texts[3]


async def test_reminders_off_means_none(store: Store) -> None:
    c = await chat(store, 1)
    await store.set_reminders(c.id, [])
    await follow(store, c, "Belgium", "World Cup 2018")
    for minute in (0, 30, 45, 59):
        assert await store.queue_due_reminders(at(6, 17, minute), render_alert) == 0
    assert await ledger(store) == []


async def test_a_chat_following_twice_gets_one_reminder(store: Store) -> None:
    c = await chat(store, 1)
    await follow(store, c, "Belgium", "Brazil", "World Cup 2018")
    assert await store.queue_due_reminders(at(6, 17, 30), render_alert) == 1


async def test_kickoff_expires_a_pending_reminder(store: Store) -> None:
    c = await chat(store, 1)
    await follow(store, c, "Belgium")
    await store.queue_due_reminders(at(6, 17, 30), render_alert)
    now = at(6, 18, 1)
    result = await store.apply([replayed(BRAZIL_BELGIUM, now)], now, render_alert)
    assert result.alerts == 1
    assert [(e, s) for _, e, s, _ in await ledger(store)] == [
        ("reminder:30:20180706T1800", "expired"),
        ("kickoff", "pending"),
    ]


async def test_moved_kickoff_expires_the_reminder_and_reminds_again(store: Store) -> None:
    c = await chat(store, 1)
    await follow(store, c, "Belgium")
    await store.queue_due_reminders(at(6, 17, 30), render_alert)
    moved = wc(BRAZIL_BELGIUM).with_(
        status=Status.SCHEDULED, score=None, half_time=None, goals=(),
        kickoff=BRAZIL_BELGIUM_KICKOFF + timedelta(hours=2),
    )  # fmt: skip
    result = await store.apply([moved], at(6, 17, 40), render_alert)
    assert result.alerts == 1
    assert await store.queue_due_reminders(at(6, 19, 30), render_alert) == 1
    assert [(e, s) for _, e, s, _ in await ledger(store)] == [
        ("reminder:30:20180706T1800", "expired"),
        ("kickoff_moved:20180706T2000", "pending"),
        ("reminder:30:20180706T2000", "pending"),
    ]
