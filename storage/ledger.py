"""The alert ledger as delivery sees it: claim rows to send, then settle each one.

A row is `pending` until a delivery process claims it (`sending`), and leaves `sending` only
through one of the settle calls here (sent, back to pending for later, failed, expired,
inactive). The `sending` rows are therefore exactly the sends that may have reached a chat
without being marked: delivery claims no more rows than it has send slots, and keeps a slot
until the row is settled, so after a SIGKILL at most that many alerts can be sent twice. The
next process that runs the platform puts its `sending` rows back to `pending` before it
claims anything (`reset_claims`): one process runs a platform's delivery at a time (two
pollers of one Telegram token cannot run side by side anyway).

Times here (`now`, `next_attempt_at`) are POSIX seconds on the bot's clock, the virtual one
under `--now`/`--speed`, so backoff and retry budgets run on the same clock as the matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from storage.chats import CHAT_COLUMNS
from storage.store import PendingAlert, Store, pending_of
from storage.times import to_db

_ALERT_COLUMNS = "a.id, a.event, a.text, a.expires_at, a.attempts, a.next_attempt_at"
_JOINED_CHAT = ", ".join("c." + col for col in CHAT_COLUMNS.split(", "))

# Among the platforms given: pending rows that are due and are their chat's oldest open row
# (so a chat with a row being sent, or whose oldest row waits out a backoff, gets nothing
# new: one in flight per chat, in order), oldest first across all chats. Rows are created
# event by event, so id order is event order: a goal reaches all its followers before the
# next event's rows start.
_CLAIMABLE = f"""
SELECT {_ALERT_COLUMNS}, {_JOINED_CHAT}
FROM alerts a CROSS JOIN chats c ON c.id = a.chat_id  -- in id order, by alerts_pending
WHERE a.status = 'pending'
  AND c.platform IN ({{platforms}})
  AND (a.next_attempt_at IS NULL OR a.next_attempt_at <= ?)
  AND a.id = (SELECT MIN(o.id) FROM alerts o
              WHERE o.chat_id = a.chat_id AND o.status IN ('pending', 'sending'))
ORDER BY a.id LIMIT ?
"""


class Ledger:
    """Claims and settlements of alert rows, on the store's one connection and write lock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def reset_claims(self, platforms: Sequence[str], now: float, cap: float) -> int:
        """Start of a platform's delivery: its `sending` rows (left by a process that stopped
        without settling them: SIGKILL, power loss) go back to pending, due now.

        Also pulls in backoffs further ahead than `cap` seconds: they were set on another
        clock (a restart with a different `--now`, or wall-clock times from older versions)
        and would otherwise hold their chat for years.
        """
        marks = ", ".join("?" * len(platforms))
        chats = f"SELECT id FROM chats WHERE platform IN ({marks})"
        async with self.store.transaction() as db:
            cur = await db.execute(
                f"UPDATE alerts SET status = 'pending', next_attempt_at = NULL "
                f"WHERE status = 'sending' AND chat_id IN ({chats})",
                tuple(platforms),
            )
            reset = cur.rowcount
            await db.execute(
                f"UPDATE alerts SET next_attempt_at = ? WHERE status = 'pending' "
                f"AND next_attempt_at > ? AND chat_id IN ({chats})",
                (now, now + cap, *platforms),
            )
        return reset

    async def claim(self, platforms: Sequence[str], now: float, limit: int) -> list[PendingAlert]:
        """Mark up to `limit` claimable rows `sending` and return them, in one transaction."""
        if not platforms or limit <= 0:
            return []
        sql = _CLAIMABLE.format(platforms=", ".join("?" * len(platforms)))
        async with self.store.transaction() as db:
            rows = list(await db.execute_fetchall(sql, (*platforms, now, limit)))
            if rows:
                await db.executemany(
                    "UPDATE alerts SET status = 'sending' WHERE id = ?", [(r[0],) for r in rows]
                )
        return [pending_of(row) for row in rows]

    async def mark_sent(self, sent: Iterable[tuple[int, int | None]], now: datetime) -> None:
        """A batch of sends the platform accepted, in one transaction (cheap at any rate)."""
        stamp = to_db(now)
        async with self.store.transaction() as db:
            await db.executemany(
                "UPDATE alerts SET status = 'sent', sent_at = ?, message_id = ?, "
                "next_attempt_at = NULL, attempts = attempts + 1 WHERE id = ?",
                [(stamp, message_id, alert_id) for alert_id, message_id in sent],
            )

    async def release(
        self, alert_ids: Iterable[int], at: float | None, error: str | None = None,
        *, attempt: bool = False,
    ) -> None:  # fmt: skip
        """Back to pending, due at `at`: a transient failure (`attempt` counts it), a chat or
        platform asked to wait, or a claim not sent before shutdown."""
        params = [(at, error[:500] if error else None, int(attempt), i) for i in alert_ids]
        if not params:
            return
        async with self.store.transaction() as db:
            await db.executemany(
                "UPDATE alerts SET status = 'pending', next_attempt_at = ?, "
                "last_error = COALESCE(?, last_error), attempts = attempts + ? "
                "WHERE id = ? AND status = 'sending'",
                params,
            )

    async def settle(self, alert_id: int, status: str, error: str) -> None:
        """A row that will not be sent: failed, expired, or its chat is gone (inactive)."""
        async with self.store.transaction() as db:
            await db.execute(
                "UPDATE alerts SET status = ?, last_error = ?, next_attempt_at = NULL, "
                "attempts = attempts + 1 WHERE id = ?",
                (status, error[:500], alert_id),
            )

    async def claimed(self) -> int:
        """Rows in `sending` now (for /stats and tests: never more than the send slots)."""
        row = await self.store._one("SELECT COUNT(*) FROM alerts WHERE status = 'sending'")
        return row[0] if row else 0
