"""A fan who follows a team whose match is already live hears its next goal within one live
poll interval, on both live feeds, on their free plans' budgets.

The engine used to keep the poll instant the feed had planned from the matches watched at
its last poll: with nothing followed that is the idle check, up to 15 minutes away, so a
`/follow Japan` 20 minutes into Japan's match waited that long for its first goal. Here the
real PTB Application talks to the fake Bot API and to a feed fake on loopback; the test moves
the bot's clock, ticking as often as the engine does at speed 1 (every 5 s) once the fan
follows. Both fakes count their per-minute quota on the bot's clock, as does the bot's own
request budget (the real monotonic clock would not let a match play in seconds), so a
request the plan should not make is refused and shows in the fakes' records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram.ext import Application

from bot.core import Core
from tests.api_football_timelines import TimelineFixture
from tests.fake_api_football import FakeApiFootball
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import fake_telegram as fake_telegram
from tests.harness import core_of, running_bot
from tests.live_checks import ledger_texts, play
from tests.timeline import MIN, HandClock, Timeline, TimelineFootballData, TrueGoal

CHAT = 6161
TOKEN = "fd-follow-live-secret-7e1"
KEY = "af-follow-live-secret-3b9"
SCHEDULED = datetime(2026, 6, 24, 14, 0, tzinfo=UTC)
TICK = timedelta(seconds=5)  # the engine's tick at speed 1 (Core.tick_seconds)
FOLLOWED_AFTER = 20 * MIN  # into the match
EQUALISER = "Belgium 1–1 Japan"


def japan_match(match_id: int) -> Timeline:
    """Belgium score before the fan follows Japan; Japan equalise 4 minutes after."""
    goals = [TrueGoal(1, 8, scorer="Lukaku"), TrueGoal(2, 24, scorer="Inui")]
    return Timeline(match_id, ("Belgium", "BEL"), ("Japan", "JPN"), SCHEDULED, goals=goals)


async def follow(fake: FakeTelegram, text: str) -> None:
    """One /follow, which must be taken at once: the team is known from the schedule."""
    before = len(fake.messages_to(CHAT))
    fake.push_message(CHAT, text)
    replies = await fake.wait_for_messages(CHAT, before + 1, visible=True)
    assert replies[before].startswith("Following"), replies[before]


async def told_at(core: Core, clock: HandClock, until: datetime) -> datetime | None:
    """Tick every TICK of the bot's clock; the first instant the follower's equaliser is in
    the ledger (queued for delivery), or None if it is not by `until`."""
    while clock.at < until:
        clock.advance(TICK)
        await core.tick()
        if any(EQUALISER in text for text in await ledger_texts(core.store, 1)):
            return clock.at
    return None


@asynccontextmanager
async def bot_on_the_clock(
    fake: FakeTelegram,
    db: Path,
    clock: HandClock,
    env: dict[str, str],
    on_bot_clock: Callable[[], float],
) -> AsyncIterator[Application]:
    """The bot, its feed client's per-minute budget counted on the bot's clock."""
    async with running_bot(fake, db, clock=clock, **env) as app:
        client = core_of(app).feed.client  # type: ignore[attr-defined]
        client.budget.monotonic = on_bot_clock
        yield app


async def follow_mid_match(
    fake: FakeTelegram, app: Application, clock: HandClock, timeline: Timeline
) -> datetime:
    """The bot runs from 40 minutes before kick-off, nobody following; 20 minutes into the
    match the fan follows Japan. Returns the instant the equaliser was queued for the fan,
    once it has reached the chat."""
    core = core_of(app)
    await play(core.tick, clock, timeline.kickoff + FOLLOWED_AFTER)
    await follow(fake, "/follow Japan")
    goal = timeline.scored_at(timeline.goals[1])
    queued = await told_at(core, clock, goal + 20 * MIN)
    assert queued is not None, "the equaliser never reached the ledger"
    texts = await fake.wait_for_messages(CHAT, 2, visible=True)  # the /follow reply, the goal
    assert any(EQUALISER in t and t.startswith("⚽") for t in texts), texts
    return queued


async def test_follow_mid_match_on_football_data_hears_the_next_goal_within_30_s(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    timeline = japan_match(931)
    clock = HandClock(timeline.kickoff - 40 * MIN)

    def on_bot_clock() -> float:
        return clock.at.timestamp()

    # The free tier: 10 requests a minute, the fake answering 429 past them.
    async with TimelineFootballData(
        clock.now, token=TOKEN, quota_per_minute=10, clock=on_bot_clock
    ) as fd:
        fd.add(timeline)
        env = {
            "MATCHDAY_FEED": "football-data",
            "FOOTBALL_DATA_TOKEN": fd.token,
            "FOOTBALL_DATA_URL": fd.url,
            "FOOTBALL_DATA_COMPETITIONS": "WC",
            "FOOTBALL_DATA_RATE": "10",
        }
        async with bot_on_the_clock(fake_telegram, tmp_path / "bot.db", clock, env,
                                    on_bot_clock) as app:  # fmt: skip
            followed = timeline.kickoff + FOLLOWED_AFTER
            queued = await follow_mid_match(fake_telegram, app, clock, timeline)
            live_every = core_of(app).feed.live_every  # type: ignore[attr-defined]
        end = clock.at
    goal = timeline.scored_at(timeline.goals[1])
    print("football-data: goal told", queued - goal, "after it;", len(fd.requests), "requests")
    assert live_every == timedelta(seconds=30)
    assert queued - goal <= live_every, (queued - goal, "after the goal")
    assert all(r.status == 200 and r.authenticated for r in fd.requests)
    assert fd.max_in_window(60.0) <= 10
    # Live polling from the follow on, every 30 s and no faster (not a poll every tick).
    since = [r for r in fd.requests if r.at >= followed.timestamp()]
    assert len(since) <= (end - followed) / live_every + 1, len(since)


async def test_follow_mid_match_on_api_football_hears_the_next_goal_within_the_plan(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    timeline = japan_match(932)
    clock = HandClock(timeline.kickoff - 40 * MIN)

    def on_bot_clock() -> float:
        return clock.at.timestamp()

    # The free plan: 100 requests a day, 10 a minute.
    async with FakeApiFootball(KEY, clock=clock.now, monotonic=on_bot_clock) as af:
        af.add(TimelineFixture(timeline))
        env = {
            "MATCHDAY_FEED": "api-football",
            "API_FOOTBALL_KEY": af.key,
            "API_FOOTBALL_URL": af.url,
            "API_FOOTBALL_LEAGUES": "1:2026",
        }
        async with bot_on_the_clock(fake_telegram, tmp_path / "bot.db", clock, env,
                                    on_bot_clock) as app:  # fmt: skip
            core_of(app).feed.client.utcnow = clock.now  # type: ignore[attr-defined]
            queued = await follow_mid_match(fake_telegram, app, clock, timeline)
            plan = core_of(app).feed.plan  # type: ignore[attr-defined]
    goal = timeline.scored_at(timeline.goals[1])
    print("api-football: goal told", queued - goal, "after it;", af.daily_used, "requests;",
          plan and plan.note)  # fmt: skip
    assert plan is not None and plan.interval is not None and plan.covered, plan
    # The day's budget over the match's 100 live minutes to come: about a minute a poll.
    assert timedelta(seconds=30) <= plan.interval <= timedelta(minutes=2), plan.note
    assert queued - goal <= plan.interval, (queued - goal, plan.note)
    assert all(r.status == 200 and r.keyed and not r.errors for r in af.requests)
    assert af.daily_used <= 100
    times = [r.at for r in af.requests]
    assert max(sum(t <= u < t + MIN for u in times) for t in times) <= 10
