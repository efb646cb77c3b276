"""Any real match, told right: a property test over random timelines.

Hypothesis draws a match (added time 0–15 a half, kick-off 0–45 minutes late, up to six
goals, details 0–3 polls behind the score or none at all, with or without a feed minute),
one stale cached answer somewhere in it, and jittered polls. The real live engine polls the
timeline fake over loopback HTTP into a real SQLite store; the ledger of a following chat
must hold every event once, in order, with a minute within one of the truth, and never a
"Goal disallowed" for a goal that stood.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import LiveEngine
from feeds.football_data import FootballDataClient, FootballDataFeed
from storage.store import Store
from tests.live_checks import judge, ledger_texts, play
from tests.timeline import MIN, HandClock, Timeline, TimelineFootballData, TrueGoal

TOKEN = "fd-property-secret-0d9e"
BUDGET = 1_000_000  # requests a minute: loopback plays a match in seconds
SCHEDULED = datetime(2026, 6, 24, 19, 0, tzinfo=UTC)
_RUNS = itertools.count()


@st.composite
def timelines(draw: st.DrawFn) -> tuple[Timeline, float, int]:
    first, second = draw(st.integers(0, 15)), draw(st.integers(0, 15))
    # Goals at least three minutes apart on the match's own clock (so that a poll never
    # sees two at once and each has one true minute), each in a half that has it.
    slots = [(m, 0) for m in range(1, 46)] + [(45, a) for a in range(1, first + 1)]
    slots += [(m, 0) for m in range(46, 91)] + [(90, a) for a in range(1, second + 1)]
    picks = draw(st.lists(st.sampled_from(slots), min_size=1, max_size=6, unique=True))

    def clock_minute(slot: tuple[int, int]) -> int:
        minute, added = slot
        return minute + added + (first + 15 if minute > 45 else 0)

    chosen: list[tuple[int, int]] = []
    for slot in sorted(picks, key=clock_minute):
        if all(abs(clock_minute(slot) - clock_minute(c)) >= 3 for c in chosen):
            chosen.append(slot)
    goals = [
        TrueGoal(draw(st.sampled_from([1, 2])), minute, added, scorer=f"Player {n}")
        for n, (minute, added) in enumerate(chosen)
    ]
    lag_polls = draw(st.integers(0, 3))
    timeline = Timeline(
        1000 + next(_RUNS), ("Belgium", "BEL"), ("Japan", "JPN"), SCHEDULED,
        delay=draw(st.integers(0, 45)) * MIN, first_added=first, second_added=second,
        goals=goals, details=draw(st.booleans()), feed_minute=draw(st.booleans()),
        details_lag=timedelta(seconds=30 * lag_polls + draw(st.integers(0, 20))),
    )  # fmt: skip
    stale_at = draw(st.floats(0.0, 1.0))  # where in the match the stale answer comes
    return timeline, stale_at, draw(st.integers(0, 2**16))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=timelines())
async def test_every_event_once_in_order_with_its_minute(
    tmp_path: Path, drawn: tuple[Timeline, float, int]
) -> None:
    timeline, stale_at, seed = drawn
    rng = random.Random(seed)
    clock = HandClock(timeline.scheduled - 20 * MIN)
    async with TimelineFootballData(clock.now, token=TOKEN, quota_per_minute=BUDGET) as fd:
        fd.add(timeline)
        span = timeline.finish - timeline.kickoff
        fd.stale_once(timeline.kickoff + span * stale_at, timedelta(minutes=rng.uniform(1, 3)))
        store = await Store.open(tmp_path / f"run-{timeline.id}.db")
        client = FootballDataClient(TOKEN, fd.url, max_requests_per_minute=BUDGET)
        feed = FootballDataFeed(client, ["WC"], max_requests_per_minute=BUDGET)
        try:
            engine = LiveEngine(store, feed, clock, on_alerts=lambda: None)
            await engine.tick()  # the schedule: Belgium becomes known
            chat = await store.ensure_chat("test", 1, "private", None, "UTC")
            belgium = next(t for t in await store.teams() if t.name == "Belgium")
            await store.follow(chat.id, "team", belgium.id, clock.now())
            await play(engine.tick, clock, timeline.finish + 3 * MIN, jitter=5.0, rng=rng)
            texts = await ledger_texts(store, chat.id)
        finally:
            await feed.aclose()
            await store.close()
    assert fd.stale_served == 1
    judge(timeline, texts)
    assert not any("disallowed" in t for t in texts), texts
