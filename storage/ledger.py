"""The alert ledger: claim rows to send, settle each one, count, prune and report.

A row is `pending` until a delivery process claims it (`sending`), and leaves `sending` only
through one of the settle calls here (sent, back to pending for later, failed, expired,
inactive). The `sending` rows are therefore exactly the sends that may have reached a chat
without being marked: delivery claims no more rows than it has send slots, and keeps a slot
until the row is settled, so after a SIGKILL at most that many alerts can be sent twice. The
next process that runs the platform puts its `sending` rows back to `pending` before it
claims anything (`reset_claims`): one process runs a platform's delivery at a time (the
role `delivery:<platform>` of storage/leadership.py, taken only once the previous holder's
session is gone). On PostgreSQL a claim also locks its rows `SKIP LOCKED`, so two claimers
racing (replicas during a takeover) can never take one row twice.

Times here (`now`, `next_attempt_at`) are POSIX seconds on the bot's clock, the virtual one
under `--now`/`--speed`, so backoff and retry budgets run on the same clock as the matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.base import StoreBase
from storage.chats import CHAT_COLUMNS, Chat, chat_of
from storage.db import in_chunks, placeholders
from storage.times import from_db, to_db

if TYPE_CHECKING:
    from storage.store import Store

# The rarer settled states, exactly as the partial index `alerts_settled` is declared: SQLite
# uses a partial index only for a query that repeats its WHERE term.
_RARE = "(status = 'failed' OR status = 'expired' OR status = 'inactive')"
# How /stats counts each status: each condition is answered by one partial index.
_COUNTED = {
    "pending": "status = 'pending'",
    "sending": "status = 'sending'",
    "sent": "status = 'sent'",
    "failed": f"{_RARE} AND status = 'failed'",
    "expired": f"{_RARE} AND status = 'expired'",
    "inactive": f"{_RARE} AND status = 'inactive'",
}
LEDGER_STATUSES = tuple(_COUNTED)

_ALERT_COLUMNS = "a.id, a.event, a.text, a.expires_at, a.attempts, a.next_attempt_at"
_JOINED_CHAT = ", ".join("c." + col for col in CHAT_COLUMNS.split(", "))

# Among the platforms given: pending rows that are due and are their chat's oldest open row
# (so a chat with a row being sent, or whose oldest row waits out a backoff, gets nothing
# new: one in flight per chat, in order), oldest first across all chats. Rows are created
# event by event, so id order is event order: a goal reaches all its followers before the
# next event's rows start.
_CLAIMABLE = f"""
SELECT {_ALERT_COLUMNS}, {_JOINED_CHAT}
FROM alerts a CROSS JOIN chats c  -- in id order, by alerts_pending
WHERE c.id = a.chat_id
  AND a.status = 'pending'
  AND c.platform IN ({{platforms}})
  AND (a.next_attempt_at IS NULL OR a.next_attempt_at <= ?)
  AND a.id = (SELECT MIN(o.id) FROM alerts o
              WHERE o.chat_id = a.chat_id AND o.status IN ('pending', 'sending'))
ORDER BY a.id LIMIT ? {{lock}}
"""

# Rows per set-based UPDATE of a batch: a row takes up to 3 parameters (mark_sent), so a
# chunk stays under SQLite's oldest parameter limit (999) with room for the shared ones.
_CHUNK = 300


@dataclass(frozen=True, slots=True)
class PendingAlert:
    id: int
    chat: Chat
    event: str
    text: str
    expires_at: datetime | None
    attempts: int
    next_attempt_at: float | None


def pending_of(row: Sequence) -> PendingAlert:
    """A ledger row read with `a.id, a.event, a.text, a.expires_at, a.attempts,
    a.next_attempt_at` followed by the chat's columns."""
    return PendingAlert(
        id=row[0],
        event=row[1],
        text=row[2],
        expires_at=from_db(row[3]) if row[3] else None,
        attempts=row[4],
        next_attempt_at=row[5],
        chat=chat_of(row[6:]),
    )


@dataclass(frozen=True, slots=True)
class DueAlerts:
    counts: dict[str, int]  # by platform
    oldest_seconds: float  # clock seconds since the oldest of them was queued


class LedgerReports(StoreBase):
    """The ledger as the store reports on it and keeps it small (/stats, health, pruning)."""

    async def pending_alerts(self, limit: int = 500) -> list[PendingAlert]:
        rows = await self.db.fetch_all(
            f"""
            SELECT {_ALERT_COLUMNS}, {_JOINED_CHAT}
            FROM alerts a JOIN chats c ON c.id = a.chat_id
            WHERE a.status = 'pending' ORDER BY a.id LIMIT ?
            """,
            (limit,),
        )
        return [pending_of(row) for row in rows]

    async def ledger_counts(self) -> dict[str, int]:
        """Rows per status and inactive chats, each read from a partial index, in one trip.

        Never a scan of the ledger: /stats shares the one database connection with delivery.
        """
        counted = _COUNTED.values()
        counts = ", ".join(f"(SELECT COUNT(*) FROM alerts WHERE {where})" for where in counted)
        row = await self.db.fetch_one(
            f"SELECT {counts}, (SELECT COUNT(*) FROM chats WHERE active = 0)"
        )
        assert row is not None
        return dict(zip((*_COUNTED, "inactive_chats"), row, strict=True))

    async def prune_ledger(self, older_than: datetime, now: datetime, batch: int) -> int:
        """Delete up to `batch` settled rows (sent, failed, expired) settled before `older_than`.

        Small batches, each its own short transaction, so pruning a long history never holds
        the write lock that a goal's fan-out is waiting for. A reminder's row stays until its
        kick-off has passed: while it is due, that row is what stops it being queued again.
        """
        old, current = to_db(older_than), to_db(now)
        async with self.transaction() as tx:
            return await tx.execute(
                f"""
                DELETE FROM alerts WHERE id IN (
                    SELECT id FROM alerts WHERE status = 'sent' AND sent_at < ?
                      AND (expires_at IS NULL OR expires_at < ?)
                    UNION ALL
                    SELECT id FROM alerts WHERE {_RARE} AND status IN ('failed', 'expired')
                      AND created_at < ? AND (expires_at IS NULL OR expires_at < ?)
                    LIMIT ?)
                """,
                (old, current, old, current, batch),
            )

    async def sent_per_second(
        self, now: datetime, window: timedelta = timedelta(minutes=1)
    ) -> float:
        """The recent send rate, from the ledger itself so any process can report it."""
        row = await self.db.fetch_one(
            "SELECT COUNT(*) FROM alerts WHERE status = 'sent' AND sent_at > ?",
            (to_db(now - window),),
        )
        return (row[0] if row else 0) / window.total_seconds()

    async def due_alerts(self, platforms: Sequence[str], now: datetime) -> DueAlerts:
        """Pending rows that could go now for these platforms: what health and metrics watch."""
        if not platforms:
            return DueAlerts({}, 0.0)
        marks = placeholders(len(platforms))
        rows = await self.db.fetch_all(
            f"""
            SELECT c.platform, COUNT(*), MIN(a.created_at)
            FROM alerts a JOIN chats c ON c.id = a.chat_id
            WHERE a.status = 'pending' AND c.platform IN ({marks})
              AND (a.next_attempt_at IS NULL OR a.next_attempt_at <= ?)
            GROUP BY c.platform
            """,
            (*platforms, now.timestamp()),  # backoffs are on the bot's clock (see above)
        )
        oldest = min((from_db(row[2]) for row in rows), default=now)
        return DueAlerts({row[0]: row[1] for row in rows}, max(0.0, (now - oldest).total_seconds()))

    async def last_errors(self, limit: int = 5) -> list[tuple[int, str, str]]:
        rows = await self.db.fetch_all(
            "SELECT a.chat_id, a.event, a.last_error FROM alerts a "
            "WHERE a.last_error IS NOT NULL ORDER BY a.id DESC LIMIT ?",
            (limit,),
        )
        return [(row[0], row[1], row[2]) for row in rows]


class Ledger:
    """Claims and settlements of alert rows, in the store's write transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def reset_claims(self, platforms: Sequence[str], now: float, cap: float) -> int:
        """Start of a platform's delivery: its `sending` rows (left by a process that stopped
        without settling them: SIGKILL, power loss) go back to pending, due now.

        Also pulls in backoffs further ahead than `cap` seconds: they were set on another
        clock (a restart with a different `--now`, or wall-clock times from older versions)
        and would otherwise hold their chat for years.
        """
        marks = placeholders(len(platforms))
        chats = f"SELECT id FROM chats WHERE platform IN ({marks})"
        async with self.store.transaction() as tx:
            reset = await tx.execute(
                f"UPDATE alerts SET status = 'pending', next_attempt_at = NULL "
                f"WHERE status = 'sending' AND chat_id IN ({chats})",
                tuple(platforms),
            )
            await tx.execute(
                f"UPDATE alerts SET next_attempt_at = ? WHERE status = 'pending' "
                f"AND next_attempt_at > ? AND chat_id IN ({chats})",
                (now, now + cap, *platforms),
            )
        return reset

    async def claim(self, platforms: Sequence[str], now: float, limit: int) -> list[PendingAlert]:
        """Mark up to `limit` claimable rows `sending` and return them, in one transaction."""
        if not platforms or limit <= 0:
            return []
        marks = placeholders(len(platforms))
        async with self.store.transaction() as tx:
            # Replicas' claims never overlap: rows another process is claiming are skipped.
            sql = _CLAIMABLE.format(platforms=marks, lock=tx.dialect.skip_locked("a"))
            rows = await tx.fetch_all(sql, (*platforms, now, limit))
            # One UPDATE for the batch, not one per row: a protocol round each on PostgreSQL.
            for ids in in_chunks([r[0] for r in rows], _CHUNK):
                marks = placeholders(len(ids))
                await tx.execute(f"UPDATE alerts SET status = 'sending' WHERE id IN ({marks})", ids)
        return [pending_of(row) for row in rows]

    async def mark_sent(self, sent: Iterable[tuple[int, int | None]], now: datetime) -> None:
        """A batch of sends the platform accepted, in one transaction (cheap at any rate).

        One UPDATE per chunk, each row's message id picked by `CASE id WHEN … THEN …`: the
        same SQL on both engines, and one round trip instead of one per row on PostgreSQL.
        The CAST types the CASE when every message id is NULL (PostgreSQL would call it text).
        """
        stamp = to_db(now)
        pairs = list(sent)
        if not pairs:
            return
        async with self.store.transaction() as tx:
            for chunk in in_chunks(pairs, _CHUNK):
                ids = [alert_id for alert_id, _ in chunk]
                await tx.execute(
                    "UPDATE alerts SET status = 'sent', sent_at = ?, message_id = CAST(CASE id "
                    + " ".join(["WHEN ? THEN ?"] * len(chunk))
                    + " END AS BIGINT), next_attempt_at = NULL, attempts = attempts + 1 "
                    f"WHERE id IN ({placeholders(len(ids))})",
                    (stamp, *(value for pair in chunk for value in pair), *ids),
                )

    async def release(
        self, alert_ids: Iterable[int], at: float | None, error: str | None = None,
        *, attempt: bool = False,
    ) -> None:  # fmt: skip
        """Back to pending, due at `at`: a transient failure (`attempt` counts it), a chat or
        platform asked to wait, or a claim not sent before shutdown."""
        ids = list(alert_ids)
        if not ids:
            return
        shared = (at, error[:500] if error else None, int(attempt))
        async with self.store.transaction() as tx:
            for chunk in in_chunks(ids, _CHUNK):  # one UPDATE per chunk, as in mark_sent
                await tx.execute(
                    "UPDATE alerts SET status = 'pending', next_attempt_at = ?, "
                    "last_error = COALESCE(?, last_error), attempts = attempts + ? "
                    f"WHERE id IN ({placeholders(len(chunk))}) AND status = 'sending'",
                    (*shared, *chunk),
                )

    async def settle(self, alert_id: int, status: str, error: str) -> None:
        """A row that will not be sent: failed, expired, or its chat is gone (inactive)."""
        async with self.store.transaction() as tx:
            await tx.execute(
                "UPDATE alerts SET status = ?, last_error = ?, next_attempt_at = NULL, "
                "attempts = attempts + 1 WHERE id = ?",
                (status, error[:500], alert_id),
            )

    async def claimed(self) -> int:
        """Rows in `sending` now (for /stats and tests: never more than the send slots)."""
        row = await self.store.db.fetch_one("SELECT COUNT(*) FROM alerts WHERE status = 'sending'")
        return row[0] if row else 0
