"""The one seam between the store's logic and its database engine: SQLite or PostgreSQL.

Store code writes each statement once, in the SQL both engines speak: `?` placeholders (the
PostgreSQL connection numbers them `$1, $2, …`), `ON CONFLICT … DO NOTHING/UPDATE`,
`RETURNING`, `COALESCE`, CTEs. The few places where the two really differ (JSON arrays,
epoch seconds, scalar max) ask `Database.dialect` for the fragment, so there is one copy of
the logic and one test suite for both engines.

Rows come back as `sqlite3.Row` or `asyncpg.Record`: both index by position and by name.
Times are stored as ISO-8601 UTC text (`storage.times.to_db`) in both engines, so comparisons
and sorting are plain text comparisons (PostgreSQL's time columns are declared `COLLATE "C"`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol, TypeVar

T = TypeVar("T")
Row = Any  # sqlite3.Row | asyncpg.Record: row[0] and row["name"] both work
Engine = Literal["sqlite", "postgresql"]


class Dialect(Protocol):
    """SQL fragments that differ between the engines; everything else is written once."""

    engine: Engine  # also where a planner hint only SQLite has is left out (reads.indexed_by)

    def greatest(self, a: str, b: str) -> str:
        """Larger of two scalars: SQLite's two-argument MAX, PostgreSQL's GREATEST.
        Only for NOT NULL operands: with a NULL, MAX gives NULL and GREATEST the other."""
        ...

    def json_array_values(self, column: str) -> str:
        """A table source of a JSON array column's elements as a column named `value`
        (SQLite `json_each(col)`, PostgreSQL `jsonb_array_elements_text(col::jsonb)`).

        Callers use it unaliased and name the column bare, cast: `CAST(value AS INTEGER)`
        (PostgreSQL's elements are text). The only such column is `chats.reminders`: a JSON
        list, or 'off' (callers filter those rows out first), or a bare number from older
        rows ('30', one element to SQLite's json_each)."""
        ...

    def epoch_seconds(self, iso_text: str) -> str:
        """Seconds since 1970 of an ISO-8601 UTC text column, as an integer expression."""
        ...

    def skip_locked(self, alias: str) -> str:
        """The end of a claim query, so that processes claiming at once never take one row
        twice: PostgreSQL's `FOR UPDATE OF alias SKIP LOCKED` (rows another transaction is
        claiming are passed over, not waited for); nothing on SQLite, whose one writer at
        a time already claims alone."""
        ...


class Connection(Protocol):
    """What a statement runs on: the database itself, or one open write transaction.

    Parameters are plain `?` in order (never SQLite's numbered `?1`); booleans are passed
    as 0/1, since the flag columns are integers in both engines.
    """

    dialect: Dialect

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query that finds at most one (a key lookup, an aggregate)."""
        ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class Database(Connection, Protocol):
    """One process's handle on the store's database (SQLite file or PostgreSQL server)."""

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """One write transaction at a time in this process, committed whole or rolled back
        whole (on any error or cancellation). Statements of the transaction, reads that must
        see its writes included, go through the connection it yields."""
        ...

    async def migrate(self) -> None:
        """Bring the schema to the newest version this code knows (versioned per engine)."""
        ...

    async def close(self) -> None: ...


def placeholders(count: int) -> str:
    """`?, ?, …` for an `IN (…)` list of `count` values."""
    return ", ".join("?" * count)


def in_chunks(items: Sequence[T], size: int = 500) -> list[Sequence[T]]:
    """`items` cut into lists of at most `size`, one `IN (…)` query each, so no statement
    outgrows an engine's limit on parameters."""
    return [items[start : start + size] for start in range(0, len(items), size)]


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def engine_of(target: str) -> Engine:
    """Which engine `MATCHDAY_DB` names: a PostgreSQL URL, else a SQLite file path.

    A value that looks like a URL of anything else (`mysql://…`, `sqlite://…`) is refused
    with a message that says what is accepted, rather than being created as a file of that name.
    """
    if target.startswith(POSTGRES_SCHEMES):
        return "postgresql"
    if "://" in target:
        scheme = target.split("://", 1)[0]
        raise ValueError(
            f"MATCHDAY_DB: {scheme}:// databases are not supported; give a SQLite file path "
            "(e.g. matchday.db) or a postgresql://user:password@host:port/db URL"
        )
    return "sqlite"
