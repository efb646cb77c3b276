"""A per-minute request budget, written once for every quota-limited live feed.

Two views of one budget meet here: the requests we sent in the last minute (a sliding window
on the real monotonic clock, so a fast virtual clock cannot outrun it) and what the server
last reported it has left (`X-Requests-Available-Minute` on football-data.org,
`X-RateLimit-Remaining` on API-Football) with the seconds until its counter resets. The
stricter of the two wins; a 429 blocks until the server's reset.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 60.0  # seconds: quotas are per minute


@dataclass(frozen=True, slots=True)
class Quota:
    """The per-minute quota as the last response reported it.

    `updated_at` is on the budget's monotonic clock, so `reset_seconds` can be turned into
    a deadline without trusting wall-clock time.
    """

    requests_available_minute: int | None = None
    reset_seconds: float | None = None
    updated_at: float | None = None


class RequestBudget:
    """Requests a minute for one key, shared by every caller of that key."""

    def __init__(
        self, per_minute: int | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute is not None and per_minute < 1:
            raise ValueError("a request budget needs at least one request a minute")
        self.per_minute = per_minute
        self.monotonic = monotonic
        self.quota = Quota()
        self._sent: deque[float] = deque()
        self._sent_since_quota = 0
        self._blocked_until = 0.0

    def _prune(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - WINDOW:
            self._sent.popleft()

    def recent(self) -> int:
        """Requests sent in the last minute."""
        self._prune(self.monotonic())
        return len(self._sent)

    def seconds_until_slot(self, limit: int | None = None) -> float:
        """How long until one more request fits our window (`limit` or our own rate) and the
        server's reported quota; 0 when it fits now."""
        limit = limit if limit is not None else self.per_minute
        now = self.monotonic()
        self._prune(now)
        wait = max(0.0, self._blocked_until - now)
        if limit is not None and len(self._sent) >= limit:
            wait = max(wait, self._sent[len(self._sent) - limit] + WINDOW - now)
        quota = self.quota
        if quota.requests_available_minute is not None and quota.updated_at is not None:
            resets_at = quota.updated_at + (
                quota.reset_seconds if quota.reset_seconds is not None else WINDOW
            )
            if now < resets_at and quota.requests_available_minute <= self._sent_since_quota:
                wait = max(wait, resets_at - now)
        return max(0.0, wait)

    def spend(self) -> None:
        """Count a request that is about to be sent."""
        now = self.monotonic()
        self._prune(now)
        self._sent.append(now)
        self._sent_since_quota += 1

    def report(self, available: float | None, reset: float | None) -> None:
        """What the server's headers said after a request (either may be missing)."""
        if available is None and reset is None:
            return
        self._sent_since_quota = 0
        self.quota = Quota(
            requests_available_minute=int(available) if available is not None else None,
            reset_seconds=reset,
            updated_at=self.monotonic(),
        )

    def block(self, seconds: float) -> None:
        """The server refused (429): nothing more until it says the counter has reset."""
        self._blocked_until = max(self._blocked_until, self.monotonic() + seconds)
