"""What every concern of the store shares: the database handle, the write transaction, the
meta table and the team and competition caches.

Each concern (reads.py, matches.py, reminders.py, chats.py, sources.py, ledger.py) is a
class built on `StoreBase`, and `storage.store.Store` composes them into the one facade.
Statements run on a `storage.db.Connection`: `self.db` outside a write, the transaction's
connection inside one (PostgreSQL runs a transaction on a connection of its own, so a read
that must see the transaction's writes is made on it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from feeds.model import TeamRef, fold
from feeds.teams import team_key
from storage.db import Connection, Database, Row
from storage.health import Health
from storage.teams import Competition, Team, team_id

if TYPE_CHECKING:
    from storage.reminders import LeadTiers

SET_META = (
    "INSERT INTO meta(key, value) VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
)


class StoreBase:
    """The handle and caches behind every concern; no SQL lives outside this package."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.health = Health()  # background failures of this process, shown by /stats
        self._teams: list[Team] | None = None
        self._keyed: dict[str, tuple[int, str | None]] | None = None
        self._competitions: list[Competition] | None = None
        # Reminder look-ahead (see `Reminders._lead_tiers`), stale after any write to chats.
        self._leads: LeadTiers | None = None
        # Writes that can make a reminder due (chats, follows, matches), counted after each
        # one reaches the database, and what the last full reminder scan saw: see
        # `Reminders.queue_due_reminders`.
        self._reminder_inputs = 0
        self._reminders_scanned: tuple[int, tuple[tuple[int, int], ...]] | None = None

    async def close(self) -> None:
        await self.db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction at a time; rolled back whole on any error or cancellation."""
        try:
            async with self.db.transaction() as tx:
                yield tx
        except BaseException:
            self._teams = self._keyed = None  # teams added in the undone transaction are gone
            raise

    # Thin delegates, kept for tests and tools that read the store directly.
    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self.db.fetch_all(sql, params)

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query that finds at most one (a key lookup or an aggregate)."""
        return await self.db.fetch_one(sql, params)

    def _chats_changed(self) -> None:
        self._leads = None
        self._reminder_inputs += 1

    # -- meta ------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        row = await self.db.fetch_one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self.transaction() as tx:
            await tx.execute(SET_META, (key, value))

    async def settle_meta(self, key: str, value: str) -> str:
        """The value stored under `key`, storing `value` first if there is none: the first
        writer wins, so replicas starting at once agree (e.g. on the webhook secret)."""
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                (key, value),
            )
            row = await tx.fetch_one("SELECT value FROM meta WHERE key = ?", (key,))
        assert row is not None
        return row[0]

    # -- teams and competitions ------------------------------------------------------------

    async def teams(self) -> list[Team]:
        """Every team a fan can name (not "Winner Group A"), cached: name matching runs on
        each command."""
        if self._teams is None:
            rows = await self.db.fetch_all(
                "SELECT id, name, code, folded, scope FROM teams WHERE placeholder = 0 "
                "ORDER BY name"
            )
            aliases: dict[int, list[str]] = {}
            for team, name in await self.db.fetch_all("SELECT team_id, name FROM team_names"):
                aliases.setdefault(team, []).append(name)
            self._teams = [Team(*row, tuple(aliases.get(row[0], ()))) for row in rows]
        return self._teams

    async def _team_keys(self) -> dict[str, tuple[int, str | None]]:
        """Every team's (id, code) by its cross-source key: read once, then kept up to date
        by `_team_id` (re-reading it per new team made an import quadratic)."""
        if self._keyed is None:
            rows = await self.db.fetch_all(
                "SELECT id, name, code FROM teams WHERE placeholder = 0 ORDER BY id DESC"
            )
            self._keyed = {team_key(name): (tid, code) for tid, name, code in rows}
        return self._keyed

    async def competitions(self) -> list[Competition]:
        """Every competition, cached like teams."""
        if self._competitions is None:
            rows = await self.db.fetch_all("SELECT id, slug, name FROM competitions ORDER BY name")
            self._competitions = [Competition(*row) for row in rows]
        return self._competitions

    async def _team_id(self, tx: Connection, team: TeamRef) -> int:
        """The one team behind a feed's team (storage/teams.py, with feeds/teams.py's keys
        for names that differ across sources: "Arsenal FC" and "Arsenal")."""
        keyed = await self._team_keys()
        found, written = await team_id(tx, team, keyed)
        if written:
            self._teams = None
            if not team.placeholder:  # kept up to date, not re-read: imports stay linear
                keyed.setdefault(team_key(team.name), (found, team.code))
        return found

    async def _competition_id(self, tx: Connection, name: str) -> int:
        slug = fold(name)
        row = await tx.fetch_one("SELECT id FROM competitions WHERE slug = ?", (slug,))
        if row is not None:
            return int(row[0])
        row = await tx.fetch_one(
            "INSERT INTO competitions(slug, name) VALUES (?, ?) RETURNING id", (slug, name)
        )
        assert row is not None
        self._competitions = None
        return int(row[0])
