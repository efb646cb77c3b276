"""The PostgreSQL engine (`storage.postgres`) on a real server the tests start themselves:
placeholders, parameter types, row counts, transactions (errors, cancellation, one writer at
a time), the schema against SQLite's, migrations racing, and the password kept out of errors.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import sqlite3
import subprocess
import sys
import traceback
from contextlib import closing
from pathlib import Path

import asyncpg
import pytest

from bench.postgres_server import BINDIR_ENV, REQUIRED_ENV, PostgresServer
from storage.db import Database, engine_of
from storage.postgres import (
    DatabaseUnavailable,
    PostgresDatabase,
    parameter_count,
    redact,
    rows_changed,
    translate,
)
from storage.schema import MIGRATIONS as SQLITE_MIGRATIONS
from storage.schema_pg import LATEST, MIGRATIONS
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parent.parent

# -- without a server -----------------------------------------------------------------------


def test_placeholders_are_numbered_outside_quotes_and_comments() -> None:
    sql = (
        "SELECT '?', 'it''s ?', \"odd?name\", ? -- a ? here\n"
        "FROM t /* ? */ WHERE a = ? AND b = $$ ? $$ AND c = ?"
    )
    assert translate(sql) == (
        "SELECT '?', 'it''s ?', \"odd?name\", $1 -- a ? here\n"
        "FROM t /* ? */ WHERE a = $2 AND b = $$ ? $$ AND c = $3"
    )
    assert parameter_count(sql) == 3


def test_numbered_placeholders_keep_their_numbers() -> None:
    # As SQLite numbers them: ?1 twice is one parameter, a bare ? follows the largest.
    sql = "x < ?1 OR y < ?1 AND z < ?2 LIMIT ?"
    assert translate(sql) == "x < $1 OR y < $1 AND z < $2 LIMIT $3"
    assert parameter_count(sql) == 3


def test_ints_and_floats_are_cast_so_postgresql_computes_as_sqlite_does() -> None:
    assert translate("SELECT ? - ?, ?", ("i", "f", "")) == (
        "SELECT $1::bigint - $2::double precision, $3"
    )


@pytest.mark.parametrize(
    ("status", "count"),
    [("UPDATE 3", 3), ("INSERT 0 1", 1), ("DELETE 0", 0), ("SELECT 12", 12), ("CREATE TABLE", 0),
     ("", 0)],
)  # fmt: skip
def test_rows_changed_reads_the_command_status(status: str, count: int) -> None:
    assert rows_changed(status) == count


def test_redact_hides_the_password_wherever_the_url_carries_it() -> None:
    assert redact("postgresql://bot:s3cret@db:5432/matchday") == "postgresql://bot:***@db:5432/matchday"
    assert redact("postgres://bot:p%40ss@db/m?sslmode=require") == "postgres://bot:***@db/m?sslmode=require"
    assert redact("postgresql://db/m?user=bot&password=s3cret") == "postgresql://db/m?user=bot&password=***"
    assert redact("postgresql://bot@db/m") == "postgresql://bot@db/m"
    # Unencoded @ and / in a password: hidden whole, never in part.
    assert redact("postgresql://bot:p@ss/w@db:5432/m") == "postgresql://bot:***@db:5432/m"


def test_postgres_database_offers_the_seam_as_declared() -> None:
    for name in ("fetch_all", "fetch_one", "execute", "execute_many", "transaction",
                 "migrate", "close"):  # fmt: skip
        ours = inspect.signature(getattr(PostgresDatabase, name)).parameters
        declared = inspect.signature(getattr(Database, name)).parameters
        assert list(ours) == list(declared), name
    assert PostgresDatabase.dialect.engine == "postgresql"


def test_both_engines_know_the_same_schema_versions() -> None:
    # A migration added to one engine and not the other fails here, not in production.
    assert len(SQLITE_MIGRATIONS) == LATEST
    assert sorted(MIGRATIONS) == list(range(7, LATEST + 1))


def test_without_server_binaries_the_tests_skip_saying_why_unless_required(
    tmp_path: Path,
) -> None:
    # A machine without PostgreSQL may skip these tests, visibly; CI (required) must fail.
    env = {k: v for k, v in os.environ.items() if k != REQUIRED_ENV}
    env[BINDIR_ENV] = str(tmp_path / "no-postgres-here")
    test = "tests/test_postgres.py::test_migrating_again_changes_nothing"

    def pytest_run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", test],
            capture_output=True, text=True, timeout=120, cwd=ROOT, env={**env, **extra},
        )  # fmt: skip

    skipped = pytest_run()
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "1 skipped" in skipped.stdout and "PostgreSQL tests skipped" in skipped.stdout
    assert f"{REQUIRED_ENV}=required" in skipped.stdout
    failed = pytest_run(**{REQUIRED_ENV: "required"})
    assert failed.returncode != 0 and "1 error" in failed.stdout, failed.stdout
    assert "not found" in failed.stdout


# -- on the server ----------------------------------------------------------------------------


@pytest.fixture
async def db(postgres_url: str) -> PostgresDatabase:
    database = await PostgresDatabase.open(postgres_url)
    try:
        await database.migrate()
        yield database  # type: ignore[misc]
    finally:
        await database.close()


async def _versions(db: PostgresDatabase) -> list[int]:
    return [row[0] for row in await db.fetch_all("SELECT version FROM schema_version ORDER BY 1")]


async def test_migrating_again_changes_nothing(db: PostgresDatabase) -> None:
    await db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?)", ("kept", "across migrate")
    )
    await db.migrate()
    await db.migrate()
    assert await _versions(db) == [7]
    assert await db.fetch_one("SELECT value FROM meta WHERE key = ?", ("kept",)) == (
        "across migrate",
    )


def _sqlite_schema(path: Path) -> dict[str, object]:
    """Tables (columns, NOT NULL, primary key, unique keys) and indexes (columns, partial)
    of a SQLite database migrated by `storage.schema.MIGRATIONS`."""
    with closing(sqlite3.connect(path)) as conn:
        for script in SQLITE_MIGRATIONS:
            conn.executescript(script)
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )]  # fmt: skip
        shape: dict[str, object] = {}
        for table in tables:
            columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
            pk = tuple(c[1] for c in sorted(columns, key=lambda c: c[5]) if c[5])
            uniques = set()
            for _, name, unique, origin, _ in conn.execute(f"PRAGMA index_list({table})"):
                if unique and origin == "u":
                    cols = [c[2] for c in conn.execute(f"PRAGMA index_info({name})")]
                    uniques.add(tuple(cols))
            shape[table] = {
                "columns": [(c[1], bool(c[3]) or bool(c[5])) for c in columns],
                "primary key": pk,
                "unique": uniques,
            }
        for name, table, sql in conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ):
            cols = tuple(c[2] for c in conn.execute(f"PRAGMA index_info({name})"))
            shape[f"index {name}"] = (table, cols, " WHERE " in sql.upper())
    return shape


async def _postgres_schema(db: PostgresDatabase) -> dict[str, object]:
    """The same description, read from PostgreSQL's catalogs."""
    shape: dict[str, object] = {}
    tables = [r[0] for r in await db.fetch_all(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename != 'schema_version'"
    )]  # fmt: skip
    for table in tables:
        columns = await db.fetch_all(
            "SELECT column_name, is_nullable = 'NO' FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        keys = await db.fetch_all(
            """
            SELECT CAST(c.contype AS TEXT),
                   ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                         ORDER BY k.o)
            FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE t.relname = ? AND c.contype IN ('p', 'u')
            """,
            (table,),
        )
        shape[table] = {
            "columns": [(r[0], r[1]) for r in columns],
            "primary key": next((tuple(k[1]) for k in keys if k[0] == "p"), ()),
            "unique": {tuple(k[1]) for k in keys if k[0] == "u"},
        }
    indexes = await db.fetch_all(
        """
        SELECT i.relname, t.relname, x.indpred IS NOT NULL,
               ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n
                     ORDER BY k.o)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = 'public'
        WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """
    )
    for name, table, partial, cols in indexes:
        shape[f"index {name}"] = (table, tuple(cols), partial)
    return shape


async def test_schema_matches_sqlite_table_by_table_and_index_by_index(
    db: PostgresDatabase, tmp_path: Path
) -> None:
    sqlite_shape = _sqlite_schema(tmp_path / "reference.db")
    postgres_shape = await _postgres_schema(db)
    assert "alerts" in sqlite_shape and "index alerts_open" in sqlite_shape  # a real reference
    assert postgres_shape.keys() == sqlite_shape.keys()
    for name, shape in sqlite_shape.items():
        assert postgres_shape[name] == shape, name


async def test_time_columns_sort_bytewise_as_in_sqlite(db: PostgresDatabase) -> None:
    collations = await db.fetch_all(
        "SELECT DISTINCT collation_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type = 'text' AND table_name != 'schema_version'"
    )
    assert [r[0] for r in collations] == ["C"]


async def test_question_marks_inside_literals_reach_the_server_untouched(
    db: PostgresDatabase,
) -> None:
    row = await db.fetch_one(
        "SELECT '?' AS q, 'it''s ?' AS s, ? AS a, \"value\" FROM (SELECT ? AS \"value\") v "
        "WHERE 'x?' = 'x?' AND 1 = ? -- trailing ? in a comment",
        ("first", "second", True),
    )
    assert row is not None
    assert tuple(row) == ("?", "it's ?", "first", "second")
    assert row["a"] == "first" and row[3] == "second"


async def test_parameters_bind_as_sqlite_binds_them(db: PostgresDatabase) -> None:
    # An int where text is inferred, a float in integer arithmetic (asyncpg alone truncates
    # it), a bool as 0/1, NULL, and SUM of integers coming back as an int.
    row = await db.fetch_one(
        "SELECT 'reminder:' || ?, CAST(10 AS INTEGER) - ?, ? + 1, COALESCE(?, 'none')",
        (30, 2.5, True, None),
    )
    assert tuple(row) == ("reminder:30", 7.5, 2, "none")  # type: ignore[arg-type]
    total = await db.fetch_one("SELECT SUM(x) FROM (VALUES (1), (2)) v(x)")
    assert total is not None and total[0] == 3 and type(total[0]) is int


async def _seed_alerts(db: PostgresDatabase, events: list[str]) -> None:
    now = "2018-07-03T12:00:00Z"
    await db.execute(
        "INSERT INTO competitions(slug, name) VALUES ('wc', 'World Cup')"
    )
    await db.execute_many(
        "INSERT INTO teams(name, folded) VALUES (?, ?)",
        [("Japan", "japan"), ("Belgium", "belgium")],
    )
    await db.execute(
        "INSERT INTO matches(key, competition_id, stage, kickoff, home_id, away_id, status, "
        "updated_at) SELECT 'm1', c.id, 'R16', ?, h.id, a.id, 'scheduled', ? "
        "FROM competitions c, teams h, teams a WHERE h.folded = 'belgium' AND a.folded = 'japan'",
        (now, now),
    )
    await db.execute(
        "INSERT INTO chats(platform, external_id, kind, timezone, created_at) "
        "VALUES ('telegram', ?, 'private', 'UTC', ?)",
        (-1001234567890, now),  # a supergroup's id: past 32 bits
    )
    await db.execute_many(
        "INSERT INTO alerts(chat_id, match_id, event, text, created_at, next_attempt_at) "
        "SELECT c.id, m.id, ?, 'text', ?, ? FROM chats c, matches m",
        [(event, now, None if i == 0 else 1530619200.25 + i) for i, event in enumerate(events)],
    )


async def test_execute_returns_the_rows_it_changed(db: PostgresDatabase) -> None:
    await _seed_alerts(db, ["goal:1", "goal:2", "goal:3"])
    assert await db.execute("UPDATE alerts SET attempts = attempts + 1") == 3
    assert await db.execute(
        "UPDATE alerts SET status = 'sent' WHERE next_attempt_at <= ?", (1530619201.5,)
    ) == 1  # a float compared as a float (truncated to ….0, it would find none)
    assert await db.execute("UPDATE alerts SET status = 'x' WHERE id < 0") == 0
    assert await db.execute(
        "INSERT INTO alerts(chat_id, match_id, event, text, created_at) "
        "SELECT chat_id, match_id, event, text, created_at FROM alerts ON CONFLICT DO NOTHING"
    ) == 0
    assert await db.execute("DELETE FROM alerts WHERE status != 'sent'") == 2
    (left,) = await db.fetch_all("SELECT next_attempt_at, event FROM alerts")
    assert left["next_attempt_at"] == 1530619201.25 and left["event"] == "goal:2"


async def test_numbered_placeholders_on_the_server(db: PostgresDatabase) -> None:
    await _seed_alerts(db, ["a", "b", "c", "d"])
    rows = await db.fetch_all(
        "SELECT event FROM alerts WHERE event >= ?1 OR event = ?2 ORDER BY event LIMIT ?3",
        ("c", "a", 2),
    )
    assert [r[0] for r in rows] == ["a", "c"]


async def test_dialect_fragments_answer_as_sqlite_does(db: PostgresDatabase) -> None:
    d = db.dialect
    sqlite = sqlite3.connect(":memory:")
    for doc in ("[120, 30]", "30", "[]"):
        ours = await db.fetch_all(
            f"SELECT j.value FROM {d.json_array_values('?')} j ORDER BY j.value", (doc,)
        )
        theirs = sqlite.execute(
            "SELECT j.value FROM json_each(?) j ORDER BY j.value", (doc,)
        ).fetchall()
        assert [tuple(r) for r in ours] == theirs, doc
    # `off` (no reminders) has no elements rather than failing the whole query.
    assert await db.fetch_all(f"SELECT value FROM {d.json_array_values(repr('off'))}") == []
    # MIN over the elements is numeric (lexically '120' < '30').
    row = await db.fetch_one(f"SELECT MIN(j.value) * 60 FROM {d.json_array_values('?')} j",
                             (json.dumps([120, 30]),))  # fmt: skip
    assert row is not None and row[0] == 1800
    kickoff = "2018-07-03T18:00:00Z"
    ours = await db.fetch_one(f"SELECT {d.epoch_seconds('?')}", (kickoff,))
    (theirs,) = sqlite.execute("SELECT CAST(strftime('%s', ?) AS INTEGER)", (kickoff,)).fetchone()
    assert ours is not None and ours[0] == theirs == 1530640800
    row = await db.fetch_one(f"SELECT {d.greatest('?', '?')}", (3, 7))
    assert row is not None and row[0] == 7
    sqlite.close()


async def test_the_stores_reminder_queries_run_with_the_dialects_fragments(
    db: PostgresDatabase,
) -> None:
    # The shapes storage/store.py gives json_each and strftime('%s'), in PostgreSQL's words:
    # a correlated MIN over a chat's leads against kick-off minus a float `now`, a lateral
    # join over distinct reminder lists, and a scalar subquery without an alias.
    await _seed_alerts(db, ["goal:1"])
    await db.execute("UPDATE chats SET reminders = ?", (json.dumps([120, 30, 5]),))
    await db.execute(
        "INSERT INTO chats(platform, external_id, kind, timezone, reminders, created_at) "
        "VALUES ('discord', 7, 'private', 'UTC', 'off', '2018-07-01T00:00:00Z')"
    )
    d = db.dialect
    kickoff_epoch = 1530619200  # 2018-07-03T12:00:00Z, the seeded match's kick-off
    now = kickoff_epoch - 40 * 60 + 0.5  # 39:59.5 before kick-off
    (row,) = await db.fetch_all(
        f"""
        SELECT (SELECT MIN(j.value) FROM {d.json_array_values("ch.reminders")} j
                WHERE j.value * 60 >= {d.epoch_seconds("m.kickoff")} - ?)
        FROM chats ch, matches m WHERE ch.reminders != 'off'
        """,
        (now,),
    )
    assert row[0] == 120  # 30 * 60 = 1800 < 2399.5 seconds to go: only 120 has come
    leads = await db.fetch_all(
        f"SELECT DISTINCT j.value FROM (SELECT DISTINCT reminders FROM chats "
        f"WHERE active = 1 AND reminders != 'off') r, {d.json_array_values('r.reminders')} j "
        "ORDER BY 1"
    )
    assert [r[0] for r in leads] == [5, 30, 120]
    longest = await db.fetch_all(
        f"SELECT external_id, (SELECT MAX(value) FROM {d.json_array_values('reminders')}) "
        "FROM chats ORDER BY 1"
    )
    assert [tuple(r) for r in longest] == [(-1001234567890, 120), (7, None)]


async def _count(db: PostgresDatabase, sql: str = "SELECT COUNT(*) FROM meta") -> int:
    row = await db.fetch_one(sql)
    assert row is not None
    return int(row[0])


async def test_an_error_rolls_the_whole_transaction_back(db: PostgresDatabase) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO meta(key, value) VALUES ('a', '1')")
            assert await tx.fetch_one("SELECT value FROM meta WHERE key = 'a'") == ("1",)
            raise RuntimeError("boom")
    with pytest.raises(asyncpg.UniqueViolationError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO meta(key, value) VALUES ('b', '1')")
            await tx.execute("INSERT INTO meta(key, value) VALUES ('b', '2')")
    assert await _count(db) == 0
    async with db.transaction() as tx:  # the connection is usable again
        await tx.execute("INSERT INTO meta(key, value) VALUES ('c', '1')")
    assert await _count(db) == 1


async def _idle_in_transaction(db: PostgresDatabase) -> int:
    return await _count(
        db,
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%'",
    )


async def test_cancellation_mid_statement_rolls_back(db: PostgresDatabase) -> None:
    wrote = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO meta(key, value) VALUES ('half', 'done')")
            wrote.set()
            await tx.execute("SELECT pg_sleep(30)")  # cancelled while the server runs this

    task = asyncio.create_task(writer())
    await asyncio.wait_for(wrote.wait(), 10)
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _count(db) == 0
    assert await _idle_in_transaction(db) == 0
    async with db.transaction() as tx:
        assert await tx.execute("INSERT INTO meta(key, value) VALUES ('next', 'fine')") == 1
    assert await _count(db) == 1


async def test_cancellation_between_statements_rolls_back(db: PostgresDatabase) -> None:
    wrote, never = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO meta(key, value) VALUES ('half', 'done')")
            wrote.set()
            await never.wait()  # cancelled here, in Python, between two statements

    task = asyncio.create_task(writer())
    await asyncio.wait_for(wrote.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _count(db) == 0
    assert await _idle_in_transaction(db) == 0


async def test_transactions_in_one_process_take_turns(db: PostgresDatabase) -> None:
    # Read-modify-write with a pause in between: two at once on two pool connections would
    # both read the same count and one increment would be lost.
    await db.execute("INSERT INTO meta(key, value) VALUES ('count', '0')")
    inside = 0
    most_inside = 0

    async def increment() -> None:
        nonlocal inside, most_inside
        async with db.transaction() as tx:
            inside += 1
            most_inside = max(most_inside, inside)
            row = await tx.fetch_one("SELECT value FROM meta WHERE key = 'count'")
            assert row is not None
            await asyncio.sleep(0.01)
            await tx.execute(
                "UPDATE meta SET value = ? WHERE key = 'count'", (str(int(row[0]) + 1),)
            )
            inside -= 1

    await asyncio.gather(*(increment() for _ in range(20)))
    assert most_inside == 1
    assert await db.fetch_one("SELECT value FROM meta WHERE key = 'count'") == ("20",)


async def test_the_transactions_task_reads_its_own_writes_others_read_committed(
    db: PostgresDatabase,
) -> None:
    asked, answered = asyncio.Queue[None](), asyncio.Queue[int]()

    async def other_task() -> None:  # started before the transaction: reads from the pool
        while True:
            await asked.get()
            await answered.put(await _count(db))

    other = asyncio.create_task(other_task())
    try:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO meta(key, value) VALUES ('new', '1')")
            assert await _count(db) == 1  # the database handle, in this task: the same connection
            await asked.put(None)
            assert await answered.get() == 0  # not committed yet
        await asked.put(None)
        assert await answered.get() == 1
    finally:
        other.cancel()


async def test_a_transaction_inside_a_transaction_is_refused(db: PostgresDatabase) -> None:
    with pytest.raises(RuntimeError, match="already open"):
        async with db.transaction():
            async with db.transaction():
                pass


async def test_a_wrong_password_is_not_in_the_error(
    postgres_server: PostgresServer, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-s3cret-pw"
    url = postgres_url.replace(postgres_server.password, wrong)
    assert wrong in url
    with pytest.raises(DatabaseUnavailable) as caught:
        await PostgresDatabase.open(url)
    text = "".join(traceback.format_exception(caught.value))
    assert "password authentication failed" in text  # the reason is given...
    assert "***" in text and wrong not in text and postgres_server.password not in text
    assert wrong not in caplog.text  # ...and no log line carries the password either
    # Nor when the server is not there at all.
    gone = url.replace(f":{postgres_server.port}/", ":1/")
    with pytest.raises(DatabaseUnavailable) as caught:
        await PostgresDatabase.open(gone)
    assert wrong not in "".join(traceback.format_exception(caught.value))


_MIGRATE = """
import asyncio, sys
from storage.postgres import PostgresDatabase

async def main() -> None:
    db = await PostgresDatabase.open(sys.argv[1])
    try:
        await db.migrate()
    finally:
        await db.close()

asyncio.run(main())
"""


async def test_replicas_migrating_at_once_all_succeed(postgres_url: str) -> None:
    # Two processes and three pools in this one, all on an empty database at the same time:
    # without the advisory lock all but one die on "relation already exists".
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _MIGRATE, postgres_url, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]  # fmt: skip
    pools = await asyncio.gather(*(PostgresDatabase.open(postgres_url) for _ in range(3)))
    try:
        await asyncio.gather(*(pool.migrate() for pool in pools))
        for process in processes:
            _, err = await asyncio.wait_for(process.communicate(), 60)
            assert process.returncode == 0, err.decode()
        assert await _versions(pools[0]) == [7]
        assert await _count(pools[0], "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'alerts'")
    finally:
        for pool in pools:
            await pool.close()


def test_database_url_names_each_engine(engine: str, database_url: str) -> None:
    assert engine_of(database_url) == engine


async def test_one_goal_queues_the_same_ledger_rows_on_both_engines(database_url: str) -> None:
    """The ledger insert is spelled per engine (PostgreSQL takes the rows as arrays): each
    follower gets one row per event in its zone's words, and a repeat adds none."""
    from feeds.model import Goal, MatchState, Status, TeamRef
    from handlers.alerts import render_alert
    from storage.store import Store

    def state(goals: tuple[Goal, ...]) -> MatchState:
        home = sum(1 for g in goals if g.side == 1)
        return MatchState(
            key="t:1", competition="Cup", stage="Final", kickoff=NOW, home=TeamRef("Belgium"),
            away=TeamRef("Japan"), status=Status.LIVE, venue=None,
            score=(home, len(goals) - home), minute=30, goals=goals,
        )  # fmt: skip

    store = await Store.open(database_url)
    try:
        await store.apply([state(())], NOW, render_alert, silent=True)
        belgium = next(t.id for t in await store.teams() if t.name == "Belgium")
        for n, zone in enumerate(("UTC", "Asia/Tokyo", "Europe/Brussels")):
            chat = await store.ensure_chat("test", 100 + n, "private", f"Fan {n}", zone)
            await store.follow(chat.id, "team", belgium, NOW)
        two = (Goal(1, 24, 0, "Hazard"), Goal(2, 30, 0, "Inui"))
        first = await store.apply([state(two[:1])], NOW, render_alert)
        second = await store.apply([state(two)], NOW, render_alert)
        again = await store.apply([state(two)], NOW, render_alert)
        rows = await store._all("SELECT chat_id, event, text, expires_at FROM alerts")
    finally:
        await store.close()
    assert (first.alerts, second.alerts, again.alerts) == (3, 3, 0)
    assert len({(r[0], r[1]) for r in rows}) == 6 and all(r[3] is None for r in rows)
    assert sum("Inui 30'" in r[2] for r in rows) == 3
