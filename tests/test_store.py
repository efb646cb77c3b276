"""The alert ledger: one row per (chat, match, event), written with the state that caused it."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.events import Event
from feeds.model import MatchState, Status
from feeds.observe import Watch
from feeds.replay import ReplayFeed
from handlers.alerts import render_alert
from storage.store import Chat, Store
from tests.conftest import build_store, world_cup

BELGIUM_JAPAN = "world-cup-2018:2018-07-02:belgium-japan"
BRAZIL_BELGIUM = "world-cup-2018:2018-07-06:brazil-belgium"
BRAZIL_BELGIUM_KICKOFF = datetime(2018, 7, 6, 18, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 7) -> datetime:
    return datetime(2018, month, day, hour, minute, second, tzinfo=UTC)


def wc(key: str) -> MatchState:
    (found,) = [m for m in world_cup() if m.key == key]
    return found


def replayed(key: str, now: datetime) -> MatchState:
    m = wc(key)
    return ReplayFeed([m]).state_at(m, now)


async def chat(store: Store, external_id: int, zone: str = "UTC") -> Chat:
    return await store.ensure_chat("test", external_id, "private", f"chat {external_id}", zone)


async def follow(store: Store, c: Chat, *names: str) -> None:
    teams = {t.name: t.id for t in await store.teams()}
    comps = {x.name: x.id for x in await store.competitions()}
    for name in names:
        kind = "team" if name in teams else "competition"
        target = teams[name] if kind == "team" else comps[name]
        assert await store.follow(c.id, kind, target, at(1, 0))


async def ledger(store: Store) -> list[tuple[int, str, str, str]]:
    """Every alert row as (chat id, event, status, text)."""
    rows = await store._all("SELECT chat_id, event, status, text FROM alerts ORDER BY id")
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def dump(store: Store) -> list[tuple[str, list[str]]]:
    """Every table's rows (sorted), read through the store's own connection on either engine."""
    if store.db.dialect.engine == "sqlite":
        catalog = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    else:
        catalog = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' ORDER BY table_name"
        )
    tables = [name for (name,) in await store.db.fetch_all(catalog)]
    assert "alerts" in tables and "matches" in tables
    dumped = []
    for name in tables:
        rows = await store.db.fetch_all(f"SELECT * FROM {name}")
        dumped.append((name, sorted(repr(tuple(row)) for row in rows)))
    return dumped


@pytest.fixture
async def before_belgium_japan(database_url: str) -> AsyncIterator[Store]:
    s = await build_store(database_url, at(2, 17))
    try:
        yield s
    finally:
        await s.close()


# -- live states into the ledger -------------------------------------------------------------


async def test_one_alert_per_chat_and_event(before_belgium_japan: Store) -> None:
    store = before_belgium_japan
    belgium = await chat(store, 1)
    both = await chat(store, 2, "Asia/Tokyo")
    everything = await chat(store, 3)
    other = await chat(store, 4)
    gone = await chat(store, 5)
    await follow(store, belgium, "Belgium")
    await follow(store, both, "Belgium", "Japan", "World Cup 2018")
    await follow(store, everything, "World Cup 2018")
    await follow(store, other, "Brazil")
    await follow(store, gone, "Japan")
    await store.set_chat_active(gone.id, False)

    result = await store.apply([replayed(BELGIUM_JAPAN, at(2, 18, 1))], at(2, 18, 1), render_alert)
    assert (result.changed, result.alerts, result.silent_events) == (1, 3, 0)
    rows = await ledger(store)
    assert sorted((c, e) for c, e, _, _ in rows) == [
        (belgium.id, "kickoff"),
        (both.id, "kickoff"),
        (everything.id, "kickoff"),
    ]
    assert all(status == "pending" for _, _, status, _ in rows)
    assert all("Kick-off: Belgium v Japan" in text for _, _, _, text in rows)

    # Half-time, then Japan's first goal: two more events for each of the three chats.
    for now in (at(2, 18, 48), at(2, 19, 6)):
        result = await store.apply([replayed(BELGIUM_JAPAN, now)], now, render_alert)
        assert (result.alerts, result.silent_events) == (3, 0)
    counts = Counter((c, e) for c, e, _, _ in await ledger(store))
    assert set(counts.values()) == {1}
    assert {e for _, e in counts} == {"kickoff", "half_time", "goal:2:1:48+0"}
    pending = await store.pending_alerts()
    assert {p.chat.id for p in pending} == {belgium.id, both.id, everything.id}
    assert [p.event for p in pending if p.chat.id == both.id] == [
        "kickoff",
        "half_time",
        "goal:2:1:48+0",
    ]


async def test_the_same_state_twice_adds_nothing(before_belgium_japan: Store) -> None:
    store = before_belgium_japan
    c = await chat(store, 1)
    await follow(store, c, "Japan")
    state = replayed(BELGIUM_JAPAN, at(2, 19, 6))
    first = await store.apply([state], at(2, 19, 6), render_alert)
    assert first.alerts > 0
    rows = await ledger(store)
    again = await store.apply([state], at(2, 19, 6, 30), render_alert)
    assert (again.changed, again.alerts, again.silent_events) == (0, 0, 0)
    assert await ledger(store) == rows
    # A new minute with nothing new to tell changes the match but not the ledger.
    later = await store.apply([replayed(BELGIUM_JAPAN, at(2, 19, 7))], at(2, 19, 7), render_alert)
    assert (later.changed, later.alerts) == (1, 0)
    assert await ledger(store) == rows


async def test_unobserved_events_are_recorded_silently(before_belgium_japan: Store) -> None:
    """Freshness is by observation: the same late state is news to a bot that has been
    polling all along, and quiet catch-up to one that is looking for the first time, but
    for what happened in the last ten minutes (the two goals, not kick-off or half-time)."""
    store = before_belgium_japan
    c = await chat(store, 1)
    await follow(store, c, "Japan")
    now = at(2, 19, 10)  # kick-off (18:00) and half-time (18:47) are long gone
    first_look = Watch(now, last_observed=None)
    result = await store.apply([replayed(BELGIUM_JAPAN, now)], now, render_alert, watch=first_look)
    assert (result.alerts, result.silent_events) == (2, 2)
    assert [e for _, e, _, _ in await ledger(store)] == ["goal:2:1:48+0", "goal:2:2:52+0"]
    stored = await store.match(BELGIUM_JAPAN)
    assert stored is not None and stored.score == (0, 2) and stored.status == Status.LIVE


async def test_a_watching_bot_announces_whatever_the_minute(before_belgium_japan: Store) -> None:
    store = before_belgium_japan
    c = await chat(store, 1)
    await follow(store, c, "Japan")
    now = at(2, 19, 10)
    watching = Watch(now, last_observed=now - timedelta(seconds=30))
    result = await store.apply([replayed(BELGIUM_JAPAN, now)], now, render_alert, watch=watching)
    assert (result.alerts, result.silent_events) == (4, 0)
    assert [e for _, e, _, _ in await ledger(store)] == [
        "kickoff", "half_time", "goal:2:1:48+0", "goal:2:2:52+0"
    ]


async def test_silent_apply_records_without_alerts(before_belgium_japan: Store) -> None:
    store = before_belgium_japan
    c = await chat(store, 1)
    await follow(store, c, "Japan")
    now = at(2, 18, 5)
    result = await store.apply([replayed(BELGIUM_JAPAN, now)], now, render_alert, silent=True)
    assert (result.changed, result.alerts, result.silent_events) == (1, 0, 1)
    assert await ledger(store) == []


@pytest.mark.parametrize("phase_seconds", [0, 10, 29])
async def test_a_followed_shootout_is_told_whole_and_once(
    database_url: str, phase_seconds: int
) -> None:
    """Polled every 30 s whatever the phase, every event reaches the chat exactly once —
    including the shoot-out result, which used to look stale on arrival."""
    key = "world-cup-2018:2018-07-01:spain-russia"
    store = await build_store(database_url, at(1, 13))
    try:
        c = await chat(store, 1)
        await follow(store, c, "Russia")
        now = at(1, 13, 55, phase_seconds)
        while now < at(1, 17, 30):
            await store.apply([replayed(key, now)], now, render_alert)
            now += timedelta(seconds=30)
        events = [e for _, e, _, _ in await ledger(store)]
        assert events == [
            "kickoff",
            "goal:1:1:12+0",
            "goal:2:1:41+0",
            "half_time",
            "extra_time",
            "full_time",
            "penalties",
        ]
        texts = [t for _, _, _, t in await ledger(store)]
        assert "Russia win 4–3 on penalties" in texts[6]
        assert "(og)" in texts[1] and "(pen)" in texts[2]
    finally:
        await store.close()


# -- chats -----------------------------------------------------------------------------------


async def test_inactive_chat_stops_its_pending_alerts(store: Store) -> None:
    c = await chat(store, 1)
    await follow(store, c, "Belgium")
    await store.queue_due_reminders(at(6, 17, 30), render_alert)
    await store.set_chat_active(c.id, False)
    counts = await store.ledger_counts()
    assert (counts["pending"], counts["inactive"], counts["inactive_chats"]) == (0, 1, 1)
    assert await store.pending_alerts() == []
    now = at(6, 18, 1)
    assert (await store.apply([replayed(BRAZIL_BELGIUM, now)], now, render_alert)).alerts == 0
    # Added back: alerts resume, the old ones stay where they were.
    again = await chat(store, 1)
    assert again.active and again.id == c.id
    now = at(6, 18, 14)  # Fernandinho's own goal, 13'
    assert (await store.apply([replayed(BRAZIL_BELGIUM, now)], now, render_alert)).alerts == 1
    assert [p.event for p in await store.pending_alerts()] == ["goal:2:1:13+0"]


async def test_migrated_group_keeps_follows_and_settings(store: Store) -> None:
    group = await store.ensure_chat("test", -5, "group", "Fans", "Europe/Brussels")
    await store.set_reminders(group.id, [60])
    await follow(store, group, "Belgium")
    await store.migrate_chat(group.id, -1005)
    assert await store.chat("test", -5) is None
    moved = await store.chat("test", -1005)
    assert moved is not None
    assert (moved.id, moved.kind, moved.timezone, moved.reminders) == (
        group.id, "supergroup", "Europe/Brussels", (60,),
    )  # fmt: skip
    assert [f.name for f in await store.follows(moved.id)] == ["Belgium"]


async def test_migration_folds_in_a_supergroup_that_spoke_first(store: Store) -> None:
    group = await store.ensure_chat("test", -6, "group", "Fans", "UTC")
    await follow(store, group, "Belgium", "Japan")
    stub = await store.ensure_chat("test", -1006, "supergroup", "Fans", "UTC")
    await follow(store, stub, "Japan", "Brazil")
    await store.migrate_chat(group.id, -1006)
    moved = await store.chat("test", -1006)
    assert moved is not None and moved.id == group.id
    assert sorted(f.name for f in await store.follows(group.id)) == ["Belgium", "Brazil", "Japan"]
    assert await store.follows(stub.id) == []


# -- transactions ----------------------------------------------------------------------------


async def test_a_failing_apply_changes_nothing(database_url: str) -> None:
    store = await build_store(database_url, at(28, 17, month=6))
    try:
        c = await chat(store, 1)
        await follow(store, c, "World Cup 2018")
        now = at(28, 18, 1, month=6)
        keys = [
            "world-cup-2018:2018-06-28:england-belgium",
            "world-cup-2018:2018-06-28:panama-tunisia",
        ]
        states = [replayed(k, now) for k in keys]
        assert all(s.status == Status.LIVE for s in states)
        before = await dump(store)
        calls = []

        def render(event: Event, m: MatchState, zone: ZoneInfo) -> str:
            calls.append(m.key)
            if len(calls) == 2:  # the first match is saved and alerted by now
                raise RuntimeError("renderer broke")
            return render_alert(event, m, zone)

        with pytest.raises(RuntimeError, match="renderer broke"):
            await store.apply(states, now, render)
        assert calls == keys
        assert await dump(store) == before
        for key in keys:
            stored = await store.match(key)
            assert stored is not None and stored.status == Status.SCHEDULED
        # The store is still usable: the lock is free and no transaction is left open.
        result = await store.apply(states, now, render_alert)
        assert (result.changed, result.alerts) == (2, 2)
        assert await dump(store) != before
    finally:
        await store.close()


async def test_a_first_version_database_is_upgraded_in_place(tmp_path: Path) -> None:
    """A store written before the standings index keeps its data and answers tables after.
    SQLite only: PostgreSQL's schema starts at the baseline (no first-version databases)."""
    import sqlite3

    from storage.schema import MIGRATIONS

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0])
    old.execute("PRAGMA user_version = 1")
    old.close()
    store = await Store.open(path)
    try:
        await store.apply(world_cup(), at(30, 12), render_alert, silent=True)
    finally:
        await store.close()

    store = await Store.open(path)
    try:
        (competition,) = await store.competitions()
        tables = await store.standings(competition.id)
        columns = await store._all("SELECT name FROM pragma_index_info('matches_competition')")
        version = await store._all("PRAGMA user_version")
    finally:
        await store.close()
    assert version == [(len(MIGRATIONS),)]
    assert [c for (c,) in columns][:3] == ["competition_id", "grp", "status"]
    group_h = {row[0]: row for row in tables["Group H"]}
    assert group_h["Japan"] == ("Japan", 3, 1, 1, 1, 4, 4)
    assert group_h["Colombia"][1:5] == (3, 2, 0, 1)


async def test_a_url_of_another_engine_is_refused_before_anything_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="mysql:// databases are not supported"):
        await Store.open("mysql://bot@db/matchday")
    assert list(tmp_path.iterdir()) == []  # noqa: ASYNC240
