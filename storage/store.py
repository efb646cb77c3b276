"""The one store: matches, teams, chats, follows and the alert ledger, on SQLite or PostgreSQL.

`Store` composes the concerns (storage/reads.py, matches.py, reminders.py, chats.py,
sources.py, ledger.py), each built on storage/base.py, over one `storage.db.Database`:
`MATCHDAY_DB` is a SQLite file path or a `postgresql://` URL. Every write runs in one
transaction at a time, so a state change and the alerts it causes commit together or not
at all. The names other modules import from here are re-exported below.
"""

from __future__ import annotations

import functools
from pathlib import Path

from storage.chats import Chat, ChatsRepository
from storage.db import Database, engine_of
from storage.leadership import AdvisoryLocks, Leadership, SoleProcess
from storage.ledger import LEDGER_STATUSES, DueAlerts, LedgerReports, PendingAlert, pending_of
from storage.matches import ApplyResult, Renderer
from storage.reads import same_player
from storage.reminders import MAX_REMINDER_MINUTES, NEAR_REMINDER_MINUTES, LeadTiers, Reminders
from storage.sources import SourceMatches
from storage.teams import Competition, Team
from storage.times import from_db, to_db

__all__ = [
    "LEDGER_STATUSES",
    "MAX_REMINDER_MINUTES",
    "NEAR_REMINDER_MINUTES",
    "ApplyResult",
    "Chat",
    "Competition",
    "DueAlerts",
    "LeadTiers",
    "PendingAlert",
    "Renderer",
    "Store",
    "Team",
    "from_db",
    "open_database",
    "pending_of",
    "same_player",
    "to_db",
]


async def open_database(target: str | Path) -> Database:
    """The database `MATCHDAY_DB` names, opened and migrated to this code's schema.

    A URL of an engine we do not speak is refused (`engine_of`'s ValueError) before
    anything is created.
    """
    location = str(target)
    db: Database
    if engine_of(location) == "postgresql":
        from storage.postgres import PostgresDatabase  # only deployments on PostgreSQL need it

        db = await PostgresDatabase.open(location)
    else:
        from storage.sqlite import SqliteDatabase

        db = await SqliteDatabase.open(location)
    try:
        await db.migrate()
    except BaseException:
        await db.close()
        raise
    return db


class Store(Reminders, ChatsRepository, SourceMatches, LedgerReports):
    """The facade every other part talks to; no SQL lives outside this package."""

    # Which singleton roles (the live engine, each platform's delivery) this process runs:
    # all of them on SQLite (one process per file); on PostgreSQL, those whose advisory lock
    # it holds, so replicas on one database share the work (storage/leadership.py).
    leadership: Leadership = SoleProcess()

    @classmethod
    async def open(cls, target: str | Path) -> Store:
        """The store at `target`: a SQLite file path or a postgresql:// URL."""
        store = cls(await open_database(target))
        location = str(target)
        if engine_of(location) == "postgresql":
            from storage.postgres import lock_connection

            store.leadership = AdvisoryLocks(functools.partial(lock_connection, location))
        return store

    async def close(self) -> None:
        """Roles first (their locks free for a standby at once), then the database."""
        try:
            await self.leadership.close()
        finally:
            await super().close()
