"""The PostgreSQL engine behind `storage.db.Database`: `MATCHDAY_DB=postgresql://…` (asyncpg).

The store's SQL is written once, with SQLite's `?` placeholders; here each distinct statement
is numbered `$1…$n` once and cached. asyncpg binds parameters by the type PostgreSQL infers
for them, which is stricter than SQLite: an int where text is inferred is refused, and a float
where an integer is inferred is silently truncated (`10 - 2.5` gave 8). So a Python int is
bound as `$n::bigint`, a float as `$n::double precision` and a str as `$n::text`: a value
is typed by what it is, as in SQLite, and the expression is computed as SQLite computes it
(`CAST(? AS timestamptz)` gets text to parse, not a datetime). Only NULL is left to
PostgreSQL's inference.
Aggregates of integers (`SUM`) come back as Python ints, as from SQLite, not `Decimal`.

Writes go through `transaction()`: one at a time in this process (an asyncio lock, as the
SQLite store does), on one pool connection, committed whole or rolled back whole on any error
or cancellation. A read made by the task holding the transaction runs on that transaction's
connection, so it sees its own uncommitted writes, as the one SQLite connection does. Other
tasks read committed data from the pool meanwhile.

The URL's password never appears in a log line or in an error raised here (`redact`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import asyncpg

from storage.db import Engine, Row

log = logging.getLogger("matchday.storage")

POOL_MIN = 1  # the bot is one process with one writer: a few connections serve it
POOL_MAX = 8
STATEMENT_CACHE = 512  # prepared statements per connection (asyncpg's default is 100)

# -- the SQL both engines speak ------------------------------------------------------------


class PostgresDialect:
    """PostgreSQL's spelling of the fragments `storage.db.Dialect` names."""

    engine: Engine = "postgresql"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})"

    def json_array_values(self, column: str) -> str:
        # A set-returning function whose one output column is `value` (BIGINT): used as
        # `FROM {this} j … j.value` exactly like SQLite's `json_each(col) j`. Defined by the
        # schema (storage.schema_pg): a bare number is a one-element list, as json_each
        # takes it, and the store's only JSON arrays are minute lists.
        return f"json_int_values({column})"

    def epoch_seconds(self, iso_text: str) -> str:
        return f"CAST(EXTRACT(EPOCH FROM CAST({iso_text} AS timestamptz)) AS BIGINT)"

    def skip_locked(self, alias: str) -> str:
        return f"FOR UPDATE OF {alias} SKIP LOCKED"


DIALECT = PostgresDialect()

_NUMBERED = re.compile(r"\?(\d+)")


@functools.lru_cache(maxsize=2048)
def _parse(sql: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Split `sql` at its placeholders: the text between them, and each one's 0-based
    parameter index. `?` and SQLite's numbered `?NNN` count; a `?` inside a quoted literal,
    a quoted identifier, a dollar-quoted string or a comment is text. As in SQLite, a bare
    `?` takes the number after the largest one used so far."""
    pieces: list[str] = []
    indexes: list[int] = []
    start = i = 0
    largest = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == ch:  # '' or "" inside
                end = sql.find(ch, end + 2)
            i = n if end == -1 else end + 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end + 1
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif ch == "$" and (tag := re.match(r"\$([A-Za-z_]\w*)?\$", sql[i:])):
            end = sql.find(tag.group(0), i + len(tag.group(0)))
            i = n if end == -1 else end + len(tag.group(0))
        elif ch == "?":
            numbered = _NUMBERED.match(sql, i)
            if numbered:
                number = int(numbered.group(1))
                if number < 1:
                    raise ValueError(f"placeholder ?{number} in {sql!r}: numbers start at 1")
                end = numbered.end()
            else:
                number = largest + 1
                end = i + 1
            largest = max(largest, number)
            pieces.append(sql[start:i])
            indexes.append(number - 1)
            start = i = end
        else:
            i += 1
    pieces.append(sql[start:])
    return tuple(pieces), tuple(indexes)


def parameter_count(sql: str) -> int:
    """How many parameters `sql` takes (the largest placeholder number)."""
    return max(_parse(sql)[1], default=-1) + 1


_CASTS = {"": "", "i": "::bigint", "f": "::double precision", "s": "::text"}


@functools.lru_cache(maxsize=4096)
def translate(sql: str, kinds: tuple[str, ...] = ()) -> str:
    """`sql` with `$1…$n` for its placeholders, each cast by the kind of value bound to it
    ("i" int, "f" float, "s" str, "" anything else: left to PostgreSQL's inference)."""
    pieces, indexes = _parse(sql)
    out = [pieces[0]]
    for piece, index in zip(pieces[1:], indexes, strict=True):
        kind = kinds[index] if index < len(kinds) else ""
        out.append(f"${index + 1}{_CASTS[kind]}")
        out.append(piece)
    return "".join(out)


def _kind(value: Any) -> str:
    if isinstance(value, bool | int):
        return "i"
    if isinstance(value, float):
        return "f"
    if isinstance(value, str):
        return "s"
    return ""


def _bind(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "i":
        return int(value)
    if kind == "f":
        return float(value)
    return value


def _prepared(sql: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
    kinds = tuple(_kind(v) for v in params)
    return translate(sql, kinds), [_bind(v, k) for v, k in zip(params, kinds, strict=True)]


def _prepared_many(sql: str, rows: Iterable[Sequence[Any]]) -> tuple[str, list[list[Any]]]:
    """One statement for all rows, so one kind per position: the kind its non-NULL values
    share (ints and floats together are floats)."""
    rows = [tuple(row) for row in rows]
    width = max((len(row) for row in rows), default=0)
    kinds = []
    for position in range(width):
        seen = {_kind(row[position]) for row in rows if row[position] is not None}
        if seen == {"i", "f"}:
            kinds.append("f")  # an int among floats is widened
        elif len(seen) == 1:
            kinds.append(seen.pop())
        else:
            kinds.append("")  # all NULL (or mixed): PostgreSQL infers the type
    kinds_t = tuple(kinds)
    bound = [[_bind(v, k) for v, k in zip(row, kinds_t, strict=False)] for row in rows]
    return translate(sql, kinds_t), bound


def rows_changed(status: str) -> int:
    """The row count in asyncpg's command status ("UPDATE 3", "INSERT 0 1"); 0 if none."""
    last = status.rsplit(" ", 1)[-1] if status else ""
    return int(last) if last.isdigit() else 0


# -- secrets ---------------------------------------------------------------------------------

_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def _userinfo(url: str) -> str | None:
    """`user:password` of a URL: up to its last `@` before any query. A password should be
    percent-encoded, but one with a raw `@` or `/` is still found whole (better to hide a
    database name than to show part of a password)."""
    head = url.split("://", 1)[-1].split("?", 1)[0]
    return head.rsplit("@", 1)[0] if "@" in head else None


def _password(url: str) -> str | None:
    userinfo = _userinfo(url)
    return userinfo.split(":", 1)[1] if userinfo and ":" in userinfo else None


def database_passwords(url: str) -> list[str]:
    """Every spelling of the password `url` carries (as written and percent-decoded, in its
    user part or a `password=` parameter), for scrubbing log lines; empty when it has none."""
    in_query = {m.group(0).split("=", 1)[1] for m in _QUERY_PASSWORD.finditer(url)}
    written = {_password(url)} | in_query
    found = {s for s in written if s}
    return sorted(found | {unquote(s) for s in found}, key=len, reverse=True)


def redact(url: str) -> str:
    """`url` with its password (in the user part or a `password=` parameter) as `***`."""
    userinfo = _userinfo(url)
    if userinfo is not None and ":" in userinfo:
        scheme, rest = url.split("://", 1) if "://" in url else ("", url)
        user = userinfo.split(":", 1)[0]
        url = f"{scheme}://{user}:***@{rest[len(userinfo) + 1 :]}"
    return _QUERY_PASSWORD.sub(r"\1***", url)


def _scrub(text: str, url: str) -> str:
    """`text` without any spelling of the URL's password (as written, or decoded)."""
    for secret in database_passwords(url):
        text = text.replace(secret, "***")
    return text


class DatabaseUnavailable(Exception):
    """The PostgreSQL server could not be reached or refused us; the message says why and
    names the server by its URL without the password."""


# -- connections -------------------------------------------------------------------------------

# A session advisory lock lives as long as its TCP session: keepalives make the server end a
# session whose host vanished (power cut, cut network) within about 10 + 3 × 5 = 25 s, so
# the roles it held are taken over then; a killed process's session ends at once.
LOCK_SESSION = {
    "application_name": "matchday-leadership",
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}


async def lock_connection(url: str) -> asyncpg.Connection:
    """The dedicated connection that holds this process's advisory locks (its roles)."""
    try:
        return await asyncpg.connect(dsn=url, server_settings=LOCK_SESSION, timeout=10)
    except Exception as exc:  # whatever it is, it must not carry the password out
        reason = _scrub(f"{type(exc).__name__}: {exc}", url)
        raise DatabaseUnavailable(f"PostgreSQL at {redact(url)}: {reason}") from None



def _numeric_out(text: str) -> int | float:
    """NUMERIC as SQLite would give it: `SUM` of integers is an int, anything else a float."""
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _numeric_in(value: int | float | Decimal | str) -> str:
    return str(value)


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=_numeric_in, decoder=_numeric_out, format="text"
    )


class PostgresConnection:
    """Statements on one asyncpg connection: what an open transaction hands out."""

    dialect = DIALECT

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        # asyncpg runs one statement at a time per connection and refuses a second; tasks
        # sharing a transaction (gather inside it) queue here, as on aiosqlite's thread.
        self._turn = asyncio.Lock()
        self.open = True

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        query, args = _prepared(sql, params)
        async with self._turn:
            return list(await self._conn.fetch(query, *args))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        query, args = _prepared(sql, params)
        async with self._turn:
            return await self._conn.fetchrow(query, *args)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        query, args = _prepared(sql, params)
        async with self._turn:
            return rows_changed(await self._conn.execute(query, *args))

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        query, bound = _prepared_many(sql, rows)
        if bound:
            async with self._turn:
                await self._conn.executemany(query, bound)


# The transaction the current task holds (and on which database), so its reads see its writes.
_CURRENT: contextvars.ContextVar[tuple[PostgresDatabase, PostgresConnection] | None] = (
    contextvars.ContextVar("matchday_pg_transaction", default=None)
)


class PostgresDatabase:
    """A pool of connections to one PostgreSQL database: `storage.db.Database`."""

    dialect = DIALECT

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self._lock = asyncio.Lock()
        self.url = redact(url)  # how logs and errors name this database

    @classmethod
    async def open(
        cls, url: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX
    ) -> PostgresDatabase:
        """Connect a pool to `url`; DatabaseUnavailable (password redacted) if we cannot."""
        shown = redact(url)
        log.info("opening PostgreSQL at %s", shown)
        try:
            pool = await asyncpg.create_pool(
                dsn=url,
                min_size=min_size,
                max_size=max_size,
                init=_setup,
                statement_cache_size=STATEMENT_CACHE,
                # Times are ISO text with a Z; UTC makes any zone-less cast read them as UTC.
                # JIT compiles big analytic plans: a bot's short queries only pay for it.
                server_settings={"timezone": "UTC", "jit": "off", "application_name": "matchday"},
            )
        except Exception as exc:  # whatever it is, it must not carry the password out
            reason = _scrub(f"{type(exc).__name__}: {exc}", url)
            raise DatabaseUnavailable(f"PostgreSQL at {shown}: {reason}") from None
        return cls(pool, url)

    async def close(self) -> None:
        await self._pool.close()

    async def migrate(self) -> None:
        from storage.schema_pg import migrate

        async with self._pool.acquire() as conn:
            await migrate(conn)

    def _held(self) -> PostgresConnection | None:
        current = _CURRENT.get()
        if current is None or current[0] is not self or not current[1].open:
            return None  # (a task started inside a finished transaction reads the pool)
        return current[1]

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if held := self._held():
            return await held.fetch_all(sql, params)
        query, args = _prepared(sql, params)
        return list(await self._pool.fetch(query, *args))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        if held := self._held():
            return await held.fetch_one(sql, params)
        query, args = _prepared(sql, params)
        return await self._pool.fetchrow(query, *args)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if held := self._held():
            return await held.execute(sql, params)
        query, args = _prepared(sql, params)
        return rows_changed(await self._pool.execute(query, *args))

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if held := self._held():
            return await held.execute_many(sql, rows)
        query, bound = _prepared_many(sql, rows)
        if bound:
            await self._pool.executemany(query, bound)  # atomic: all rows or none

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresConnection]:
        """One write transaction at a time in this process; rolled back whole on any error
        or cancellation. Opening one inside another would wait for itself: refused."""
        if self._held() is not None:
            raise RuntimeError("a transaction is already open in this task")
        async with self._lock:
            conn: asyncpg.Connection = await self._pool.acquire()
            try:
                tx = conn.transaction()
                await tx.start()
                held = PostgresConnection(conn)
                token = _CURRENT.set((self, held))
                try:
                    yield held
                except BaseException:
                    await asyncio.shield(self._rollback(conn, tx))
                    raise
                finally:
                    held.open = False
                    _CURRENT.reset(token)
                await asyncio.shield(tx.commit())
            finally:
                await asyncio.shield(self._pool.release(conn))

    @staticmethod
    async def _rollback(conn: asyncpg.Connection, tx: Any) -> None:
        try:
            await tx.rollback()
        except Exception:
            # The connection is unusable (e.g. a cancelled query left it mid-protocol):
            # closing it makes the server abort the transaction; the pool opens another.
            log.warning("rollback failed; closing the connection instead", exc_info=True)
            conn.terminate()
