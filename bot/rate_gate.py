"""The send-rate gate: the overall rate, each chat's spacing and pauses, in arrival order."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from storage.store import Chat


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """How fast one chat of a platform may be sent to, on top of the overall rate."""

    interval: float = 1.0  # seconds between two messages to one chat
    group_per_minute: int | None = None  # messages a minute to one group chat, where capped


# Telegram's: about one message a second to a chat, about 20 a minute to a group. Also the
# default, so that a platform which says nothing is never sent to faster than that.
STRICTEST = ChatLimits(interval=1.0, group_per_minute=20)


@dataclass
class RateGate:
    """Token bucket for the overall rate plus per-chat spacing; replies jump the queue.

    Interactive replies (`urgent`) take the next free token before any alert does, so a
    10,000-chat fan-out never makes a user wait for an answer to /score. Among alerts, tokens
    go in the order `acquire` was called (delivery calls it in event order), so when tokens
    are scarce a goal reaches every follower before the next event's sends get a token.
    """

    rate: float
    monotonic: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)
    _urgent: int = 0
    _paused_until: dict[str, float] = field(default_factory=dict)  # per platform
    _chat_next: dict[tuple[str, int], float] = field(default_factory=dict)
    _group_sends: dict[tuple[str, int], deque[float]] = field(default_factory=dict)
    # Alerts waiting for a token, by ticket (dicts keep insertion order: oldest first).
    _waiting: dict[int, tuple[Chat, ChatLimits]] = field(default_factory=dict)
    _tickets: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self._tokens = min(self.rate, 1.0)
        self._stamp = self.monotonic()

    def pause(self, platform: str, seconds: float) -> None:
        """A platform asked us to wait: hold its sends (only its own) for that long."""
        until = self.monotonic() + seconds
        self._paused_until[platform] = max(self._paused_until.get(platform, 0.0), until)

    def paused_for(self, platform: str) -> float:
        """Seconds left of the platform's pause (0 when it may send)."""
        return max(0.0, self._paused_until.get(platform, 0.0) - self.monotonic())

    def pause_chat(self, chat: Chat, seconds: float) -> None:
        """One chat asked us to wait (a per-chat 429): hold that chat alone, replies too."""
        key = (chat.platform, chat.external_id)
        until = self.monotonic() + seconds
        self._chat_next[key] = max(self._chat_next.get(key, 0.0), until)

    def _refill(self, now: float) -> None:
        burst = max(1.0, self.rate / 10)  # small bursts keep the platform's own buckets calm
        self._tokens = min(burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def _wait(self, chat: Chat, limits: ChatLimits, now: float) -> float:
        """Seconds until `chat` may be sent to, tokens aside."""
        key = (chat.platform, chat.external_id)
        wait = max(self._chat_next.get(key, 0.0), self._paused_until.get(chat.platform, 0.0))
        wait -= now
        cap = limits.group_per_minute if chat.is_group else None
        sends = self._group_sends.get(key)
        if cap is not None and sends is not None and len(sends) >= cap:
            wait = max(wait, sends[0] + 60.0 - now)
        return wait

    def _take(self, chat: Chat, limits: ChatLimits, now: float) -> None:
        self._tokens -= 1
        key = (chat.platform, chat.external_id)
        self._chat_next[key] = now + limits.interval
        if chat.is_group and limits.group_per_minute is not None:
            sends = self._group_sends.setdefault(key, deque())
            sends.append(now)
            while sends and sends[0] <= now - 60.0:
                sends.popleft()

    def _ready_ahead(self, ticket: int, now: float) -> int:
        """Alerts that asked before `ticket` and could take a token now."""
        ahead = 0
        for other, (chat, limits) in self._waiting.items():
            if other == ticket:
                break
            if self._wait(chat, limits, now) <= 0:
                ahead += 1
        return ahead

    async def acquire(
        self, chat: Chat, limits: ChatLimits = STRICTEST, *, urgent: bool = False
    ) -> None:
        """Wait for a send slot to `chat`, under its platform's `limits` (the sender's)."""
        ticket = next(self._tickets)
        if urgent:
            self._urgent += 1
        else:
            self._waiting[ticket] = (chat, limits)
        try:
            while True:
                now = self.monotonic()
                self._refill(now)
                wait = self._wait(chat, limits, now)
                if wait <= 0 and (urgent or not self._urgent):
                    needed = 1 if urgent else 1 + self._ready_ahead(ticket, now)
                    if self._tokens >= needed:
                        self._take(chat, limits, now)
                        return
                    wait = (needed - self._tokens) / self.rate
                await asyncio.sleep(max(wait, 0.001))
        finally:
            if urgent:
                self._urgent -= 1
            else:
                del self._waiting[ticket]

    def forget(self, chat: Chat) -> None:
        """Drop a chat's spacing state once it has nothing more to send (bounded memory)."""
        key = (chat.platform, chat.external_id)
        if self._chat_next.get(key, 0.0) < self.monotonic():
            self._chat_next.pop(key, None)
            if not chat.is_group:
                self._group_sends.pop(key, None)
