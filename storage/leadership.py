"""Which process runs a singleton role (the live engine, a platform's delivery).

Several `matchday run` replicas on one PostgreSQL database all answer commands, but the feed
must be polled once and each alert sent once: one process at a time holds each role. On
PostgreSQL that is a session advisory lock on a connection kept for the purpose: when the
holder dies (SIGKILL, lost host, cut network) the server ends its session, the lock is free,
and a standby that asks again on its next tick (every few seconds) takes the role over. The
state a role works from is all in the database (matches as last stored, the ledger), so the
new holder neither loses nor repeats an event. On SQLite one process owns the file: it holds
every role.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any, Protocol

log = logging.getLogger("matchday.leadership")

# Advisory lock keys share one 64-bit space per database; this prefix keeps ours apart from
# any other application's (the low 32 bits name the role).
_KEY_PREFIX = 0x4D44 << 32  # "MD"
# A lock query that does not answer within this long means the session is as good as gone
# (a cut network): treated as lost, never waited on while a standby may be taking over.
QUERY_TIMEOUT = 5.0


ENGINE = "engine"  # the live engine: feed polling, reminders, ledger pruning


def delivery_role(platform: str) -> str:
    """The role of sending a platform's alerts: one sender per platform keeps its rate."""
    return f"delivery:{platform}"


class Leadership(Protocol):
    async def holds(self, role: str) -> bool:
        """Whether this process holds `role` now, taking it if it is free."""
        ...

    async def close(self) -> None: ...


class SoleProcess:
    """SQLite: the one process on the file holds every role."""

    async def holds(self, role: str) -> bool:
        return True

    async def close(self) -> None:
        return None


def role_key(role: str) -> int:
    """A stable advisory lock key for a role name (crc32, not hash(): stable across runs)."""
    return _KEY_PREFIX | zlib.crc32(role.encode())


class LeadershipLost(RuntimeError):
    """The connection that held our roles is gone: another process may hold them now."""


class AdvisoryLocks:
    """PostgreSQL: one dedicated connection holds this process's session advisory locks.

    A process whose lock connection breaks cannot know whether a standby took its roles
    over, so it raises `LeadershipLost` (the process stops, and its supervisor restarts it
    as a standby) rather than risk sending every alert twice.
    """

    def __init__(self, connect: Any) -> None:
        self._connect = connect  # async () -> asyncpg.Connection
        self._conn: Any = None
        self._held: set[str] = set()
        self._lock = asyncio.Lock()

    async def holds(self, role: str) -> bool:
        async with self._lock:
            if self._conn is None:
                self._conn = await self._connect()
            try:
                if role in self._held:
                    await self._conn.fetchval("SELECT 1", timeout=QUERY_TIMEOUT)
                    return True
                taken = await self._conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", role_key(role), timeout=QUERY_TIMEOUT
                )
            except Exception as exc:
                held, self._held = self._held, set()
                self._conn.terminate()  # whatever state it is in, its session is over for us
                self._conn = None
                if held:
                    raise LeadershipLost(f"lost the session that held {sorted(held)}") from exc
                raise
            if taken:
                self._held.add(role)
                log.info("this process now runs %s", role)
            return bool(taken)

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()  # ends the session: every lock it held is free
                self._conn = None
            self._held.clear()
