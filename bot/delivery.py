"""Delivery: drains the alert ledger to the chat platforms within their rate limits.

The ledger row is written before anything is sent; delivery claims it (`sending`, see
storage/ledger.py) before sending and marks it sent only after the platform accepted it, so
a crash loses nothing. A send takes one of `max_in_flight` send slots before its request
leaves and keeps it until the row is settled in the ledger (for a send: until its sent mark
is committed, marks being written in one transaction per batch, which is what lets one
process send thousands a second). So after a SIGKILL at most `max_in_flight` alerts can
reach a chat twice. Delivery claims up to twice that many rows, so the next sends are
ready the moment slots free up; the claimed rows waiting for a slot have not left, and the
restart sends them once. A SIGTERM finishes the sends on the wire and writes their marks
first, and repeats none.

A send that timed out may still have arrived: the engine errs towards sending again (a fan
may read a goal twice, but never misses one).
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.rate_gate import STRICTEST, ChatLimits, RateGate
from handlers.base import Button
from storage.leadership import delivery_role
from storage.ledger import Ledger
from storage.store import Chat, PendingAlert, Store

__all__ = ["STRICTEST", "ChatLimits", "Delivery", "Outcome", "RateGate", "SendResult", "Sender"]

log = logging.getLogger("matchday.delivery")

MAX_IN_FLIGHT = 64  # sends on the wire or unmarked (so repeats after a SIGKILL) at most
CLAIM_AHEAD = 2  # rows claimed, at most, per send slot
# Transient failures back off 2^n seconds (jitter 0.8-1), capped at 5 minutes; 24 attempts
# add up to at least an hour (409 s + 15 × 240 s) and at most 83 minutes.
MAX_ATTEMPTS = 24
BACKOFF_CAP = 300.0
AUTH_PAUSE = 300.0  # a platform that refused our credentials is asked again after this
FLOOD_CHATS = 3  # 429s for this many different chats within FLOOD_WINDOW pause the platform
FLOOD_WINDOW = 10.0
STOP_GRACE = 15.0  # seconds a SIGTERM waits for sends already on the wire
IDLE_CHECK = 1.0  # seconds between looks at the ledger when nothing woke delivery


MIN_JITTER = 0.8


def backoff(attempts: int, jitter: float) -> float:
    """Seconds (on the bot's clock) before the next try of a row that failed `attempts`
    times: 1, 2, 4, ... up to 5 minutes, times `jitter` so retries of a fan-out spread out."""
    return min(BACKOFF_CAP, 2.0**attempts) * jitter


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY_AFTER = "retry_after"  # the chat (or, if many chats say so, the platform) must wait
    FORBIDDEN = "forbidden"  # blocked, kicked, or the channel is gone: deactivate the chat
    MIGRATED = "migrated"  # the chat has a new id: move it and send there
    TRANSIENT = "transient"  # 5xx, timeout, connection, garbled answer: retry with backoff
    REJECTED = "rejected"  # the platform will never take this message: fail it, move on
    UNAUTHORIZED = "unauthorized"  # bad token or API URL (401/404): pause the whole platform


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    message_id: int | None = None
    retry_after: float = 0.0
    new_chat_id: int | None = None
    error: str = ""


class Sender:
    """One chat platform's way to send a message; `send` never raises for platform errors."""

    platform: str = ""
    limits: ChatLimits = STRICTEST

    @property
    def ready(self) -> bool:
        """False while the platform cannot take messages (not logged in): nothing is claimed
        for it, so its rows hold no send slot."""
        return True

    async def send(
        self, chat: Chat, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> SendResult:
        raise NotImplementedError


class Delivery:
    """Claims pending rows (oldest event first, one per chat) and sends them under the gate."""

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
        self.ledger = Ledger(store)
        self.senders = senders
        self.clock = clock
        self.gate = gate
        self.max_in_flight = max_in_flight
        self.max_claims = max_in_flight * CLAIM_AHEAD
        self._slots = asyncio.Semaphore(max_in_flight)
        self.sent = 0  # sends the platforms accepted in this process (the ledger has the rest)
        self.rate_limited = 0  # 429s (retry_after) the platforms answered this process
        self._wake = asyncio.Event()
        self._stopping = False
        self._reset: set[str] = set()  # platforms whose stale claims were returned to pending
        self._refused: set[str] = set()  # platforms that refused our credentials, logged once
        self._tasks: dict[int, asyncio.Task[None]] = {}  # claimed row id → its send
        self._on_wire: set[int] = set()  # claimed rows whose request has started
        self._throttled: dict[str, deque[tuple[float, int]]] = {}  # recent 429s per platform
        # Accepted by the platform, waiting for the batched write that marks them sent; each
        # send keeps its slot until its future says the mark is committed.
        self._sent: dict[int, tuple[int | None, asyncio.Future[None]]] = {}
        self._sent_ready = asyncio.Event()
        self._marker: asyncio.Task[None] | None = None
        self._filling = asyncio.Lock()
        self._due: list[float] = []  # heap: when rows this process put off come due
        # Whether this process sends a role's alerts (`delivery:<platform>`): Core asks the
        # store's leadership, so replicas on one database have one sender per platform.
        self.holds: Callable[[str], Awaitable[bool]] = store.leadership.holds

    def wake(self) -> None:
        """New rows are in the ledger: look now rather than at the next idle check."""
        self._wake.set()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until `stop`; restarted by its supervisor after an error."""
        self._stopping = False
        try:
            while not self._stopping:
                wait = self._next_due()
                try:
                    await self._fill()
                except Exception as exc:  # a locked or failing database: sends in flight go on
                    log.exception("claiming alerts failed; trying again")
                    self.store.health.failed("claims", exc)
                    wait = IDLE_CHECK * 2
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            if not self._stopping:  # cancelled or failed: leave nothing half done
                await asyncio.shield(self._finish(grace=0.0))

    def _next_due(self) -> float:
        """Real seconds until the next look at the ledger: the idle check, or sooner when a
        row this process put off (backoff, a chat's 429) comes due, on the bot's clock."""
        now = self._now()
        while self._due and self._due[0] <= now:
            heapq.heappop(self._due)
        if not self._due:
            return IDLE_CHECK
        return min(IDLE_CHECK, max(0.01, (self._due[0] - now) / self.clock.speed))

    def _put_off(self, alert_id: int, at: float, error: str | None, *, attempt: bool = False
                 ) -> Awaitable[None]:  # fmt: skip
        heapq.heappush(self._due, at)
        return self._write(self.ledger.release, [alert_id], at, error, attempt=attempt)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop claiming, let the sends on the wire finish (up to `grace` seconds), write
        their marks and hand every other claim back to the ledger. Before transports close."""
        self._stopping = True
        self._wake.set()
        async with self._filling:  # a claim under way lands before the claims are counted
            await self._finish(grace)

    async def drain(self) -> None:
        """Deliver until nothing claimable is left; callers bound it with a timeout."""
        while True:
            await self._fill()
            if not self._tasks:
                await self._stop_marker()
                return
            await asyncio.wait(list(self._tasks.values()), return_when=asyncio.FIRST_COMPLETED)

    def _platforms(self) -> list[str]:
        return [p for p, s in self.senders.items() if s.ready and not self.gate.paused_for(p)]

    async def _fill(self) -> None:
        """Claim rows for the free slots and start their sends (refill in batches: cheap)."""
        async with self._filling:
            await self._claim()

    async def _claim(self) -> None:
        free = self.max_claims - len(self._tasks)
        if self._stopping or (free < self.max_in_flight // 2 and self._tasks):
            return
        platforms = [p for p in self._platforms() if await self.holds(delivery_role(p))]
        # Taking a platform over (or starting): the previous sender's claims are ours now.
        if fresh := [p for p in platforms if p not in self._reset]:
            reset = await self.ledger.reset_claims(fresh, self._now(), BACKOFF_CAP)
            if reset:
                log.info("%d alerts a stopped process was sending go out again", reset)
            self._reset.update(fresh)
        for row in await self.ledger.claim(platforms, self._now(), free):
            self._tasks[row.id] = asyncio.create_task(self._deliver(row))

    async def _finish(self, grace: float) -> None:
        for alert_id, task in list(self._tasks.items()):
            if alert_id not in self._on_wire:
                task.cancel()  # still waiting for the gate: nothing has left
        if self._tasks and grace > 0:
            await asyncio.wait(list(self._tasks.values()), timeout=grace)
        for task in self._tasks.values():
            task.cancel()  # a send hanging past the grace (its row may repeat)
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await self._stop_marker()
        await self._write_sent_marks()
        # Every claim not settled goes back; the ledger only touches rows still `sending`.
        await self._write(self.ledger.release, list(self._tasks), None)
        self._tasks.clear()
        self._on_wire.clear()

    # -- one row ---------------------------------------------------------------------------

    async def _deliver(self, row: PendingAlert) -> None:
        try:
            async with self._slots:  # held until the row is settled: see the module's doc
                await self._settle(row, await self._send(row))
        except asyncio.CancelledError:
            raise  # the claim is handed back by `_finish`
        except Exception as exc:
            log.exception("delivery of alert %d failed unexpectedly", row.id)
            self.store.health.failed("delivery", exc)
            await self._put_off(row.id, self._now() + 60.0, str(exc))
        self._tasks.pop(row.id, None)
        self._on_wire.discard(row.id)
        self.gate.forget(row.chat)
        if len(self._tasks) <= self.max_claims - self.max_in_flight // 2:
            self._wake.set()

    async def _send(self, row: PendingAlert) -> SendResult | None:
        if row.expires_at is not None and self.clock.now() >= row.expires_at:
            return None
        sender = self.senders.get(row.chat.platform)
        if sender is None:  # its front end stopped after the claim
            return SendResult(Outcome.RETRY_AFTER, error="platform stopped")
        await self.gate.acquire(row.chat, sender.limits)
        self._on_wire.add(row.id)
        return await sender.send(row.chat, row.text)

    async def _settle(self, row: PendingAlert, result: SendResult | None) -> None:
        ledger, now = self.ledger, self._now()
        if result is None:
            await self._write(ledger.settle, row.id, "expired", "kick-off passed before it could be sent")  # fmt: skip  # noqa: E501
            return
        if result.outcome is not Outcome.UNAUTHORIZED and row.chat.platform in self._refused:
            self._refused.discard(row.chat.platform)
            log.warning("%s accepts our credentials again: delivery resumed", row.chat.platform)
        match result.outcome:
            case Outcome.SENT:
                self.sent += 1
                marked = asyncio.get_running_loop().create_future()
                self._sent[row.id] = (result.message_id, marked)
                self._sent_ready.set()
                self._ensure_marker()
                # Keep the slot until the mark is committed: at most `max_in_flight` sends are
                # ever accepted-but-unmarked, so a SIGKILL repeats at most that many.
                await asyncio.shield(marked)
            case Outcome.RETRY_AFTER:
                self.rate_limited += result.retry_after > 0
                self._note(row, result.error or f"rate limited for {result.retry_after:g}s")
                self.throttled(row.chat, result.retry_after)
                later = now + result.retry_after * self.clock.speed
                await self._put_off(row.id, later, result.error)
            case Outcome.UNAUTHORIZED:
                self.gate.pause(row.chat.platform, AUTH_PAUSE)
                if row.chat.platform not in self._refused:
                    self._refused.add(row.chat.platform)
                    log.error("%s refused our credentials (%s): check the token and API URL; "
                              "its alerts wait in the ledger, trying again every %.0f s",
                              row.chat.platform, result.error, AUTH_PAUSE)  # fmt: skip
                await self._write(ledger.release, [row.id], None, result.error)
            case Outcome.FORBIDDEN:
                self._note(row, result.error)
                # The chat first (its pending rows go with it), while this row still holds
                # the chat's turn: settled first, the chat's next row could be claimed and
                # sent to the gone chat before the chat is switched off.
                await self._write(self.store.set_chat_active, row.chat.id, False)
                await self._write(ledger.settle, row.id, "inactive", result.error)
            case Outcome.MIGRATED if result.new_chat_id is not None:
                self._note(row, f"chat moved to {result.new_chat_id}")
                await self._write(self.store.migrate_chat, row.chat.id, result.new_chat_id)
                await self._write(ledger.release, [row.id], None, result.error, attempt=True)
            case Outcome.TRANSIENT if row.attempts + 1 < MAX_ATTEMPTS:
                delay = backoff(row.attempts, random.uniform(MIN_JITTER, 1.0))
                self._note(row, result.error)
                await self._put_off(row.id, now + delay, result.error, attempt=True)
            case _:
                self._note(row, result.error)
                await self._write(ledger.settle, row.id, "failed",
                                  result.error or result.outcome.value)  # fmt: skip

    def throttled(self, chat: Chat, seconds: float) -> None:
        """A 429 for `chat`: that chat waits; 429s for several chats at once mean the
        platform's overall limit, and the whole platform waits."""
        self.gate.pause_chat(chat, seconds)
        now = time.monotonic()
        recent = self._throttled.setdefault(chat.platform, deque())
        recent.append((now, chat.external_id))
        while recent and recent[0][0] < now - FLOOD_WINDOW:
            recent.popleft()
        if len({chat_id for _, chat_id in recent}) >= FLOOD_CHATS:
            if not self.gate.paused_for(chat.platform):
                log.warning("%s: flood control across chats, pausing it for %.0f s",
                            chat.platform, seconds)  # fmt: skip
            self.gate.pause(chat.platform, seconds)

    def _note(self, row: PendingAlert, error: str) -> None:
        log.warning("alert %d to chat %d: %s", row.id, row.chat.external_id, error)

    # -- ledger writes that must not be lost ---------------------------------------------

    async def _write(
        self, write: Callable[..., Awaitable[object]], *args: object, **kwargs: object
    ) -> None:
        """A settling write, retried until it lands (a locked or failing database): the
        row keeps its claim and slot meanwhile, so nothing else is sent to that chat."""
        delay = 0.05
        while True:
            try:
                await write(*args, **kwargs)
                return
            except Exception as exc:
                log.exception("ledger write %s failed; trying again", write.__name__)
                self.store.health.failed("ledger writes", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

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
            try:
                marks = [(alert_id, message_id) for alert_id, (message_id, _) in batch.items()]
                await self.ledger.mark_sent(marks, self.clock.now())
            except BaseException as exc:
                self._sent = {**batch, **self._sent}
                if not isinstance(exc, Exception):
                    raise
                log.exception("writing %d sent marks failed; trying again", len(batch))
                self.store.health.failed("sent marks", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            for _, done in batch.values():
                if not done.done():
                    done.set_result(None)
