"""SIGKILL a real `matchday run` on football-data.org late in a match; it stays down for 20
minutes across full time, then starts again on the same database.

The processes run on their own virtual clocks (`--now`, `--speed`); the timeline fake follows
the same clock from the moment each process is spawned. The goal scored while the bot was
down and the full time must each reach the follower once, after what was sent before.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.live_checks import judge
from tests.timeline import MIN, Timeline, TimelineFootballData, TrueGoal

ROOT = Path(__file__).resolve().parent.parent
CHAT = 6262
TOKEN = "fd-restart-secret-93b1"
SPEED = 180.0  # a poll every engine tick (0.2 s real = 36 s of match)
ALERT_MARKS = ("🟢", "⚽", "⏸", "⏱", "🎯", "🏁", "❌")


class ProcessClock:
    """The virtual clock of the `matchday run` spawned last, as seen from the test.

    It starts running at the process's first request (its start-up poll), not at the spawn:
    imports on a busy machine take seconds, minutes of match at this speed. So the fake is
    never ahead of the bot's own clock, only a poll or so behind it.
    """

    def __init__(self) -> None:
        self.start = datetime(2000, 1, 1, tzinfo=UTC)
        self.began: float | None = None

    def restart(self, start: datetime) -> None:
        self.start, self.began = start, None

    def __call__(self) -> datetime:
        if self.began is None:
            self.began = time.monotonic()
        return self.start + timedelta(seconds=(time.monotonic() - self.began) * SPEED)


@asynccontextmanager
async def matchday(
    fake: FakeTelegram, fd: TimelineFootballData, clock: ProcessClock, db: Path, now: datetime,
    log: Path,
) -> AsyncIterator[asyncio.subprocess.Process]:  # fmt: skip
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "MATCHDAY_DB": str(db),
        "MATCHDAY_FEED": "football-data",
        "FOOTBALL_DATA_TOKEN": fd.token,
        "FOOTBALL_DATA_URL": fd.url,
        "FOOTBALL_DATA_COMPETITIONS": "WC",
        "FOOTBALL_DATA_RATE": "100000",
    }
    clock.restart(now)
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--now", now.isoformat(),
            "--speed", str(SPEED), cwd=ROOT, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def pending(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM alerts WHERE status = 'pending'").fetchone()
    return int(count)


def alerts(fake: FakeTelegram) -> list[str]:
    return [t for t in fake.messages_to(CHAT, visible=True) if t.startswith(ALERT_MARKS)]


async def test_sigkilled_late_and_down_across_full_time(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    scheduled = datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
    goals = [TrueGoal(1, 12, scorer="Lukaku"), TrueGoal(2, 78, scorer="Kamada"),
             TrueGoal(1, 86, scorer="Openda")]  # fmt: skip
    timeline = Timeline(906, ("Belgium", "BEL"), ("Japan", "JPN"), scheduled, goals=goals,
                        second_added=3)  # fmt: skip
    clock = ProcessClock()
    db, log = tmp_path / "bot.db", tmp_path / "bot.log"
    async with TimelineFootballData(clock, token=TOKEN, quota_per_minute=1_000_000) as fd:
        fd.add(timeline)
        fake_telegram.push_message(CHAT, "/remind off")
        fake_telegram.push_message(CHAT, "/follow Belgium")
        first_start = scheduled - 25 * MIN  # slack for a slow start and /follow
        async with matchday(fake_telegram, fd, clock, db, first_start, log) as first:
            await fake_telegram.wait_for(
                lambda: any("1–1 Japan" in t for t in alerts(fake_telegram)), timeout=90
            )
            first.send_signal(signal.SIGKILL)
            await first.wait()
        killed_at = clock()
        assert killed_at < timeline.scored_at(goals[2]), "killed too late to miss a goal"
        before = alerts(fake_telegram)
        assert not any("Full time" in t for t in before)

        back = killed_at + 20 * MIN
        assert back > timeline.finish  # down across full time
        async with matchday(fake_telegram, fd, clock, db, back, log):
            await fake_telegram.wait_for(
                lambda: any("Full time" in t for t in alerts(fake_telegram)), timeout=90
            )
            for _ in range(300):  # until the ledger has nothing left to send
                if not pending(db):
                    break
                await asyncio.sleep(0.2)
    everything = alerts(fake_telegram)
    unique = list(dict.fromkeys(everything))
    assert len(everything) - len(unique) <= 1  # only a send in flight at the kill can repeat
    judge(timeline, unique)
    assert "Belgium 2–1 Japan" in unique[-2] and "Openda 86'" in unique[-2]
    assert unique[-1].startswith("🏁 Full time: Belgium 2–1 Japan")
    assert TOKEN not in log.read_text() and fake_telegram.token not in log.read_text()
