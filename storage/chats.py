"""Chats, their settings and their follows, behind the Store facade.

A concern of its own (storage/base.py), sharing the store's database, write transaction and
reminder counters, so callers still see one facade.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from storage.base import StoreBase
from storage.db import Connection
from storage.times import to_db

log = logging.getLogger("matchday.storage")

DEFAULT_REMINDERS: tuple[int, ...] = (30,)
CHAT_COLUMNS = "id, platform, external_id, kind, title, timezone, reminders, active"
UTC_ZONE = ZoneInfo("UTC")
# Which of two ledger rows for the same (match, event) a merge keeps: the one furthest along.
_ALERT_RANK = "CASE {0}.status WHEN 'sent' THEN 3 WHEN 'sending' THEN 2 WHEN 'pending' THEN 1 " \
    "ELSE 0 END"


_WARNED: set[str] = set()  # broken zone names already logged by this process


def zone_or_utc(name: str) -> ZoneInfo:
    """A chat's stored zone, or UTC if it no longer loads (logged once per name).

    Zones are checked when set, but a stored one can stop loading (an older version accepted
    host-only names like `localtime`; tzdata drops or renames zones; a row edited by hand):
    that chat then reads UTC rather than failing every reply and every alert it is due.
    """
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError) as exc:
        if name not in _WARNED:  # a reply asks for the zone once per line it renders
            _WARNED.add(name)
            log.warning("time zone %r does not load (%s); showing times in UTC", name, exc)
        return UTC_ZONE


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    platform: str
    external_id: int
    kind: str  # private, group, supergroup, channel
    title: str | None
    timezone: str
    reminders: tuple[int, ...]
    active: bool

    @property
    def zone(self) -> ZoneInfo:
        return zone_or_utc(self.timezone)

    @property
    def is_group(self) -> bool:
        return self.kind in {"group", "supergroup"}


@dataclass(frozen=True, slots=True)
class Follow:
    kind: str  # team or competition
    target_id: int
    name: str


@functools.lru_cache(maxsize=256)
def reminders_of(raw: str) -> tuple[int, ...]:
    """A chat's lead times as stored: a JSON list, a bare number, or 'off'."""
    if raw == "off":
        return ()
    value = json.loads(raw)
    return (int(value),) if isinstance(value, int) else tuple(int(v) for v in value)


def chat_of(row: Sequence) -> Chat:
    return Chat(
        id=row[0],
        platform=row[1],
        external_id=row[2],
        kind=row[3],
        title=row[4],
        timezone=row[5],
        reminders=reminders_of(row[6]),
        active=bool(row[7]),
    )


class ChatsRepository(StoreBase):
    """Chats and follows."""

    async def chat(self, platform: str, external_id: int) -> Chat | None:
        row = await self.db.fetch_one(
            f"SELECT {CHAT_COLUMNS} FROM chats WHERE platform = ? AND external_id = ?",
            (platform, external_id),
        )
        return chat_of(row) if row else None

    async def ensure_chat(
        self, platform: str, external_id: int, kind: str, title: str | None, zone: str
    ) -> Chat:
        """The chat a message came from, created on first contact and reactivated if it left."""
        known = await self.chat(platform, external_id)
        if known is not None and known.active and known.title == title and known.kind == kind:
            return known
        async with self.transaction() as tx:
            await tx.execute(
                """
                INSERT INTO chats(platform, external_id, kind, title, timezone, reminders,
                                  created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(platform, external_id) DO UPDATE SET
                    kind = excluded.kind, title = excluded.title, active = 1
                """,
                (platform, external_id, kind, title, zone, json.dumps(DEFAULT_REMINDERS),
                 to_db(datetime.now(UTC))),
            )  # fmt: skip
            self._chats_changed()
        chat = await self.chat(platform, external_id)
        assert chat is not None
        return chat

    async def set_chat_active(self, chat_id: int, active: bool) -> None:
        async with self.transaction() as tx:
            await tx.execute("UPDATE chats SET active = ? WHERE id = ?", (int(active), chat_id))
            self._chats_changed()
            if not active:
                await tx.execute(
                    "UPDATE alerts SET status = 'inactive' "
                    "WHERE chat_id = ? AND status = 'pending'",
                    (chat_id,),
                )

    async def migrate_chat(self, chat_id: int, new_external_id: int) -> None:
        """A group became a supergroup: the same chat row, so follows and alerts move with it.

        If the supergroup already has a row (it spoke to us before a send to the old id
        failed), the two are merged into the group's row in one transaction: follows of both;
        the group's zone and reminders (its admins chose them; the supergroup's row is new);
        and the ledger rows of both, one per (match, event) — the one furthest along is kept
        (sent, then in flight, then pending), the supergroup's on a tie, since sends to the
        old id can no longer succeed. Nothing is lost and nothing is sent twice.
        """
        async with self.transaction() as tx:
            old = await tx.fetch_one("SELECT platform FROM chats WHERE id = ?", (chat_id,))
            if old is None:
                return
            other = await tx.fetch_one(
                "SELECT id, active, title FROM chats WHERE platform = ? AND external_id = ?",
                (old[0], new_external_id),
            )
            if other is not None and other[0] != chat_id:
                await self._merge_into(tx, chat_id, other[0])
                await tx.execute(
                    f"UPDATE chats SET active = {tx.dialect.greatest('active', '?')}, "
                    "title = COALESCE(?, title) WHERE id = ?",
                    (other[1], other[2], chat_id),
                )
            await tx.execute(
                "UPDATE chats SET external_id = ?, kind = 'supergroup' WHERE id = ?",
                (new_external_id, chat_id),
            )
            self._chats_changed()

    @staticmethod
    async def _merge_into(tx: Connection, keep: int, gone: int) -> None:
        """Move chat `gone`'s follows and ledger rows to chat `keep`, then delete `gone`."""
        await tx.execute(
            "INSERT INTO follows(chat_id, kind, target_id, created_at) "
            "SELECT ?, kind, target_id, created_at FROM follows WHERE chat_id = ? "
            "ON CONFLICT DO NOTHING",
            (keep, gone),
        )
        await tx.execute(
            f"""
            DELETE FROM alerts WHERE id IN (
                SELECT CASE WHEN {_ALERT_RANK.format("k")} > {_ALERT_RANK.format("g")}
                            THEN g.id ELSE k.id END
                FROM alerts k JOIN alerts g
                  ON g.chat_id = ? AND g.match_id = k.match_id AND g.event = k.event
                WHERE k.chat_id = ?)
            """,
            (gone, keep),
        )
        await tx.execute("UPDATE alerts SET chat_id = ? WHERE chat_id = ?", (keep, gone))
        await tx.execute("DELETE FROM chats WHERE id = ?", (gone,))

    async def set_timezone(self, chat_id: int, zone: str) -> None:
        ZoneInfo(zone)  # refuse what we could not render later
        async with self.transaction() as tx:
            await tx.execute("UPDATE chats SET timezone = ? WHERE id = ?", (zone, chat_id))

    async def set_reminders(self, chat_id: int, minutes: Sequence[int]) -> None:
        value = json.dumps(sorted(set(minutes), reverse=True)) if minutes else "off"
        async with self.transaction() as tx:
            await tx.execute("UPDATE chats SET reminders = ? WHERE id = ?", (value, chat_id))
            self._chats_changed()

    async def follow(self, chat_id: int, kind: str, target_id: int, now: datetime) -> bool:
        """True when this is a new follow; following twice changes nothing."""
        async with self.transaction() as tx:
            added = await tx.execute(
                "INSERT INTO follows(chat_id, kind, target_id, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (chat_id, kind, target_id, to_db(now)),
            )
            self._reminder_inputs += 1
            return added > 0

    async def unfollow(self, chat_id: int, kind: str, target_id: int) -> bool:
        async with self.transaction() as tx:
            removed = await tx.execute(
                "DELETE FROM follows WHERE chat_id = ? AND kind = ? AND target_id = ?",
                (chat_id, kind, target_id),
            )
            return removed > 0

    async def follows(self, chat_id: int) -> list[Follow]:
        rows = await self.db.fetch_all(
            """
            SELECT f.kind, f.target_id, COALESCE(t.name, c.name) FROM follows f
            LEFT JOIN teams t ON f.kind = 'team' AND t.id = f.target_id
            LEFT JOIN competitions c ON f.kind = 'competition' AND c.id = f.target_id
            WHERE f.chat_id = ? ORDER BY f.kind DESC, 3
            """,
            (chat_id,),
        )
        return [Follow(*row) for row in rows]
