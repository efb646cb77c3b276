"""The API-Football feed and its day planner: live polling only for followed matches in
play, the daily budget spread over the matches still to come and never exceeded."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime, timedelta

import pytest

from feeds.api_football import ApiFootballClient, ApiFootballFeed, DayPlanner
from feeds.model import MatchState, Status, TeamRef
from tests.api_football_timelines import card, goal, phases
from tests.fake_api_football import FakeApiFootball, Script, Team
from tests.test_api_football_client import Clock

KEY = "af-feed-key-91be0"
DAY = datetime(2026, 6, 20, tzinfo=UTC)
WATCH_LEAD = timedelta(minutes=15)  # as the live engine asks


def state(key: str, kickoff: datetime, status: Status = Status.SCHEDULED) -> MatchState:
    return MatchState(key, "World Cup", "Group stage", kickoff, TeamRef("A"), TeamRef("B"), status)


# --------------------------------------------------------------------------- the planner


def test_overlapping_matches_cost_once_and_more_than_twenty_cost_twice() -> None:
    planner = DayPlanner()
    now = DAY + timedelta(hours=8)
    two = [state("a", DAY + timedelta(hours=12)), state("b", DAY + timedelta(hours=13))]
    assert planner.plan(now, two, 100).live_minutes == pytest.approx(180)
    many = [state(f"m{i}", DAY + timedelta(hours=12)) for i in range(25)]
    assert planner.plan(now, many, 100).live_minutes == pytest.approx(240)


def test_the_budget_is_spread_and_says_when_it_will_not_cover_the_day() -> None:
    planner = DayPlanner(reserve=2)
    now = DAY + timedelta(hours=8)
    one = [state("a", DAY + timedelta(hours=12))]
    plan = planner.plan(now, one, 100, held_back=1)
    assert plan.covered and plan.interval == timedelta(minutes=120 / 97)
    ten = [state(f"m{i}", DAY + timedelta(hours=10 + i)) for i in range(10)]
    plan = planner.plan(now, ten, 100)
    assert not plan.covered and plan.interval > timedelta(minutes=5)
    assert "follow fewer matches" in plan.note and "10 followed matches" in plan.note
    spent = planner.plan(now, ten, 2)
    assert spent.interval is None and "no live updates until the reset" in spent.note


def test_matches_after_the_daily_reset_are_tomorrows_budget() -> None:
    planner = DayPlanner()
    now = DAY + timedelta(hours=22)
    late = [state("a", DAY + timedelta(hours=23)), state("b", DAY + timedelta(hours=25))]
    plan = planner.plan(now, late, 50)
    assert plan.matches == 1 and plan.live_minutes == pytest.approx(60)


def test_finished_matches_cost_nothing_and_a_late_one_runs_on() -> None:
    planner = DayPlanner()
    now = DAY + timedelta(hours=15)
    done = state("a", DAY + timedelta(hours=12), Status.FINISHED)
    late = state("b", DAY + timedelta(hours=12), Status.EXTRA_TIME)
    assert planner.window(done, now) is None
    assert planner.window(late, now) == (now, now + timedelta(minutes=15))


# --------------------------------------------------------------------------- the feed


class World:
    """A matchday on the virtual clock: the fake, a client and the feed sharing one clock,
    and what the store would call watched (followed, in play or about to start)."""

    def __init__(self, fake: FakeApiFootball, clock: Clock, followed: Collection[str]) -> None:
        self.fake, self.clock, self.followed = fake, clock, set(followed)
        self.client = ApiFootballClient(
            KEY, fake.url, monotonic=clock.monotonic, utcnow=clock.wall
        )
        self.feed = ApiFootballFeed(self.client, [(1, 2026)], followed=self._followed)
        self.states: dict[str, MatchState] = {}

    async def _followed(self, now: datetime, until: datetime) -> list[str]:
        return [k for k in self.followed if (s := self.states.get(k)) and s.kickoff < until]

    def watched(self) -> list[str]:
        now = self.clock.now
        return [
            k for k in self.followed if (s := self.states.get(k)) is not None
            and (s.status.in_play or (s.status is Status.SCHEDULED and
                                      now - timedelta(hours=3) <= s.kickoff <= now + WATCH_LEAD))
        ]  # fmt: skip

    async def run_until(self, end: datetime) -> int:
        polls = 0
        while self.clock.now < end:
            result = await self.feed.poll(self.clock.now, self.watched())
            self.states.update({s.key: s for s in result.states})
            assert result.next_poll_at > self.clock.now
            self.clock.now = result.next_poll_at
            polls += 1
        return polls


def matchday(fake: FakeApiFootball, count: int, first: datetime) -> list[Script]:
    """`count` matches from `first`, kick-offs 70 minutes apart, each with a goal and a red."""
    scripts = []
    for n in range(count):
        home, away = Team(f"Home {n}", 100 + n), Team(f"Away {n}", 200 + n)
        s = Script(3000 + n, first + timedelta(minutes=70 * n), home, away)
        s.steps += [*phases(), goal(s, 1, 20, f"Scorer {n}"), card(s, 2, 70, f"Red {n}")]
        scripts.append(s)
    fake.add(*scripts)
    return scripts


@pytest.fixture
def clock() -> Clock:
    return Clock(DAY + timedelta(hours=6))


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeApiFootball]:
    async with FakeApiFootball(KEY, clock=clock.wall, monotonic=clock.monotonic) as server:
        yield server


async def test_a_matchday_of_ten_followed_matches_never_exceeds_the_daily_budget(
    fake: FakeApiFootball, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scripts = matchday(fake, 12, DAY + timedelta(hours=10))
    followed = {f"af:{s.id}" for s in scripts[:10]}
    world = World(fake, clock, followed)
    try:
        await world.run_until(DAY + timedelta(hours=23, minutes=59))
    finally:
        await world.feed.aclose()
    assert len(fake.answered()) <= fake.daily_limit
    assert not [r for r in fake.requests if r.errors or r.status != 200]
    assert world.client.daily_remaining() is not None and world.client.daily_remaining() >= 0
    for key in followed:  # every followed match was seen to the end, with its goal
        final = world.states[key]
        assert final.status is Status.FINISHED and final.score == (1, 0)
        assert [g.scorer for g in final.goals] == [f"Scorer {int(key[3:]) - 3000}"]
    polled = {i for r in fake.requests if "ids" in r.query for i in r.query["ids"].split("-")}
    assert polled == {key[3:] for key in followed}  # unfollowed fixtures never polled live
    assert "follow fewer matches" in caplog.text  # the operator is told, once per change
    assert caplog.text.count("API-Football budget:") <= 3
    assert KEY not in caplog.text


async def test_a_plentiful_plan_polls_every_thirty_seconds(
    fake: FakeApiFootball, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.daily_limit = 7500  # the Pro plan
    (script,) = matchday(fake, 1, DAY + timedelta(hours=12))
    world = World(fake, clock, {f"af:{script.id}"})
    try:
        await world.run_until(DAY + timedelta(hours=12, minutes=30))
    finally:
        await world.feed.aclose()
    assert world.feed.plan is not None and world.feed.plan.covered
    live = [r.at for r in fake.requests if "ids" in r.query]
    assert live and all(b - a == timedelta(seconds=30) for a, b in itertools.pairwise(live))
    assert "API-Football budget:" not in caplog.text


async def test_twenty_five_live_matches_take_two_requests_a_poll(
    fake: FakeApiFootball, clock: Clock
) -> None:
    scripts = [Script(4000 + n, DAY + timedelta(hours=12), Team(f"H{n}", n), Team(f"A{n}", 50 + n))
               for n in range(25)]  # fmt: skip
    for s in scripts:
        s.steps += phases()
    fake.add(*scripts)
    world = World(fake, clock, {f"af:{s.id}" for s in scripts})
    try:
        await world.run_until(DAY + timedelta(hours=12, minutes=5))
    finally:
        await world.feed.aclose()
    batches = [r.query["ids"].split("-") for r in fake.requests if "ids" in r.query]
    assert [len(b) for b in batches[:2]] == [20, 5]


async def test_failures_never_escape_and_each_waits_its_own_way(
    fake: FakeApiFootball, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    matchday(fake, 1, DAY + timedelta(hours=12))
    world = World(fake, clock, set())
    feed = world.feed
    try:
        fake.fail_next(200, {"requests": "You have reached the request limit for the day"})
        result = await feed.poll(clock.now, [])
        assert result.states == [] and result.next_poll_at >= DAY + timedelta(days=1)
        clock.now = DAY + timedelta(days=1, minutes=1)  # the reset: the schedule comes
        (result,) = (await feed.poll(clock.now, [])).states  # yesterday's, now finished
        assert result.status is Status.FINISHED
        assert fake.requests[-1].query["from"] == "2026-06-20"
        clock.now += timedelta(days=1)
        fake.fail_next(429, {"rateLimit": "Too many requests."})
        result = await feed.poll(clock.now, [])
        assert timedelta(seconds=60) <= result.next_poll_at - clock.now <= timedelta(seconds=61)
        clock.now += timedelta(minutes=2)
        fake.fail_next(200, {"token": "Error/Missing application key."})
        result = await feed.poll(clock.now, [])  # failures back off: 30 s, 60 s, 120 s ±20%
        assert timedelta(seconds=24) <= result.next_poll_at - clock.now <= timedelta(seconds=36)
        assert "check API_FOOTBALL_KEY" in caplog.text
        clock.now = result.next_poll_at
        fake.fail_next(502)
        result = await feed.poll(clock.now, [])
        assert timedelta(seconds=48) <= result.next_poll_at - clock.now <= timedelta(seconds=72)
        clock.now = result.next_poll_at
        fake.fail_next(200, raw=b"<html>oops</html>")
        result = await feed.poll(clock.now, [])
        assert timedelta(seconds=96) <= result.next_poll_at - clock.now <= timedelta(seconds=144)
        assert not result.observed
    finally:
        await feed.aclose()
    assert KEY not in caplog.text


async def test_settling_stuck_matches_only_spends_what_the_plan_leaves(
    fake: FakeApiFootball, clock: Clock
) -> None:
    scripts = matchday(fake, 10, DAY + timedelta(hours=10))
    world = World(fake, clock, {f"af:{s.id}" for s in scripts})
    try:
        result = await world.feed.poll(clock.now, [])  # the schedule
        world.states.update({s.key: s for s in result.states})
        await world.feed.poll(clock.now, [])  # nothing due: a plan with nothing spare
        asked = len(fake.requests)
        assert await world.feed.refresh(clock.now, ["af:3000", "wc2018:x"]) == []
        assert len(fake.requests) == asked
        fake.daily_limit = 7500  # a bigger plan: the next answer says so
        world.followed.clear()
        clock.advance(hours=1)
        await world.feed.poll(clock.now, [])
        settled = await world.feed.refresh(clock.now, [f"af:{s.id}" for s in scripts])
        assert len(settled) == 10 and fake.requests[-1].query["ids"].count("-") == 9
    finally:
        await world.feed.aclose()


async def test_a_match_in_play_at_start_is_asked_for_by_id_at_once(
    fake: FakeApiFootball, clock: Clock
) -> None:
    """Lists carry no events: the schedule's word on a watched match in play is replaced by
    the fixture asked for by id, so its goals come with their scorers, never without."""
    (script,) = matchday(fake, 1, DAY + timedelta(hours=5))  # in play when the bot starts
    key = f"af:{script.id}"
    world = World(fake, clock, {key})
    world.states[key] = state(key, script.kickoff, Status.LIVE)
    try:
        result = await world.feed.poll(clock.now, world.watched())
        (live,) = result.states
        assert live.goals[0].scorer == "Scorer 0"
        assert [("ids" in r.query) for r in fake.requests] == [False, True]
    finally:
        await world.feed.aclose()


async def test_a_failed_live_request_loses_nothing_the_schedule_brought(
    fake: FakeApiFootball, clock: Clock
) -> None:
    scripts = matchday(fake, 2, DAY + timedelta(hours=5))  # the first in play at start
    key = f"af:{scripts[0].id}"
    world = World(fake, clock, {key})
    world.states[key] = state(key, scripts[0].kickoff, Status.LIVE)
    try:
        fake.pass_next()
        fake.fail_next(503)
        failed = await world.feed.poll(clock.now, world.watched())
        assert failed.states == [] and not failed.observed
        clock.now = failed.next_poll_at
        result = await world.feed.poll(clock.now, world.watched())
        assert {s.key for s in result.states} == {key, f"af:{scripts[1].id}"}
        assert next(s for s in result.states if s.key == key).goals[0].scorer == "Scorer 0"
        assert ["ids" in r.query for r in fake.requests] == [False, True, True]
    finally:
        await world.feed.aclose()


async def test_a_clock_that_goes_back_starts_the_plan_afresh(
    fake: FakeApiFootball, clock: Clock
) -> None:
    (script,) = matchday(fake, 1, DAY + timedelta(hours=12))
    key = f"af:{script.id}"
    world = World(fake, clock, {key})
    fake.daily_limit = 7500
    try:
        clock.now = DAY + timedelta(hours=12, minutes=30)
        await world.feed.poll(clock.now, [key])  # the schedule, then the match by id
        assert ["ids" in r.query for r in fake.requests] == [False, True]
        clock.now = DAY + timedelta(hours=12, minutes=10)  # a new run, started earlier
        asked = len(fake.requests)
        await world.feed.poll(clock.now, [key])
        assert ["ids" in r.query for r in fake.requests[asked:]] == [True]  # not held back
    finally:
        await world.feed.aclose()


async def test_a_schedule_interrupted_half_way_keeps_what_came_and_asks_for_the_rest(
    fake: FakeApiFootball, clock: Clock
) -> None:
    (first,) = matchday(fake, 1, DAY + timedelta(hours=12))
    other = Script(5000, DAY + timedelta(hours=15), Team("Celtic", 1), Team("Rangers", 2),
                   league=179, season=2025)  # fmt: skip
    fake.add(other)
    client = ApiFootballClient(KEY, fake.url, monotonic=clock.monotonic, utcnow=clock.wall)
    feed = ApiFootballFeed(client, [(1, 2026), (179, 2025)])
    try:
        fake.pass_next()
        fake.fail_next(502)
        failed = await feed.poll(clock.now, [])
        assert failed.states == [] and not failed.observed
        clock.now = failed.next_poll_at
        result = await feed.poll(clock.now, [])
        assert {s.key for s in result.states} == {f"af:{first.id}", "af:5000"}
        assert [r.query.get("league") for r in fake.requests] == ["1", "179", "179"]
    finally:
        await feed.aclose()
