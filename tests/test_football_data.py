"""football-data.org v4 feed against a fake v4 server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.base import FeedDataError, FeedError, PollResult
from feeds.football_data import (
    FREE_TIER_COMPETITIONS,
    FootballDataAuthError,
    FootballDataClient,
    FootballDataConnectionError,
    FootballDataDataError,
    FootballDataError,
    FootballDataFeed,
    FootballDataNotFound,
    FootballDataRateLimited,
    FootballDataServerError,
    FootballDataTimeout,
    Scorer,
    humanise_group,
    humanise_stage,
    parse_match,
)
from feeds.model import Goal, MatchState, Status, TeamRef
from tests.fake_football_data import (
    FakeFootballData,
    v4_goal,
    v4_match,
    v4_scorer,
    v4_standing,
    v4_table_row,
)

TOKEN = "fd-secret-token"
KICKOFF = datetime(2026, 6, 14, 18, 0, tzinfo=UTC)
TODAY = KICKOFF.date()
TOMORROW = TODAY + timedelta(days=1)  # v4: dateTo is exclusive
MEX = ("Mexico", "MEX")
KOR = ("Korea Republic", "KOR")


class FakeClock:
    """A monotonic clock the test moves by hand (shared by the client and the fake)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeFootballData]:
    async with FakeFootballData(token=TOKEN, clock=clock, today=TODAY) as server:
        yield server


@pytest.fixture
async def client(fake: FakeFootballData, clock: FakeClock) -> AsyncIterator[FootballDataClient]:
    c = FootballDataClient(TOKEN, fake.url, timeout=0.5, monotonic=clock)
    yield c
    await c.aclose()


def make_feed(client: FootballDataClient, **kwargs: Any) -> FootballDataFeed:
    kwargs.setdefault("rng", random.Random(7))
    return FootballDataFeed(client, kwargs.pop("competitions", ("WC",)), **kwargs)


def match_1(status: str = "TIMED", score: tuple[int, int] | None = None, **kw: Any) -> dict:
    kw.setdefault("venue", "Estadio Azteca")
    return v4_match(1, MEX, KOR, KICKOFF, status, score, **kw)


def only(result: PollResult, key: str = "fd:1") -> MatchState:
    found = [s for s in result.states if s.key == key]
    assert len(found) == 1, result
    return found[0]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v4"


def assert_no_token(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")


# --------------------------------------------------------------------------- mapping


async def test_whole_match_through_feed_polls_without_goals(
    fake: FakeFootballData, client: FootballDataClient, clock: FakeClock
) -> None:
    feed = make_feed(client)
    watched = {"fd:1"}
    now = KICKOFF - timedelta(minutes=10)

    async def step(match: dict, *, hot: bool = True) -> MatchState:
        nonlocal now
        fake.set_match(match)
        clock.advance(10)
        result = await feed.poll(now, watched)
        # fast while the watched match is near or live, idle once it is over
        interval = timedelta(seconds=30) if hot else timedelta(minutes=15)
        assert result.next_poll_at == now + interval
        now = result.next_poll_at
        return only(result)

    state = await step(match_1())
    assert state == MatchState(
        key="fd:1",
        competition="FIFA World Cup",
        stage="Group stage",
        kickoff=KICKOFF,
        home=TeamRef("Mexico", "MEX"),
        away=TeamRef("Korea Republic", "KOR"),
        status=Status.SCHEDULED,
        group="Group A",
        venue="Estadio Azteca",
    )
    first = fake.requests[0]
    assert first.query == {
        "dateFrom": (TODAY - timedelta(days=1)).isoformat(),
        "dateTo": (TODAY + timedelta(days=9)).isoformat(),
        "competitions": "WC",
    }

    state = await step(match_1("IN_PLAY", (0, 0), minute=3))
    assert (state.status, state.score, state.minute, state.goals) == (Status.LIVE, (0, 0), 3, ())
    # the fast loop asks one window around today, all competitions in one request
    assert fake.requests[-1].query == {
        "dateFrom": (TODAY - timedelta(days=1)).isoformat(),
        "dateTo": (TODAY + timedelta(days=1)).isoformat(),
        "competitions": "WC",
    }

    state = await step(match_1("IN_PLAY", (1, 0), minute=23))
    assert (state.status, state.score, state.goals) == (Status.LIVE, (1, 0), ())

    state = await step(match_1("PAUSED", (1, 0), half_time=(1, 0), minute=45))
    assert (state.status, state.score, state.half_time) == (Status.HALF_TIME, (1, 0), (1, 0))

    state = await step(match_1("IN_PLAY", (1, 0), half_time=(1, 0), minute=52))
    assert (state.status, state.score, state.minute) == (Status.LIVE, (1, 0), 52)

    state = await step(match_1("FINISHED", (2, 0), half_time=(1, 0), minute=90), hot=False)
    assert state.status is Status.FINISHED
    assert (state.score, state.half_time, state.full_time, state.extra_time) == (
        (2, 0),
        (1, 0),
        None,
        None,
    )
    assert state.minute is None and state.penalties is None
    assert all(r.status == 200 for r in fake.requests)


async def test_whole_match_with_goals_including_penalty_and_own_goal(
    fake: FakeFootballData, client: FootballDataClient, clock: FakeClock
) -> None:
    lozano = v4_goal(23, MEX, "Hirving Lozano", score=(1, 0))
    son = v4_goal(45, KOR, "Son Heung-min", type="PENALTY", injury_time=2, score=(1, 1))
    # v4 names a team on an own goal; the score after it says whom it counted for
    own = v4_goal(70, KOR, "Kim Min-jae", type="OWN", score=(2, 1))
    expected_goals = [
        Goal(1, 23, 0, "Hirving Lozano"),
        Goal(2, 45, 2, "Son Heung-min", penalty=True),
        Goal(1, 70, 0, "Kim Min-jae", own_goal=True),
    ]
    script = [
        (match_1("TIMED"), Status.SCHEDULED, None, 0),
        (match_1("IN_PLAY", (0, 0), minute=2), Status.LIVE, (0, 0), 0),
        (match_1("IN_PLAY", (1, 0), minute=24, goals=[lozano]), Status.LIVE, (1, 0), 1),
        (
            match_1("PAUSED", (1, 1), half_time=(1, 1), goals=[lozano, son]),
            Status.HALF_TIME,
            (1, 1),
            2,
        ),
        (match_1("IN_PLAY", (1, 1), minute=50, goals=[lozano, son]), Status.LIVE, (1, 1), 2),
        (
            match_1("FINISHED", (2, 1), half_time=(1, 1), goals=[lozano, son, own]),
            Status.FINISHED,
            (2, 1),
            3,
        ),
    ]
    for raw, status, score, n_goals in script:
        fake.set_match(raw)
        clock.advance(7)
        [state] = await client.matches(date_from=TODAY, date_to=TOMORROW, competitions=["WC"])
        assert (state.status, state.score) == (status, score)
        assert list(state.goals) == expected_goals[:n_goals]
        clock.advance(7)
        assert await client.match(1) == state
    # goals are folded in v4 list views unless asked for
    assert all(r.unfold_goals for r in fake.requests_to("/v4/matches"))


def test_own_goal_without_running_score_uses_the_match_score() -> None:
    as_beneficiary = v4_goal(10, MEX, "Kim Min-jae", type="OWN")  # team = the team it counts for
    as_scorers_team = v4_goal(10, KOR, "Kim Min-jae", type="OWN")  # team = the scorer's side
    for goal in (as_beneficiary, as_scorers_team):
        state = parse_match(match_1("IN_PLAY", (1, 0), goals=[goal]))
        assert state.goals == (Goal(1, 10, 0, "Kim Min-jae", own_goal=True),)
    # when the score cannot tell (no score yet), the listed team is taken as the beneficiary
    state = parse_match(match_1("IN_PLAY", None, goals=[as_beneficiary]))
    assert [g.side for g in state.goals] == [1]


@pytest.mark.parametrize(
    ("kwargs", "status", "expected"),
    [
        pytest.param(
            {"score": (2, 1), "regular_time": (1, 1), "extra_time": (1, 0), "minute": 105},
            "EXTRA_TIME",
            {
                "status": Status.EXTRA_TIME,
                "score": (2, 1),
                "full_time": (1, 1),
                "extra_time": None,
                "penalties": None,
                "minute": 105,
            },
            id="extra-time-running",
        ),
        pytest.param(
            {"score": (5, 4), "regular_time": (1, 1), "extra_time": (1, 1), "penalties": (3, 2)},
            "PENALTY_SHOOTOUT",
            {
                "status": Status.PENALTIES,
                "score": (2, 2),
                "full_time": (1, 1),
                "extra_time": (2, 2),
                "penalties": (3, 2),
            },
            id="shoot-out-running",
        ),
        pytest.param(
            {"score": (6, 5), "regular_time": (1, 1), "extra_time": (1, 1), "penalties": (4, 3)},
            "FINISHED",
            {
                "status": Status.FINISHED,
                "score": (2, 2),
                "full_time": (1, 1),
                "extra_time": (2, 2),
                "penalties": (4, 3),
            },
            id="won-on-penalties",
        ),
        pytest.param(
            {"score": (5, 4), "penalties": (4, 3), "duration": "PENALTY_SHOOTOUT"},
            "FINISHED",
            {
                "status": Status.FINISHED,
                "score": (1, 1),
                "full_time": None,
                "extra_time": (1, 1),
                "penalties": (4, 3),
            },
            id="penalties-without-regular-and-extra-nodes",
        ),
        pytest.param(
            {"score": (1, 1), "penalties": (4, 2), "duration": "PENALTY_SHOOTOUT"},
            "FINISHED",
            {"score": (1, 1), "penalties": (4, 2)},
            id="inconsistent-feed-never-goes-negative",
        ),
        pytest.param(
            {"score": (3, 2), "regular_time": (2, 2), "extra_time": (1, 0)},
            "FINISHED",
            {
                "status": Status.FINISHED,
                "score": (3, 2),
                "full_time": (2, 2),
                "extra_time": (3, 2),
                "penalties": None,
            },
            id="won-in-extra-time",
        ),
    ],
)
async def test_extra_time_and_penalties(
    fake: FakeFootballData,
    client: FootballDataClient,
    kwargs: dict[str, Any],
    status: str,
    expected: dict[str, Any],
) -> None:
    score = kwargs.pop("score")
    fake.set_match(
        v4_match(
            9,
            ("Croatia", "CRO"),
            ("Japan", "JPN"),
            KICKOFF,
            status,
            score,
            half_time=(0, 1),
            stage="LAST_16",
            group=None,
            matchday=None,
            **kwargs,
        )
    )
    state = await client.match(9)
    assert state.stage == "Round of 16" and state.group is None and state.half_time == (0, 1)
    for field, value in expected.items():
        assert getattr(state, field) == value, field


@given(
    regular=st.tuples(st.integers(0, 6), st.integers(0, 6)),
    extra=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    pens=st.tuples(st.integers(0, 12), st.integers(0, 12)),
    with_regular=st.booleans(),
    with_extra=st.booleans(),
    finished=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_score_never_includes_the_shoot_out(
    regular: tuple[int, int],
    extra: tuple[int, int],
    pens: tuple[int, int],
    with_regular: bool,
    with_extra: bool,
    finished: bool,
) -> None:
    level = (regular[0] + extra[0], regular[1] + extra[1])
    full = (level[0] + pens[0], level[1] + pens[1])  # v4: fullTime includes the shoot-out
    raw = v4_match(
        3,
        MEX,
        KOR,
        KICKOFF,
        "FINISHED" if finished else "PENALTY_SHOOTOUT",
        full,
        regular_time=regular if with_regular else None,
        extra_time=extra if with_extra else None,
        penalties=pens,
        duration="PENALTY_SHOOTOUT",
    )
    state = parse_match(raw)
    assert state.score == level
    assert state.penalties == pens
    assert state.extra_time == level
    assert state.status is (Status.FINISHED if finished else Status.PENALTIES)
    if with_regular:
        assert state.full_time == regular


@pytest.mark.parametrize(
    ("stage", "matchday", "expected"),
    [
        ("GROUP_STAGE", 1, "Group stage"),
        ("ROUND_OF_16", None, "Round of 16"),
        ("LAST_16", None, "Round of 16"),
        ("QUARTER_FINALS", None, "Quarter-finals"),
        ("SEMI_FINALS", None, "Semi-finals"),
        ("FINAL", None, "Final"),
        ("REGULAR_SEASON", 7, "Matchday 7"),
        ("THIRD_PLACE", None, "Third place"),
        ("QUALIFICATION_ROUND_1", None, "Qualification Round 1"),
    ],
)
def test_stage_names(stage: str, matchday: int | None, expected: str) -> None:
    assert humanise_stage(stage, matchday) == expected


def test_group_names_and_undecided_teams() -> None:
    assert humanise_group("GROUP_A") == "Group A"
    assert humanise_group("Group H") == "Group H"
    assert humanise_group(None) is None
    raw = v4_match(
        64,
        {"id": None, "name": None, "tla": None},
        {"id": None, "name": None, "tla": None},
        KICKOFF,
        "TIMED",
        stage="FINAL",
        group=None,
        competition="WC",
    )
    state = parse_match(raw)
    assert (state.home, state.away, state.stage) == (TeamRef("TBD"), TeamRef("TBD"), "Final")


async def test_malformed_match_in_a_list_is_skipped(
    fake: FakeFootballData, client: FootballDataClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.set_match(match_1("IN_PLAY", (0, 0)))
    broken = v4_match(2, ("Spain", "ESP"), ("Cape Verde", "CPV"), KICKOFF, "IN_PLAY", (0, 0))
    broken["status"] = "SOMETHING_NEW"
    fake.set_match(broken)
    states = await client.matches(date_from=TODAY, date_to=TOMORROW, competitions=["WC"])
    assert [s.key for s in states] == ["fd:1"]
    assert "SOMETHING_NEW" in caplog.text


async def test_postponed_match_and_kickoff_change_show_up(
    fake: FakeFootballData, client: FootballDataClient, clock: FakeClock
) -> None:
    now = KICKOFF - timedelta(hours=6)
    later_today = v4_match(5, ("Spain", "ESP"), ("Uruguay", "URU"), KICKOFF, "TIMED")
    next_week = v4_match(6, ("Brazil", "BRA"), ("Morocco", "MAR"), KICKOFF + timedelta(days=4))
    fake.set_match(later_today)
    fake.set_match(next_week)
    feed = make_feed(client)

    first = await feed.poll(now, set())
    assert {s.key for s in first.states} == {"fd:5", "fd:6"}
    assert first.next_poll_at == now + timedelta(minutes=15)  # nothing watched: idle

    moved = KICKOFF + timedelta(hours=2)
    fake.set_match({**later_today, "utcDate": moved.strftime("%Y-%m-%dT%H:%M:%SZ")})
    clock.advance(5)
    now = first.next_poll_at
    second = await feed.poll(now, set())
    assert only(second, "fd:5").kickoff == moved

    fake.set_match({**later_today, "status": "POSTPONED"})
    clock.advance(5)
    now = second.next_poll_at
    third = await feed.poll(now, set())
    state = only(third, "fd:5")
    assert (state.status, state.score) == (Status.POSTPONED, None)
    # next week's match is outside the idle window: it changes on the next schedule refresh
    assert "fd:6" not in {s.key for s in third.states}

    fake.set_match({**next_week, "utcDate": "2026-06-19T20:00:00Z"})
    clock.advance(5)
    refreshed = await feed.poll(now + timedelta(hours=24), set())
    assert only(refreshed, "fd:6").kickoff == datetime(2026, 6, 19, 20, 0, tzinfo=UTC)
    assert fake.requests[-1].query["dateTo"] == (TODAY + timedelta(days=10)).isoformat()


# --------------------------------------------------------------------------- the feed's schedule


async def test_feed_polls_only_what_matters(
    fake: FakeFootballData, client: FootballDataClient, clock: FakeClock
) -> None:
    t0 = KICKOFF - timedelta(minutes=25)
    fake.set_match(match_1())  # kicks off at t0 + 25 min
    fake.set_match(
        v4_match(
            2,
            ("Chelsea FC", "CHE"),
            ("PSG", "PSG"),
            KICKOFF + timedelta(days=4),
            competition="CL",
            stage="FINAL",
            group=None,
        )
    )
    feed = make_feed(client, competitions=("WC", "CL"))

    result = await feed.poll(t0, set())  # start: schedule refresh
    assert len(fake.requests) == 1 and fake.requests[0].query["competitions"] == "WC,CL"
    assert result.next_poll_at == t0 + timedelta(minutes=15)

    clock.advance(1)
    result = await feed.poll(t0 + timedelta(minutes=1), set())  # nothing due: no request
    assert (result.states, len(fake.requests)) == ([], 1)

    clock.advance(1)
    result = await feed.poll(t0 + timedelta(minutes=1), {"fd:1"})  # watched: wake at kickoff-lead
    assert len(fake.requests) == 1
    assert result.next_poll_at == KICKOFF - timedelta(minutes=15)

    for n in range(3):  # within the lead: fast loop
        clock.advance(1)
        now = KICKOFF - timedelta(minutes=15) + n * timedelta(seconds=30)
        result = await feed.poll(now, {"fd:1"})
        assert only(result).status is Status.SCHEDULED
        assert result.next_poll_at == now + timedelta(seconds=30)
    assert len(fake.requests) == 4

    clock.advance(1)
    nobody = await feed.poll(now + timedelta(seconds=30), set())  # chat unfollowed: idle again
    assert nobody.states == [] and nobody.next_poll_at == now + timedelta(minutes=15)

    clock.advance(1)
    await feed.poll(t0 + timedelta(hours=24), set())  # daily schedule refresh
    assert fake.requests[-1].query["dateFrom"] == TODAY.isoformat()
    assert fake.requests[-1].query["dateTo"] == (TODAY + timedelta(days=10)).isoformat()

    clock.advance(1)
    before = len(fake.requests)
    restarted = await feed.poll(t0, set())  # the bot's clock went back: a new replay
    assert len(fake.requests) == before + 1 and len(restarted.states) == 2
    assert fake.requests[-1].query["dateFrom"] == (TODAY - timedelta(days=1)).isoformat()


async def test_feed_never_exceeds_ten_requests_a_minute(
    fake: FakeFootballData, client: FootballDataClient, clock: FakeClock
) -> None:
    fake.set_match(match_1("IN_PLAY", (0, 0), minute=10))
    feed = make_feed(client, live_every=timedelta(seconds=1))
    now = KICKOFF + timedelta(minutes=10)
    seen_states = 0
    for i in range(300):  # five real minutes, polled every real second
        result = await feed.poll(now, {"fd:1"})
        seen_states += bool(result.states)
        assert result.next_poll_at > now
        now += timedelta(seconds=1 if i % 2 else 7)  # the bot's clock may run fast (replay)
        clock.advance(1.0)
    assert fake.max_in_window(60.0) <= 10
    assert all(r.status == 200 for r in fake.requests)
    assert 45 <= len(fake.requests) <= 51 and seen_states == len(fake.requests)
    assert client.requests_made == len(fake.requests)


async def test_feed_obeys_the_servers_quota_headers(clock: FakeClock) -> None:
    """Another program spends the same token: the server allows only 4 a minute."""
    async with FakeFootballData(token=TOKEN, clock=clock, today=TODAY, quota_per_minute=4) as fake:
        fake.set_match(match_1("IN_PLAY", (0, 0), minute=10))
        client = FootballDataClient(TOKEN, fake.url, timeout=0.5, monotonic=clock)
        feed = make_feed(client, live_every=timedelta(seconds=1))
        now = KICKOFF + timedelta(minutes=10)
        for _ in range(180):
            await feed.poll(now, {"fd:1"})
            now += timedelta(seconds=1)
            clock.advance(1.0)
        await client.aclose()
    assert fake.max_in_window(60.0) <= 4
    assert [r.status for r in fake.requests if r.status != 200] == []
    assert len(fake.requests) >= 9


async def test_feed_backs_off_on_429_as_told(
    fake: FakeFootballData, client: FootballDataClient, clock: FakeClock
) -> None:
    fake.set_match(match_1("IN_PLAY", (0, 0), minute=10))
    feed = make_feed(client)
    now = KICKOFF + timedelta(minutes=10)
    fake.fail_next(429, retry_after=42)
    result = await feed.poll(now, {"fd:1"})
    assert result.states == []
    assert 42 <= (result.next_poll_at - now).total_seconds() <= 43
    assert fake.requests[-1].status == 429

    # the bot's clock jumps past the retry time, but no real time has passed: no request
    later = result.next_poll_at + timedelta(seconds=5)
    result = await feed.poll(later, {"fd:1"})
    assert result.states == [] and len(fake.requests) == 1
    assert 41 <= (result.next_poll_at - later).total_seconds() <= 42

    clock.advance(42)
    result = await feed.poll(result.next_poll_at, {"fd:1"})
    assert only(result).status is Status.LIVE and len(fake.requests) == 2


async def test_client_reads_quota_headers(
    fake: FakeFootballData, client: FootballDataClient, clock: FakeClock
) -> None:
    await client.matches(date_from=TODAY, date_to=TOMORROW, competitions=FREE_TIER_COMPETITIONS)
    assert client.quota.requests_available_minute == 9
    assert client.quota.reset_seconds == 60.0
    assert client.quota.updated_at == clock()
    assert (client.requests_made, client.recent_requests()) == (1, 1)
    assert fake.requests[0].query["competitions"] == ",".join(FREE_TIER_COMPETITIONS)


async def test_client_refuses_locally_past_its_own_budget(
    fake: FakeFootballData, clock: FakeClock
) -> None:
    client = FootballDataClient(TOKEN, fake.url, monotonic=clock, max_requests_per_minute=2)
    for _ in range(2):
        await client.matches(date_from=TODAY, date_to=TOMORROW, competitions=["WC"])
    with pytest.raises(FootballDataRateLimited) as caught:
        await client.matches(date_from=TODAY, date_to=TOMORROW, competitions=["WC"])
    assert caught.value.status is None and 59 <= caught.value.retry_after <= 60
    assert len(fake.requests) == 2
    clock.advance(60)
    await client.matches(date_from=TODAY, date_to=TOMORROW, competitions=["WC"])
    await client.aclose()


LIMIT_MESSAGE = "You reached your request limit. Wait 13 seconds."


async def test_retry_after_header_and_message_are_understood() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"}),
            httpx.Response(429, json={"message": LIMIT_MESSAGE}),
        ]
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: next(answers)))
    client = FootballDataClient(TOKEN, "https://fd.invalid/v4", client=http)
    for expected in (7.0, 13.0):
        with pytest.raises(FootballDataRateLimited) as caught:
            await client.match(1)
        assert caught.value.retry_after == expected
    await client.aclose()
    await http.aclose()


# --------------------------------------------------------------------------- errors


def _fail(status: int) -> Callable[[FakeFootballData], None]:
    return lambda fake: fake.fail_next(status, message=f"token {TOKEN} is not welcome here")


FAILURES: list[Any] = [
    pytest.param(_fail(401), FootballDataAuthError, id="401"),
    pytest.param(_fail(403), FootballDataAuthError, id="403"),
    pytest.param(_fail(404), FootballDataNotFound, id="404"),
    pytest.param(_fail(500), FootballDataServerError, id="500"),
    pytest.param(_fail(503), FootballDataServerError, id="503"),
    pytest.param(lambda fake: fake.delay_next(0.6), FootballDataTimeout, id="timeout"),
    pytest.param(lambda fake: fake.malformed_next(), FootballDataDataError, id="malformed-json"),
]


@pytest.mark.parametrize(("script", "error"), FAILURES)
async def test_client_raises_the_right_error(
    fake: FakeFootballData,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    script: Callable[[FakeFootballData], None],
    error: type[Exception],
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.set_match(match_1())
    client = FootballDataClient(TOKEN, fake.url, timeout=0.2, monotonic=clock)
    script(fake)
    with pytest.raises(error) as caught:
        await client.matches(date_from=TODAY, date_to=TOMORROW, competitions=["WC"])
    assert isinstance(caught.value, FootballDataError) and isinstance(caught.value, FeedError)
    assert_no_token(caplog, str(caught.value), repr(caught.value))
    if error is FootballDataDataError:
        assert isinstance(caught.value, FeedDataError)  # what the rest of the bot catches
    elif error is not FootballDataTimeout:
        assert "[redacted]" in str(caught.value)
    await client.aclose()


@pytest.mark.parametrize(("script", "error"), FAILURES)
async def test_feed_poll_never_raises(
    fake: FakeFootballData,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    script: Callable[[FakeFootballData], None],
    error: type[Exception],
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.set_match(match_1("IN_PLAY", (0, 0)))
    client = FootballDataClient(TOKEN, fake.url, timeout=0.2, monotonic=clock)
    feed = make_feed(client)
    now = KICKOFF + timedelta(minutes=5)
    script(fake)
    result = await feed.poll(now, {"fd:1"})
    assert result.states == []
    assert 24 <= (result.next_poll_at - now).total_seconds() <= 36  # 30 s ± 20 %
    assert error.__name__ in caplog.text
    assert_no_token(caplog)
    clock.advance(1)
    recovered = await feed.poll(result.next_poll_at, {"fd:1"})
    assert only(recovered).status is Status.LIVE
    await client.aclose()


async def test_missing_or_wrong_token_is_an_auth_error(
    fake: FakeFootballData, clock: FakeClock
) -> None:
    for token in (None, "not-the-token"):
        client = FootballDataClient(token, fake.url, monotonic=clock)
        with pytest.raises(FootballDataAuthError) as caught:
            await client.match(1)
        assert caught.value.status == 403 and "restricted" in str(caught.value)
        await client.aclose()
    assert [r.authenticated for r in fake.requests] == [False, False]


async def test_not_found_and_connection_refused(
    client: FootballDataClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(FootballDataNotFound):
        await client.match(424242)
    with pytest.raises(FootballDataNotFound):
        await client.standings("PL")  # a competition without a table here

    refused = FootballDataClient(TOKEN, closed_port_url(), timeout=0.5, monotonic=clock)
    with pytest.raises(FootballDataConnectionError) as caught:
        await refused.match(1)
    assert_no_token(caplog, str(caught.value))
    feed = make_feed(refused)
    result = await feed.poll(KICKOFF, {"fd:1"})
    assert result.states == [] and result.next_poll_at > KICKOFF
    await refused.aclose()


async def test_backoff_doubles_to_a_cap_and_resets(
    fake: FakeFootballData, client: FootballDataClient, clock: FakeClock
) -> None:
    fake.set_match(match_1("IN_PLAY", (0, 0)))
    feed = make_feed(client)
    now = KICKOFF
    fake.fail_next(500, times=8)
    for base in (30, 60, 120, 240, 480, 900, 900, 900):
        result = await feed.poll(now, {"fd:1"})
        delay = (result.next_poll_at - now).total_seconds()
        assert base * 0.8 <= delay <= base * 1.2
        assert result.states == []
        now = result.next_poll_at
        clock.advance(61)
    result = await feed.poll(now, {"fd:1"})
    assert result.states  # recovered
    fake.fail_next(500)
    clock.advance(61)
    now = result.next_poll_at
    result = await feed.poll(now, {"fd:1"})
    assert 24 <= (result.next_poll_at - now).total_seconds() <= 36


async def test_unexpected_errors_are_contained_but_cancellation_is_not(
    client: FootballDataClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed = make_feed(client)

    async def boom(**_: Any) -> list[MatchState]:
        raise RuntimeError(f"bug while holding {TOKEN}")

    monkeypatch.setattr(client, "matches", boom)
    result = await feed.poll(KICKOFF, set())
    assert result.states == [] and result.next_poll_at > KICKOFF
    assert "RuntimeError" in caplog.text and "[redacted]" in caplog.text
    assert_no_token(caplog)

    async def cancelled(**_: Any) -> list[MatchState]:
        raise asyncio.CancelledError

    monkeypatch.setattr(client, "matches", cancelled)
    with pytest.raises(asyncio.CancelledError):
        await feed.poll(KICKOFF + timedelta(hours=1), set())


async def test_date_window_and_codes_are_checked_before_any_request(
    fake: FakeFootballData, client: FootballDataClient
) -> None:
    with pytest.raises(ValueError, match="10 days"):
        await client.matches(date_from=TODAY, date_to=TODAY + timedelta(days=11), competitions=[])
    with pytest.raises(ValueError):
        await client.matches(date_from=TODAY, date_to=TODAY - timedelta(days=1), competitions=[])
    with pytest.raises(ValueError):
        await client.matches(date_from=TODAY, date_to=TOMORROW, competitions=["W C"])
    with pytest.raises(ValueError):
        FootballDataFeed(client, ["../x"])
    assert fake.requests == []
    await client.matches(date_from=TODAY, date_to=TODAY + timedelta(days=10), competitions=[])
    assert len(fake.requests) == 1


# --------------------------------------------------------------------------- scorers, standings


async def test_scorers_parse(fake: FakeFootballData, client: FootballDataClient) -> None:
    fake.set_scorers(
        "WC",
        [
            v4_scorer("Kylian Mbappé", ("France", "FRA"), 8, assists=2, penalties=2, played=7),
            v4_scorer("Lionel Messi", ("Argentina", "ARG"), 7, penalties=4),
        ],
    )
    assert await client.scorers("wc") == [
        Scorer("Kylian Mbappé", "France", 8, penalties=2, assists=2, played_matches=7),
        Scorer("Lionel Messi", "Argentina", 7, penalties=4, assists=None),
    ]
    assert len(await client.scorers("WC", limit=1)) == 1
    assert fake.requests[-1].query == {"limit": "1"}

    fake.set_scorers("WC", [{"player": {"name": None}, "goals": 3}])
    with pytest.raises(FeedDataError):
        await client.scorers("WC")


async def test_standings_parse(fake: FakeFootballData, client: FootballDataClient) -> None:
    group_a = [
        v4_table_row(1, ("Netherlands", "NED"), 2, 1, 0, 5, 1),
        v4_table_row(2, ("Senegal", "SEN"), 2, 0, 1, 5, 4),
    ]
    group_b = [v4_table_row(1, ("England", "ENG"), 2, 1, 0, 9, 2)]
    fake.set_standings(
        "WC",
        [
            v4_standing(group_a, stage="GROUP_STAGE", group="GROUP_A"),
            v4_standing(group_b, stage="GROUP_STAGE", group="GROUP_B"),
            v4_standing(group_a, stage="GROUP_STAGE", group="GROUP_A", type="HOME"),
        ],
    )
    tables = await client.standings("WC")
    assert [(t.stage, t.group, t.title, t.kind) for t in tables] == [
        ("Group stage", "Group A", "Group A", "TOTAL"),
        ("Group stage", "Group B", "Group B", "TOTAL"),
    ]
    ned = tables[0].rows[0]
    assert (ned.position, ned.team, ned.played, ned.won, ned.draw, ned.lost) == (
        1,
        TeamRef("Netherlands", "NED"),
        3,
        2,
        1,
        0,
    )
    assert (ned.goals_for, ned.goals_against, ned.goal_difference, ned.points) == (5, 1, 4, 7)
    assert len(await client.standings("WC", kind=None)) == 3

    fake.set_standings("PL", [v4_standing([v4_table_row(1, "Arsenal FC", 1, 0, 0, 2, 0)])])
    [league] = await client.standings("PL")
    assert (league.stage, league.group, league.title) == ("Regular season", None, "Regular season")


async def test_feed_name_protocol_and_close(fake: FakeFootballData, clock: FakeClock) -> None:
    from feeds.base import Feed

    client = FootballDataClient(TOKEN, fake.url, monotonic=clock)
    feed: Feed = make_feed(client)
    assert feed.name == "football-data"
    assert TOKEN not in repr(client)
    await feed.aclose()
    with pytest.raises(RuntimeError):  # the owned httpx client is closed
        await client.match(1)
