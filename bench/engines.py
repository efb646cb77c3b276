"""The store engines the store-level benchmarks run on: SQLite files, and PostgreSQL on a
throwaway server the bench starts itself (bench/postgres_server.py, the tests' starter).

A store target is what `Store.open` takes: a SQLite path, or a `postgresql://` URL of a fresh
database on that server. Bulk loads of synthetic rows go past the store (plain sqlite3, or
asyncpg's COPY), so each engine is filled the fastest way it offers and the figures time only
what the bot itself does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from bench.postgres_server import PostgresServer, ServerUnavailable, start_server

Target = Path | str  # a SQLite file, or a PostgreSQL URL
# PostgreSQL's default shared buffers, what a deployment has at least (the tests' server
# keeps 32MB, as each test worker runs one).
SETTINGS = {"shared_buffers": "128MB"}


def is_postgres(target: Target) -> bool:
    return isinstance(target, str) and target.startswith("postgresql://")


@asynccontextmanager
async def postgres() -> AsyncIterator[PostgresServer | None]:
    """A started server for the block, stopped after it; None (and why, printed) when this
    machine has no PostgreSQL binaries or the server would not start."""
    try:
        server = await asyncio.to_thread(start_server, SETTINGS)
    except (ServerUnavailable, RuntimeError) as exc:
        print(f"  PostgreSQL unavailable, SQLite only: {exc}", flush=True)
        yield None
        return
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def new_database(server: PostgresServer) -> str:
    """The URL of a fresh, empty database on `server`."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return server.url(name)


async def size_mb(target: Target) -> float:
    """The database's size on disk, in MB."""
    if not is_postgres(target):
        return Path(target).stat().st_size / 1e6  # noqa: ASYNC240
    conn = await asyncpg.connect(str(target))
    try:
        return float(await conn.fetchval("SELECT pg_database_size(current_database())")) / 1e6
    finally:
        await conn.close()


async def max_ids(url: str, tables: Sequence[str]) -> dict[str, int]:
    """The largest id of each table (0 when empty): synthetic rows are numbered after it."""
    conn = await asyncpg.connect(url)
    try:
        return {t: int(await conn.fetchval(f"SELECT COALESCE(MAX(id), 0) FROM {t}"))
                for t in tables}  # fmt: skip
    finally:
        await conn.close()


async def copy_rows(url: str, tables: dict[str, tuple[Sequence[str], list[tuple[Any, ...]]]],
                    identities: Sequence[str] = ()) -> None:  # fmt: skip
    """COPY each table's rows (columns named), in one transaction; then move the identity
    sequences of `identities` past the ids given explicitly, and ANALYZE, as the SQLite
    build does, so the planner sees the history it will be asked about."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for table, (columns, rows) in tables.items():
                if rows:
                    await conn.copy_records_to_table(table, records=rows, columns=list(columns))
            for table in identities:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
