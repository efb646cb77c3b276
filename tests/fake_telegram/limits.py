"""Telegram's limits as the fake enforces them: flood control and the clock that drives it.

Telegram: about 30 messages a second overall, about one a second to a chat (short bursts are
forgiven), 20 a minute to a group; past them, 429 with ``retry_after`` in whole seconds.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable

#: Seconds a callback query can still be answered. Telegram does not document the window;
#: clients give up waiting after about 15 s and answers later than that are refused.
CALLBACK_QUERY_TTL = 15.0
#: Telegram lets paid broadcasts (``allow_paid_broadcast``) go up to 1000 messages a second.
PAID_BROADCAST_PER_SECOND = 1000.0

Monotonic = Callable[[], float]
DEFAULT_CLOCK: Monotonic = time.monotonic


class ManualClock:
    """Monotonic seconds that move only when the test says so (``FakeTelegram(clock=...)``):
    flood control and query expiry are then tested by stepping time, never by sleeping."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TokenBucket:
    """Classic token bucket: ``capacity`` burst, refilled at ``rate`` tokens per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if one is available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.tokens -= 1


class SlidingWindow:
    """At most ``limit`` sends in any ``window`` seconds: "20 messages a minute to a group"
    (a token bucket would let a steady sender through 20 + 20 in its first minute)."""

    def __init__(self, limit: float, window: float) -> None:
        self.limit = limit
        self.window = window
        self.sends: collections.deque[float] = collections.deque()

    def wait_time(self, now: float) -> float:
        """Seconds until the oldest send in the window leaves it (0 if there is room)."""
        while self.sends and self.sends[0] <= now - self.window:
            self.sends.popleft()
        if len(self.sends) < self.limit:
            return 0.0
        if self.limit < 1:
            return math.inf
        return self.sends[0] + self.window - now

    def take(self, now: float) -> None:
        self.sends.append(now)


class FloodControl:
    """The buckets of every chat: overall, per chat (small burst), per group (a minute)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, int], TokenBucket] = {}
        self._group_windows: dict[int, SlidingWindow] = {}

    def _bucket(self, key: tuple[str, int], capacity: float, rate: float, now: float
                ) -> TokenBucket:  # fmt: skip
        bucket = self._buckets.get(key)
        if bucket is None or bucket.capacity != capacity or bucket.rate != rate:
            bucket = self._buckets[key] = TokenBucket(capacity, rate, now)
        return bucket

    def retry_after(
        self,
        chat_id: int,
        now: float,
        *,
        overall_per_second: float,
        chat_per_second: float,
        chat_burst: int,
        group_per_minute: float,
    ) -> int:
        """0 when a send to ``chat_id`` may go now (its tokens are taken), else the whole
        seconds Telegram would answer in ``retry_after``."""
        buckets: list[TokenBucket | SlidingWindow] = [
            self._bucket(("overall", 0), overall_per_second, overall_per_second, now),
            # About one a second to any chat, groups included, with a small burst.
            self._bucket(("chat", chat_id), max(1, chat_burst), chat_per_second, now),
        ]
        if chat_id < 0:
            window = self._group_windows.get(chat_id)
            if window is None or window.limit != group_per_minute:
                window = self._group_windows[chat_id] = SlidingWindow(group_per_minute, 60)
            buckets.append(window)
        wait = max(b.wait_time(now) for b in buckets)
        if wait > 0:
            return max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
        for bucket in buckets:
            bucket.take(now)
        return 0
