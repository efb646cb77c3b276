"""Health and metrics for whoever runs the bot: `/healthz` for the orchestrator's probe and
`/metrics` in Prometheus text format, served on `MATCHDAY_METRICS_LISTEN` (off by default).

Counters and histograms are kept in memory by the parts that do the work (commands, engine
ticks); ledger figures are read from the store at scrape time, so they are true across
restarts and for rows another process wrote.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from storage.leadership import delivery_role

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("matchday.ops")

STORE_TIMEOUT = 2.0  # seconds the store gets to answer a probe
STALL_AFTER = 300.0  # real seconds without a send while alerts are due: delivery is stalled
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def delivered(core: Core) -> list[str]:
    """Platforms whose alerts this process sends (all but those another replica sends):
    a standby does not call delivery stalled while the sender works through a fan-out."""
    return [p for p in core.delivery.senders if delivery_role(p) not in core.standby]


class Metrics:
    """The bot's own instruments, in a registry of their own (one per running bot)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            "matchday_updates", "Commands handled, by platform", ["platform"], registry=r
        )
        self.command_seconds = Histogram(
            "matchday_command_seconds", "Time to answer a command (store and handler)",
            ["platform"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.tick_seconds = Histogram(
            "matchday_tick_seconds", "Live engine tick duration (feed poll and store work)",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.tick_errors = Counter(
            "matchday_tick_errors", "Engine ticks that failed and were retried", registry=r
        )
        self.sent = Gauge(
            "matchday_alerts_sent_by_process", "Alerts the platforms accepted from this process",
            registry=r,
        )  # fmt: skip
        self.rate_limited = Gauge(
            "matchday_rate_limited_by_process", "429s (retry_after) answered to alerts sent "
            "from this process", registry=r,
        )  # fmt: skip
        self.ledger = Gauge(
            "matchday_ledger_alerts", "Alert ledger rows by status", ["status"], registry=r
        )
        self.pending = Gauge(
            "matchday_ledger_pending", "Alerts due now for a platform this process runs",
            ["platform"], registry=r,
        )  # fmt: skip
        self.oldest_pending = Gauge(
            "matchday_ledger_oldest_pending_seconds",
            "Age (clock seconds) of the oldest alert due now", registry=r,
        )  # fmt: skip
        self.feed_requests = Gauge(
            "matchday_feed_requests", "Requests the feed made since start", registry=r
        )
        self.feed_quota = Gauge(
            "matchday_feed_quota_remaining",
            "Requests the feed's quota still allows (football-data: this minute; "
            "API-Football: today)", registry=r,
        )
        self.last_tick = 0.0  # time.monotonic() of the last tick that completed

    @asynccontextmanager
    async def command(self, platform: str) -> AsyncIterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.updates.labels(platform).inc()
            self.command_seconds.labels(platform).observe(time.perf_counter() - started)

    @asynccontextmanager
    async def tick(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        try:
            yield
        except Exception:
            self.tick_errors.inc()
            raise
        self.tick_seconds.observe(time.perf_counter() - started)
        self.last_tick = time.monotonic()


@dataclass
class Health:
    healthy: bool
    reason: str
    facts: dict[str, object]


class Ops:
    """The two endpoints; knows the core, never changes it."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._sent_seen = -1
        self._sent_moved = time.monotonic()

    async def health(self) -> Health:
        core = self.core
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                due = await core.store.due_alerts(delivered(core), core.clock.now())
        except Exception as exc:  # a locked, missing or broken database: all say "not ready"
            return Health(False, f"store not answering ({type(exc).__name__})", {})
        now = time.monotonic()
        if core.delivery.sent != self._sent_seen:
            self._sent_seen, self._sent_moved = core.delivery.sent, now
        tick_age = now - core.metrics.last_tick if core.metrics.last_tick else None
        facts: dict[str, object] = {
            "clock": core.clock.now().isoformat(),
            "last_tick_seconds_ago": None if tick_age is None else round(tick_age, 1),
            "pending_due": sum(due.counts.values()),
            "sent_by_process": core.delivery.sent,
            "roles": sorted(core.roles),  # what this replica runs (the others stand by)
        }
        # Ten poll intervals on the clock without a finished tick (5 minutes at the default
        # 30 s and real speed): long enough for a slow feed, short enough for a probe.
        tick_limit = max(2.0, 10 * core.settings.poll_seconds / core.clock.speed)
        if tick_age is None or tick_age > tick_limit:
            return Health(False, f"live engine has not ticked for {tick_limit:g}s", facts)
        idle = now - self._sent_moved
        if due.counts and due.oldest_seconds > STALL_AFTER * core.clock.speed and (
            idle > STALL_AFTER
        ):
            return Health(False, f"delivery stalled: alerts due, none sent for {idle:.0f}s", facts)
        return Health(True, "ok", facts)

    async def refresh(self) -> None:
        """Read the ledger figures into the gauges, just before a scrape."""
        core, m = self.core, self.core.metrics
        counts = await core.store.ledger_counts()
        for status in ("pending", "sent", "failed", "expired"):
            m.ledger.labels(status).set(counts.get(status, 0))
        due = await core.store.due_alerts(list(core.delivery.senders), core.clock.now())
        for platform in core.delivery.senders:
            m.pending.labels(platform).set(due.counts.get(platform, 0))
        m.oldest_pending.set(due.oldest_seconds)
        m.sent.set(core.delivery.sent)
        m.rate_limited.set(core.delivery.rate_limited)
        for gauge, name in ((m.feed_requests, "requests_made"), (m.feed_quota, "quota_remaining")):
            value = getattr(core.feed, name, None)  # live feeds have these; the replay has not
            if isinstance(value, int | float):
                gauge.set(value)

    async def _healthz(self, _: web.Request) -> web.Response:
        health = await self.health()
        body = {"status": "ok" if health.healthy else "unhealthy", "reason": health.reason}
        return web.json_response(
            {**body, **health.facts}, status=200 if health.healthy else 503, dumps=json.dumps
        )

    async def _metrics(self, _: web.Request) -> web.Response:
        try:
            await self.refresh()
        except Exception:
            log.exception("metrics: could not read the ledger; serving the in-memory figures")
        return web.Response(
            body=generate_latest(self.core.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def serve(self, host: str, port: int) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("health and metrics on http://%s:%d/healthz and /metrics", host, port)
        return runner
