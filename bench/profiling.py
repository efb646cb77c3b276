"""pyinstrument over the worst figures: top self-time hotspots with file:line."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import BENCH_DIR, Report

ROOT = BENCH_DIR.parent


def _hotspots(session: object, top: int = 12) -> list[tuple[float, float, str]]:
    """(self seconds, share, 'file:line function') of project frames plus the biggest others."""
    root = session.root_frame()  # type: ignore[attr-defined]
    if root is None:
        return []
    total = root.time or 1e-9
    own: dict[str, float] = {}
    incl: dict[str, float] = {}

    def walk(frame: object, stack: frozenset[str]) -> None:
        path = getattr(frame, "file_path", None) or "?"
        short = (
            str(Path(path).resolve().relative_to(ROOT))
            if path.startswith(str(ROOT)) and ".venv" not in path
            else Path(path).name
        )
        key = f"{short}:{frame.line_no} {frame.function}"  # type: ignore[attr-defined]
        for child in frame.children:  # type: ignore[attr-defined]
            if child.function == "[self]":  # pyinstrument's node for the parent's own time
                own[key] = own.get(key, 0.0) + child.time
        if key not in stack and ".venv" not in path and path.startswith(str(ROOT)):
            incl[key] = incl.get(key, 0.0) + frame.time  # type: ignore[attr-defined]
        for child in frame.children:  # type: ignore[attr-defined]
            if child.function not in {"[self]", "[await]"}:
                walk(child, stack | {key})

    walk(root, frozenset())
    project = sorted(((t, t / total, k) for k, t in incl.items()
                      if not k.startswith("bench/")), reverse=True)  # fmt: skip
    selfs = sorted(((t, t / total, k) for k, t in own.items()), reverse=True)
    return [("incl", *p) for p in project[:top]] + [("self", *s) for s in selfs[:top]]  # type: ignore[misc]


async def profile(label: str, body: Callable[[], Awaitable[None]], report: Report,
                  out: Path) -> None:  # fmt: skip
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="enabled", interval=0.0005)
    profiler.start()
    try:
        await body()
    finally:
        session = profiler.stop()
    out.write_text(  # noqa: ASYNC240
        profiler.output_text(unicode=True, color=False, show_all=False)
    )
    rows = _hotspots(profiler.last_session)
    report.hotspots.append(f"### {label}\n")
    report.hotspots.append(f"Full call tree: `bench/{out.name}` (written by the run).\n")
    report.hotspots.append("| kind | seconds | share | frame |\n|---|---:|---:|---|")
    for kind, secs, share, key in rows:  # type: ignore[misc]
        report.hotspots.append(f"| {kind} | {secs:.2f} | {share * 100:.0f}% | `{key}` |")
    report.hotspots.append("")
    del session


async def delivery_body(tmp: Path, followers: int = 20_000, seconds: float = 8.0) -> None:
    from bench.fanout import NOW, delivering, follower_store, live_state, sender_app
    from bot.clock import Clock
    from bot.delivery import Delivery, RateGate
    from bot.telegram import TelegramSender
    from feeds.model import Goal
    from handlers.alerts import render_alert
    from tests.fake_telegram import FakeTelegram

    store = await follower_store(tmp / "prof-fanout.db", followers)
    try:
        await store.apply([live_state((Goal(1, 24, 0, "Hazard"),))], NOW, render_alert)
        # Lenient: profiles the send path at 1000/s to followers seeded only in the store.
        lenient = {"enforce_limits": False, "refuse_unknown_chats": False}
        async with FakeTelegram(**lenient) as fake, sender_app(fake) as app:
            delivery = Delivery(store, {"telegram": TelegramSender(app)}, Clock(NOW),
                                RateGate(1000))  # fmt: skip
            async with delivering(delivery):
                await asyncio.sleep(seconds)
    finally:
        await store.close()


async def handlers_body(big_db: Path, calls: int = 200) -> None:
    from datetime import UTC, datetime

    from bench.common import team_name
    from bench.store_scale import _request
    from bot.clock import Clock
    from handlers.commands import dispatch
    from storage.store import Store

    store = await Store.open(big_db)
    try:
        clock = Clock(datetime(2023, 12, 18, tzinfo=UTC))
        comps = [c.name for c in await store.competitions() if c.name.startswith("Synthetic")]
        rng = random.Random(5)
        for i in range(calls):
            text = [f"/score {team_name(rng.randint(1, 2000))}",
                    f"/table {rng.choice(comps)}"][i % 2]  # fmt: skip
            await dispatch(await _request(store, text, 6_000_000, clock))
    finally:
        await store.close()


async def import_body(big_db: Path, n: int = 2000) -> None:
    from datetime import UTC, datetime

    from bench.store_scale import synthetic_states
    from handlers.alerts import render_alert
    from storage.store import Store

    now = datetime(2023, 12, 18, tzinfo=UTC)
    store = await Store.open(big_db)
    try:
        await store.apply(synthetic_states(n, now, seed=99), now, render_alert, silent=True)
    finally:
        await store.close()
