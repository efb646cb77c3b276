"""The one place that owns time: a clock that can start in the past and run fast."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Virtual UTC time: `start` at process start, advancing `speed` times faster than real.

    Everything that asks the time asks this clock (replies, reminders, polling, replay),
    which is what lets a 2018 match be replayed at 120× and tested in seconds. Real-time
    limits (Telegram's rate limits, HTTP timeouts) stay on `time.monotonic`.
    """

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._origin = (start or datetime.now(UTC)).astimezone(UTC)
        # A virtual clock starts moving when the bot first asks it the time (its first
        # engine tick), not when the process starts: at 480× a slow start-up (imports, a
        # busy machine) would otherwise skip minutes of the match before anyone looked.
        self._mono: float | None = None
        self.speed = speed
        self.virtual = start is not None or speed != 1.0

    def now(self) -> datetime:
        if not self.virtual:
            return datetime.now(UTC)
        if self._mono is None:
            self._mono = time.monotonic()
        return self._origin + timedelta(seconds=(time.monotonic() - self._mono) * self.speed)


def parse_instant(text: str) -> datetime:
    """ISO-8601 with a zone (`2018-07-03T12:00:00Z`); a naive instant is taken as UTC."""
    moment = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
