"""The bot on API-Football, end to end: the fake v3 server and the fake Bot API on loopback,
the real PTB Application, real SQLite, on a clock the test moves tick by tick.

A knock-out match with a bit of everything (scorers and assists, an own goal, a penalty
missed and one scored, two reds, a goal VAR takes back, 90+4, extra time, a shoot-out) must
reach its follower alert by alert, once each, in order, with the scorer; a matchday of ten
followed matches on the free plan must stay within its 100 requests; the key must never
show anywhere.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core import Core
from storage.store import Store
from tests.api_football_timelines import (
    KNOCKOUT_ALERTS,
    TimelineFixture,
    card,
    goal,
    knockout,
    phases,
)
from tests.fake_api_football import FakeApiFootball, Script, Team
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import core_of, running_bot
from tests.live_checks import judge, ledger_texts, play
from tests.timeline import MIN, HandClock, Timeline, TrueGoal

KEY = "af-e2e-secret-0c7d2b55"
KICKOFF = datetime(2026, 7, 4, 18, 0, tzinfo=UTC)
CHAT = 8484
BEL, JPN = ("Belgium", "BEL"), ("Japan", "JPN")
SCHEDULED = datetime(2026, 6, 20, 16, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
ALERT_MARKS = ("🟢", "⚽", "⏸", "⏱", "🎯", "🏁", "❌", "🟥", "🧤")


def env(af: FakeApiFootball, **extra: str) -> dict[str, str]:
    return {
        "MATCHDAY_FEED": "api-football",
        "API_FOOTBALL_KEY": af.key,
        "API_FOOTBALL_URL": af.url,
        "API_FOOTBALL_LEAGUES": "1:2026",
        **extra,
    }


def alerts(fake: FakeTelegram, chat: int) -> list[str]:
    return [t for t in fake.messages_to(chat, visible=True) if t.startswith(ALERT_MARKS)]


async def follow(fake: FakeTelegram, chat: int, text: str) -> None:
    """/follow until it answers "Following": the team arrives with the first poll."""
    for _ in range(50):
        before = len(fake.messages_to(chat))
        fake.push_message(chat, text)
        replies = await fake.wait_for_messages(chat, before + 1, visible=True)
        if replies[before].startswith("Following"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the team never became known")


async def ask(fake: FakeTelegram, chat: int, text: str) -> str:
    before = len(fake.messages_to(chat))
    fake.push_message(chat, text)
    return (await fake.wait_for_messages(chat, before + 1, visible=True))[before]


async def drained(store: Store) -> None:
    """Until delivery has settled every alert (1 a second per chat, as on Telegram)."""
    for _ in range(1200):  # a safety net only: the check is the ledger's own state
        counts = await store.ledger_counts()
        if not counts["pending"] and not counts.get("sending"):  # claimed, not yet settled
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"alerts still pending: {await store.ledger_counts()}")


def assert_secret(
    af: FakeApiFootball, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    assert af.requests and all(r.keyed for r in af.requests)
    assert all(KEY not in str(r.query) for r in af.requests)
    assert KEY not in caplog.text
    assert all(KEY not in s.text for s in fake.sent)


async def test_a_knockout_match_every_alert_once_in_order_with_the_scorer(
    fake_telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = HandClock(KICKOFF - 40 * MIN)
    # A paid plan's budget: live polls every 30 s, the loopback plays a match in seconds.
    async with FakeApiFootball(
        KEY, clock=clock.now, daily_limit=7500, minute_limit=100_000
    ) as af:
        af.add(knockout(KICKOFF))
        async with running_bot(fake_telegram, tmp_path / "bot.db", clock=clock, **env(af)) as app:
            await follow(fake_telegram, CHAT, "/follow Mexico")
            await play(core_of(app).tick, clock, KICKOFF + 4 * 60 * MIN)
            await drained(core_of(app).store)
            queued = await ledger_texts(core_of(app).store, 1)  # the store's first chat
            reply = await ask(fake_telegram, CHAT, "/scorers Mexico")
        assert all(r.status == 200 and not r.errors for r in af.requests)
    told = alerts(fake_telegram, CHAT)
    assert len(told) == len(queued) == len(KNOCKOUT_ALERTS), told
    for text, fragment in zip(told, KNOCKOUT_ALERTS, strict=True):
        assert fragment in text, (fragment, text)
    assert "Raúl Jiménez 12' (assist Hirving Lozano)" in reply and "Lozano 78'" not in reply
    assert_secret(af, fake_telegram, caplog)


def matchday(count: int, first: datetime) -> list[Script]:
    """`count` matches a day, kick-offs 70 minutes apart: a goal, then a red card, in each."""
    scripts = []
    for n in range(count):
        home, away = Team(f"Homeside {n}", 100 + n), Team(f"Awayside {n}", 200 + n)
        s = Script(3000 + n, first + timedelta(minutes=70 * n), home, away)
        s.steps += [*phases(), goal(s, 1, 20, f"Scorer {n}"), card(s, 2, 70, f"Sent Off {n}")]
        scripts.append(s)
    return scripts


async def poll_as_planned(core: Core, clock: HandClock, until: datetime) -> int:
    """Tick at each instant the feed asked for (never between): a day in a few hundred ticks."""
    ticks = 0
    while clock.at < until:
        wanted = core.engine.next_poll or clock.at
        clock.at = max(wanted, clock.at + timedelta(seconds=1))
        await core.tick()
        ticks += 1
    return ticks


async def test_a_matchday_of_ten_followed_matches_stays_within_the_free_plan(
    fake_telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    day = datetime(2026, 6, 20, tzinfo=UTC)
    clock = HandClock(day + 9 * 60 * MIN)
    scripts = matchday(10, day + 11 * 60 * MIN)
    chats = [CHAT + n for n in range(10)]  # one chat a team: delivery runs side by side
    # The free plan's 100 a day; its 10 a minute would be on the real clock, which a
    # day played in seconds cannot respect, so the fake leaves the minute open here.
    async with FakeApiFootball(KEY, clock=clock.now, minute_limit=100_000) as af:
        af.add(*scripts)
        extra = {"MATCHDAY_ADMINS": str(chats[0])}
        async with running_bot(
            fake_telegram, tmp_path / "bot.db", clock=clock, **env(af, **extra)
        ) as app:
            for n, chat in enumerate(chats):
                await follow(fake_telegram, chat, f"/follow Homeside {n}")
            core = core_of(app)
            await poll_as_planned(core, clock, day + 12 * 60 * MIN)
            stats = await ask(fake_telegram, chats[0], "/stats")  # mid-day: the budget's word
            await poll_as_planned(core, clock, day + (24 * 60 - 1) * MIN)
            await drained(core.store)
        assert len(af.answered()) <= 100 and af.daily_used <= 100
        assert not [r for r in af.requests if r.errors or r.status != 200]
    for n, chat in enumerate(chats):
        told = alerts(fake_telegram, chat)
        heads = ("🟢 Kick-off", "⚽ GOAL!", "⏸ Half-time", "🟥 Red card", "🏁 Full time")
        assert len(told) == len(heads), told
        assert all(t.startswith(h) for t, h in zip(told, heads, strict=True)), told
        assert f"Scorer {n} 20'" in told[1] and f"Sent Off {n} 70'" in told[3]
    assert "Feed budget" in stats and "10 followed matches" in stats
    assert "follow fewer matches" in stats
    assert "API-Football budget:" in caplog.text
    assert_secret(af, fake_telegram, caplog)


# ------------------------------------------------ the football-data timelines, told by v3


async def watch_timeline(
    fake: FakeTelegram,
    tmp_path: Path,
    timeline: Timeline,
    caplog: pytest.LogCaptureFixture,
    *,
    down: tuple[datetime, timedelta] | None = None,
) -> list[str]:
    """Follow Belgium 40 minutes before kick-off and play the match through, as the
    football-data end-to-end tests do, with API-Football telling it."""
    caplog.set_level(logging.INFO)
    clock = HandClock(timeline.scheduled - 40 * MIN)
    db = tmp_path / "bot.db"
    end = timeline.finish + 3 * MIN
    async with FakeApiFootball(KEY, clock=clock.now, daily_limit=7500, minute_limit=100_000) as af:
        af.add(TimelineFixture(timeline))
        async with running_bot(fake, db, clock=clock, **env(af)) as app:
            await follow(fake, CHAT, "/follow Belgium")
            await play(core_of(app).tick, clock, down[0] if down else end)
        if down is not None:  # the bot is gone; the match goes on without it
            clock.advance(down[1])
            async with running_bot(fake, db, clock=clock, **env(af)) as app:
                await play(core_of(app).tick, clock, end)
        async with running_bot(fake, db, clock=clock, **env(af)) as app:
            await drained(core_of(app).store)
            queued = await ledger_texts(core_of(app).store, 1)
        assert all(r.status == 200 and not r.errors for r in af.requests)
    assert_secret(af, fake, caplog)
    told = alerts(fake, CHAT)
    assert len(told) == len(queued), (told, queued)
    return told


async def test_the_long_added_time_timeline_told_by_api_football(
    fake_telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    goals = [
        TrueGoal(1, 7, scorer="Lukaku"), TrueGoal(2, 19, scorer="Inui"),
        TrueGoal(1, 45, 6, scorer="Hazard"), TrueGoal(1, 45, 14, scorer="Mertens"),
        TrueGoal(2, 58, scorer="Haraguchi", kind="PENALTY"), TrueGoal(2, 77, scorer="Honda"),
        TrueGoal(1, 90, 4, scorer="Chadli", kind="OWN"), TrueGoal(2, 90, 13, scorer="Osako"),
    ]  # fmt: skip
    timeline = Timeline(
        911, BEL, JPN, SCHEDULED, first_added=14, second_added=13, goals=goals,
        details_lag=timedelta(seconds=40),
    )  # fmt: skip
    told = await watch_timeline(fake_telegram, tmp_path, timeline, caplog)
    judge(timeline, told)
    assert "Half-time: Belgium 3–1 Japan" in "\n".join(told)
    assert any("Haraguchi 58' (pen)" in t for t in told)
    assert any("Chadli 90+4' (og)" in t for t in told)  # Japan's own goal, counted for Belgium


async def test_the_extra_time_and_shootout_timeline_told_by_api_football(
    fake_telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    goals = [TrueGoal(1, 30, scorer="Witsel"), TrueGoal(2, 88, scorer="Kagawa"),
             TrueGoal(1, 104, scorer="Tielemans"), TrueGoal(2, 118, 1, scorer="Kubo")]  # fmt: skip
    timeline = Timeline(
        912, BEL, JPN, SCHEDULED, goals=goals, extra_time=True, penalties=(3, 4),
        stage="QUARTER_FINALS",
    )  # fmt: skip
    told = await watch_timeline(fake_telegram, tmp_path, timeline, caplog)
    judge(timeline, told)
    assert "Full time: Belgium 2–2 Japan (after extra time)" in told[-2]
    assert "Japan win 4–3 on penalties" in told[-1]


async def test_the_var_and_lagging_details_timeline_told_by_api_football(
    fake_telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A goal shown, then taken back by VAR three minutes later; events two polls behind the
    score: the goal is told from the score, named when its event comes, taken back once."""
    goals = [TrueGoal(1, 21, scorer="Batshuayi"),
             TrueGoal(2, 62, scorer="Minamino", ruled_out_after=3 * MIN),
             TrueGoal(1, 80, scorer="Carrasco")]  # fmt: skip
    timeline = Timeline(914, BEL, JPN, SCHEDULED, goals=goals, details_lag=65 * SECOND)
    told = await watch_timeline(fake_telegram, tmp_path, timeline, caplog)
    judge(timeline, told)
    assert sum("Goal disallowed" in t for t in told) == 1


async def test_down_across_full_time_with_api_football(
    fake_telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    goals = [TrueGoal(1, 12, scorer="De Bruyne"), TrueGoal(2, 86, scorer="Doan")]
    timeline = Timeline(913, BEL, JPN, SCHEDULED, goals=goals, second_added=4)
    down = (timeline.second_half + 35 * MIN, 20 * MIN)
    told = await watch_timeline(fake_telegram, tmp_path, timeline, caplog, down=down)
    judge(timeline, told)
    assert told[-1].startswith("🏁 Full time: Belgium 1–1 Japan")
