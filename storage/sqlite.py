"""The SQLite engine behind `storage.db.Database`: one aiosqlite connection per process.

WAL, and every write inside `BEGIN IMMEDIATE` under one asyncio lock, so a state change and
the alerts it causes commit together or not at all. Migrations are `storage.schema`'s
scripts, numbered by `PRAGMA user_version`. This is the only module that touches aiosqlite
(and, for `matchday backup`, the sqlite3 file itself).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from storage.db import Connection, Row
from storage.schema import MIGRATIONS


class SqliteDialect:
    """SQLite's spelling of the fragments `storage.db.Dialect` names."""

    engine: Literal["sqlite"] = "sqlite"

    def greatest(self, a: str, b: str) -> str:
        return f"MAX({a}, {b})"

    def json_array_values(self, column: str) -> str:
        return f"json_each({column})"

    def epoch_seconds(self, iso_text: str) -> str:
        return f"CAST(strftime('%s', {iso_text}) AS INTEGER)"

    def skip_locked(self, alias: str) -> str:
        return ""


DIALECT = SqliteDialect()


class SqliteDatabase:
    """`storage.db.Database` on one aiosqlite connection (autocommit outside transactions).

    A transaction yields this same object: SQLite has one connection, so statements inside
    and outside the transaction see the same writes, as they did before the seam.
    """

    dialect: SqliteDialect = DIALECT

    def __init__(self, connection: aiosqlite.Connection) -> None:
        # The raw connection, for SQLite-only tools and tests (iterdump, trace callbacks);
        # store code goes through the methods below.
        self.connection = connection
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> SqliteDatabase:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=5000")
            # 32 MiB of page cache (SQLite's default is 2): index updates on a large history
            # stop re-reading pages; imports into a 200k-match store ran ~30% faster.
            await connection.execute("PRAGMA cache_size=-32768")
        except BaseException:
            await connection.close()
            raise
        return cls(connection)

    async def close(self) -> None:
        await self.connection.close()

    async def migrate(self) -> None:
        """Apply `storage.schema.MIGRATIONS` past `PRAGMA user_version`, one transaction each."""
        (version,) = await self.fetch_one("PRAGMA user_version") or (0,)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # Foreign keys off while a migration runs (a no-op inside a transaction), so a
            # table can be rebuilt as SQLite documents; checked before the commit instead.
            await self.connection.execute("PRAGMA foreign_keys=OFF")
            async with self.transaction() as tx:
                for statement in script.split(";"):
                    if statement.strip():
                        await tx.execute(statement)
                if await tx.fetch_all("PRAGMA foreign_key_check"):
                    raise sqlite3.IntegrityError(f"migration {number} broke a foreign key")
                await tx.execute(f"PRAGMA user_version = {number:d}")
            await self.connection.execute("PRAGMA foreign_keys=ON")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction at a time; rolled back whole on any error or cancellation."""
        async with self._lock:
            try:
                await self.connection.execute("BEGIN IMMEDIATE")
                yield self
            except BaseException:
                # Even if cancelled while BEGIN was queued, aiosqlite runs statements in order,
                # so this ROLLBACK lands after it; shielded so a second cancel cannot skip it.
                await asyncio.shield(self._rollback())
                raise
            await asyncio.shield(self.connection.execute("COMMIT"))

    async def _rollback(self) -> None:
        try:
            await self.connection.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # BEGIN never ran: nothing to undo

    # One trip to aiosqlite's thread per query (execute, fetch and close would be three):
    # each trip costs ~0.1-0.3 ms of thread hand-off on a small machine.
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self.connection.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.connection.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self.connection.execute(sql, params)  # one trip: not closed (no rows)
        return cursor.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.connection.executemany(sql, rows)


def online_backup(source: Path, target: Path, pages: int) -> tuple[int, int]:
    """Copy the SQLite file `source` to `target` with SQLite's online backup API, check the
    copy, and return its (matches, alerts) counts. Raises sqlite3.Error, or ValueError with
    SQLite's verdict when the copy fails its check.

    Read-only on `source`: a backup must never create, migrate or lock the live database for
    writes. Page by page, restarting a step when a writer changes a page already copied, so
    the copy is one committed state of the database.
    """
    with (
        closing(_connect(f"file:{source}?mode=ro", uri=True)) as live,
        closing(_connect(target)) as copy,
    ):
        live.backup(copy, pages=pages)
        (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise ValueError(verdict)
        return _count(copy, "matches"), _count(copy, "alerts")


def _connect(database: str | Path, *, uri: bool = False) -> sqlite3.Connection:
    connection = sqlite3.connect(database, uri=uri, timeout=30.0)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _count(connection: sqlite3.Connection, table: str) -> int:
    """Rows in `table`, or 0 for a database from before that table existed."""
    try:
        (count,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(count)
