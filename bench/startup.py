"""(5) Peak RSS of `python -m bot.cli run` on the big store, and its time to first getUpdates."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.common import NOW, Report, fmt
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


async def _launch(fake: FakeTelegram, db: Path, settle: float) -> tuple[float, float]:
    """Seconds from spawn to the first getUpdates the fake sees, and the child's peak RSS (MB)."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "MATCHDAY_DB": str(db),
        "MATCHDAY_POLL_SECONDS": "30",
    }
    fake.requests.clear()
    start = time.monotonic()
    proc = subprocess.Popen(  # noqa: ASYNC220 - timing the spawn itself
        [sys.executable, "-m", "bot.cli", "run", "--now", NOW.isoformat()],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    first = None
    try:
        deadline = start + 60
        while time.monotonic() < deadline and proc.poll() is None:
            polls = fake.calls("getUpdates")
            if polls:
                first = polls[0].time - start
                break
            await asyncio.sleep(0.005)
        # some traffic while loaded: commands from a few chats
        for i in range(20):
            fake.push_message(7_000_000 + i, "/score Belgium" if i % 2 else "/table")
        await asyncio.sleep(settle)
        hwm = _vm_hwm(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        loop = asyncio.get_running_loop()
        _, _, usage = await loop.run_in_executor(None, os.wait4, proc.pid, 0)
    if first is None:
        raise RuntimeError("the bot never polled getUpdates")
    # ru_maxrss of a child forked from this (large) bench process carries the parent's
    # pre-exec high-water mark on Linux, so VmHWM of the exec'd image is the honest peak.
    return first, hwm if hwm else usage.ru_maxrss / 1024


def _vm_hwm(pid: int) -> float:
    """The process's peak resident set (MB) as the kernel tracks it for its current image."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def run(report: Report, tmp: Path, big_db: Path | None) -> None:
    sec = "5 process"
    async with FakeTelegram(enforce_limits=False) as fake:
        # cold: a fresh database (the World Cup is applied in post_init)
        fresh, rss_fresh = await _launch(fake, tmp / "fresh.db", 1.0)
        warm, _ = await _launch(fake, tmp / "fresh.db", 1.0)
        report.add(sec, "start → first getUpdates (fresh DB)", fresh, "s", target=1.5,
                   better="lower", note=f"second start, same DB: {fmt(warm)} s")  # fmt: skip
        report.add(sec, "peak RSS (fresh DB)", rss_fresh, "MB", note="VmHWM of the bot process")
        if big_db is not None:
            copy = tmp / "rss.db"
            shutil.copyfile(big_db, copy)
            big, rss_big = await _launch(fake, copy, 3.0)
            report.add(sec, "start → first getUpdates (big store of 2)", big, "s", target=1.5,
                       better="lower")  # fmt: skip
            report.add(sec, "peak RSS (big store of 2, 100k chats, 300k follows)", rss_big, "MB")
    print("  startup/RSS done", flush=True)
