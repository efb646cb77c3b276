"""Delivery: drains the alert ledger to the chat platforms within their rate limits.

The ledger row is written before anything is sent and marked sent only after the platform
accepted it, so a crash loses nothing; a restart repeats only the sends that were in flight
(including accepted sends whose mark was still in the batch being written: marks are written
in one transaction per batch, which is what lets one process send thousands a second).
A send that timed out may still have arrived: the engine errs towards sending again (a fan
may read a goal twice, but never misses one), and such repeats are bounded by the retries.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from handlers.base import Button
from storage.store import Chat, PendingAlert, Store

log = logging.getLogger("matchday.delivery")

MAX_IN_FLIGHT = 64
MAX_ATTEMPTS = 12  # transient failures, with backoff capped at 5 minutes: about an hour
BACKOFF_CAP = 300.0


async def _first(waits: list[Coroutine[Any, Any, Any]], within: float) -> None:
    """Wait until any of `waits` finishes (or `within` seconds pass), cancelling the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY_AFTER = "retry_after"  # the platform asked us to slow down: pause everything
    FORBIDDEN = "forbidden"  # blocked, kicked, or the channel is gone: deactivate the chat
    MIGRATED = "migrated"  # the chat has a new id: move it and send there
    TRANSIENT = "transient"  # 5xx, timeout, connection: retry with backoff
    REJECTED = "rejected"  # the platform will never take this message: fail it, move on


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    message_id: int | None = None
    retry_after: float = 0.0
    new_chat_id: int | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """How fast one chat of a platform may be sent to, on top of the overall rate."""

    interval: float = 1.0  # seconds between two messages to one chat
    group_per_minute: int | None = None  # messages a minute to one group chat, where capped


# Telegram's: about one message a second to a chat, about 20 a minute to a group. Also the
# default, so that a platform which says nothing is never sent to faster than that.
STRICTEST = ChatLimits(interval=1.0, group_per_minute=20)


class Sender:
    """One chat platform's way to send a message; `send` never raises for platform errors."""

    platform: str = ""
    limits: ChatLimits = STRICTEST

    async def send(
        self, chat: Chat, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> SendResult:
        raise NotImplementedError


@dataclass
class RateGate:
    """Token bucket for the overall rate plus per-chat spacing; replies jump the queue.

    Interactive replies (`urgent`) take the next free token before any alert does, so a
    10,000-chat fan-out never makes a user wait for an answer to /score.
    """

    rate: float
    monotonic: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)
    _urgent: int = 0
    _paused_until: dict[str, float] = field(default_factory=dict)  # per platform
    _chat_next: dict[tuple[str, int], float] = field(default_factory=dict)
    _group_sends: dict[tuple[str, int], deque[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tokens = min(self.rate, 1.0)
        self._stamp = self.monotonic()

    def pause(self, platform: str, seconds: float) -> None:
        """A platform asked us to wait: hold its sends (only its own) for that long."""
        until = self.monotonic() + seconds
        self._paused_until[platform] = max(self._paused_until.get(platform, 0.0), until)

    def _refill(self, now: float) -> None:
        burst = max(1.0, self.rate / 10)  # small bursts keep the platform's own buckets calm
        self._tokens = min(burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def _chat_wait(self, chat: Chat, limits: ChatLimits, now: float) -> float:
        key = (chat.platform, chat.external_id)
        wait = self._chat_next.get(key, 0.0) - now
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

    async def acquire(
        self, chat: Chat, limits: ChatLimits = STRICTEST, *, urgent: bool = False
    ) -> None:
        """Wait for a send slot to `chat`, under its platform's `limits` (the sender's)."""
        if urgent:
            self._urgent += 1
        try:
            while True:
                now = self.monotonic()
                self._refill(now)
                paused = self._paused_until.get(chat.platform, 0.0)
                wait = max(paused - now, self._chat_wait(chat, limits, now))
                if wait <= 0 and (urgent or not self._urgent):
                    if self._tokens >= 1:
                        self._take(chat, limits, now)
                        return
                    wait = (1 - self._tokens) / self.rate
                await asyncio.sleep(max(wait, 0.001))
        finally:
            if urgent:
                self._urgent -= 1

    def forget(self, chat: Chat) -> None:
        """Drop a chat's spacing state once it has nothing more to send (bounded memory)."""
        key = (chat.platform, chat.external_id)
        if self._chat_next.get(key, 0.0) < self.monotonic():
            self._chat_next.pop(key, None)
            if not chat.is_group:
                self._group_sends.pop(key, None)


class Delivery:
    """Sends pending ledger rows, oldest first, one at a time per chat to keep their order."""

    def __init__(
        self,
        store: Store,
        senders: dict[str, Sender],
        clock: Clock,
        gate: RateGate,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.store = store
        self.senders = senders
        self.clock = clock
        self.gate = gate
        self.sent = 0  # sends the platforms accepted in this process (the ledger has the rest)
        self._wake = asyncio.Event()  # new rows in the ledger
        self._progress = asyncio.Event()  # enough sends finished to start more
        self._slots = asyncio.Semaphore(max_in_flight)
        self._batch = max_in_flight * 4  # rows started per pass over the ledger
        self._busy: set[int] = set()
        # Rows settled (or their sent mark written) while a pending-rows query ran: its
        # snapshot may still call them pending.
        self._settled: set[int] = set()
        # Accepted by the platform, waiting for the batched write that marks them sent; each
        # send holds its slot until its future says the mark is committed.
        self._sent: dict[int, tuple[int | None, asyncio.Future[None]]] = {}
        self._writing: set[int] = set()  # the batch of sent marks being written now
        self._sent_ready = asyncio.Event()
        self._marker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """New rows are in the ledger: look now rather than at the next idle check."""
        self._wake.set()

    async def run(self) -> None:
        """Drain forever; cancelled at shutdown (rows in flight stay pending and go next time)."""
        try:
            while True:
                self.drain_once_nowait(await self._pending())
                self._progress.clear()
                waiters = [self._wake.wait()] + ([self._progress.wait()] if self._tasks else [])
                await _first(waiters, within=1.0)
                self._wake.clear()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._stop_marker()
            await self._write_sent_marks()

    def _ensure_marker(self) -> None:
        """The mark writer runs whenever sends are accepted (under `run` or `drain`)."""
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark_sent_forever(), name="delivery-marks")

    async def _stop_marker(self) -> None:
        if self._marker is not None:
            self._marker.cancel()
            await asyncio.gather(self._marker, return_exceptions=True)
            self._marker = None

    async def _mark_sent_forever(self) -> None:
        """One transaction for every send accepted since the last one: cheap at any rate."""
        while True:
            await self._sent_ready.wait()
            self._sent_ready.clear()
            await self._write_sent_marks()

    async def _write_sent_marks(self) -> None:
        """Commit the marks of every accepted send so far, retrying until the write succeeds.

        A batch that cannot be written (or whose write is cancelled) goes back for the next
        write: a mark is never dropped, and its send keeps its slot until the mark commits.
        """
        delay = 0.05
        while self._sent:
            batch, self._sent = self._sent, {}
            self._writing.update(batch)
            try:
                marks = [(alert_id, message_id) for alert_id, (message_id, _) in batch.items()]
                await self.store.mark_sent_many(marks, self.clock.now())
            except BaseException as exc:
                self._sent = {**batch, **self._sent}
                if not isinstance(exc, Exception):
                    raise
                log.exception("writing %d sent marks failed; trying again", len(batch))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            finally:
                self._writing.difference_update(batch)
            self._settled.update(batch)
            for _, done in batch.values():
                if not done.done():
                    done.set_result(None)

    async def _pending(self) -> list[PendingAlert]:
        self._settled.clear()
        return await self.store.pending_alerts(limit=self._batch * 4)

    def drain_once_nowait(self, rows: list[PendingAlert]) -> int:
        """Start a send for the oldest pending row of every chat that is free to receive."""
        started = 0
        seen: set[int] = set()
        now = time.time()
        room = self._batch - len(self._tasks)
        for row in rows:
            if started >= room:
                break
            chat = row.chat.id
            skip = chat in seen or chat in self._busy
            seen.add(chat)
            if skip or row.id in self._settled or row.id in self._sent or row.id in self._writing:
                continue
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                continue
            self._busy.add(chat)
            task = asyncio.create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def drain(self) -> None:
        """Deliver until nothing is pending or deliverable; callers bound it with a timeout."""
        while True:
            await self._write_sent_marks()  # so the next query sees every accepted send
            self.drain_once_nowait(await self._pending())
            if not self._tasks:
                await self._stop_marker()
                return
            await asyncio.wait(self._tasks)

    async def _deliver(self, row: PendingAlert) -> None:
        try:
            async with self._slots:
                await self._send(row)
        except Exception:
            log.exception("delivery of alert %d failed unexpectedly", row.id)
        finally:
            self._settled.add(row.id)
            self._busy.discard(row.chat.id)
            self.gate.forget(row.chat)
            if len(self._tasks) <= self._batch // 4 + 1:
                self._progress.set()

    async def _send(self, row: PendingAlert) -> None:
        if row.expires_at is not None and self.clock.now() >= row.expires_at:
            await self.store.mark_failed(row.id, "kick-off passed before it could be sent",
                                         status="expired")  # fmt: skip
            return
        sender = self.senders.get(row.chat.platform)
        if sender is None:
            return  # that platform is not running in this process; its rows wait for it
        await self.gate.acquire(row.chat, sender.limits)
        result = await sender.send(row.chat, row.text)
        await self._settle(row, result)

    async def _settle(self, row: PendingAlert, result: SendResult) -> None:
        match result.outcome:
            case Outcome.SENT:
                self.sent += 1
                marked = asyncio.get_running_loop().create_future()
                self._sent[row.id] = (result.message_id, marked)
                self._sent_ready.set()
                self._ensure_marker()
                # Hold the send slot until the mark is committed: at most `max_in_flight`
                # sends are ever accepted-but-unmarked, so a SIGKILL repeats at most that many.
                await asyncio.shield(marked)
            case Outcome.RETRY_AFTER:
                self.gate.pause(row.chat.platform, result.retry_after)
                self._note(row, f"rate limited for {result.retry_after:g}s")
            case Outcome.FORBIDDEN:
                self._note(row, result.error)
                await self.store.set_chat_active(row.chat.id, False)
            case Outcome.MIGRATED if result.new_chat_id is not None:
                self._note(row, f"chat moved to {result.new_chat_id}")
                await self.store.migrate_chat(row.chat.id, result.new_chat_id)
            case Outcome.TRANSIENT if row.attempts + 1 < MAX_ATTEMPTS:
                delay = min(BACKOFF_CAP, 2.0**row.attempts) * random.uniform(0.5, 1.0)
                self._note(row, result.error)
                await self.store.retry_later(row.id, time.time() + delay, result.error)
            case _:
                self._note(row, result.error)
                await self.store.mark_failed(row.id, result.error or result.outcome.value)

    def _note(self, row: PendingAlert, error: str) -> None:
        log.warning("alert %d to chat %d: %s", row.id, row.chat.external_id, error)
