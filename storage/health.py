"""What went wrong in this process's background work, for /stats.

Background tasks (the live engine's tick, delivery, the writer of sent marks) restart after
an error instead of ending silently; each error is logged where it happens and counted here,
on the one object every part of the process shares (the store), so an operator's /stats
shows that something keeps failing even when the log is not at hand.
"""

from __future__ import annotations

from collections import Counter


class Health:
    """Errors by the name of the work that failed, and the last message of each."""

    def __init__(self) -> None:
        self.errors: Counter[str] = Counter()
        self.last: dict[str, str] = {}

    def failed(self, work: str, exc: BaseException) -> None:
        self.errors[work] += 1
        self.last[work] = f"{type(exc).__name__}: {exc}"[:200]

    def lines(self) -> list[str]:
        """`work: count (last error)`, most frequent first; empty when all went well."""
        return [f"{work}: {count} ({self.last[work]})" for work, count in self.errors.most_common()]
