"""The API-Football client against the fake v3 server over real HTTP on 127.0.0.1: the key
only in its header, the ``errors`` envelope, 429 and 5xx, and both quotas."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from feeds.api_football import (
    ApiFootballAuthError,
    ApiFootballClient,
    ApiFootballConnectionError,
    ApiFootballDailyLimit,
    ApiFootballDataError,
    ApiFootballRateLimited,
    ApiFootballRequestError,
    ApiFootballServerError,
    ApiFootballTimeout,
)
from feeds.model import Status
from tests.api_football_timelines import goal, phases
from tests.fake_api_football import FakeApiFootball, Script, Team

KEY = "af-secret-key-3f9c1d"
KICKOFF = datetime(2026, 6, 14, 18, 0, tzinfo=UTC)
MEX, KOR = Team("Mexico", 16), Team("South Korea", 17)


class Clock:
    """One virtual instant for both the fake and the client: wall time and a monotonic
    reading derived from it, so per-minute windows follow the virtual clock too."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._epoch = start

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - self._epoch).total_seconds() + 1_000.0

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock(KICKOFF + timedelta(minutes=30))


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeApiFootball]:
    server = FakeApiFootball(KEY, clock=clock.wall, monotonic=clock.monotonic)
    script = Script(1001, KICKOFF, MEX, KOR)
    script.steps += [*phases(), goal(script, 1, 23, "Raúl Jiménez", assist="Hirving Lozano")]
    server.add(script, Script(1002, KICKOFF + timedelta(days=1), KOR, MEX))
    async with server:
        yield server


@pytest.fixture
async def client(fake: FakeApiFootball, clock: Clock) -> AsyncIterator[ApiFootballClient]:
    c = ApiFootballClient(KEY, fake.url, monotonic=clock.monotonic, utcnow=clock.wall)
    try:
        yield c
    finally:
        await c.aclose()


async def test_fixtures_by_league_and_by_ids_with_events(
    client: ApiFootballClient, fake: FakeApiFootball
) -> None:
    listed = await client.fixtures(1, 2026, KICKOFF.date(), KICKOFF.date() + timedelta(days=2))
    assert [f.id for f in listed] == [1001, 1002]
    assert listed[0].state.score == (1, 0) and listed[0].state.goals == ()  # lists: no events
    (live,) = await client.fixtures_by_ids([1001])
    assert live.state.status is Status.LIVE and live.state.minute == 30
    assert [(g.scorer, g.clock) for g in live.state.goals] == [("Raúl Jiménez", "23'")]
    assert live.state.goals[0].assist == "Hirving Lozano"
    assert fake.requests[-1].query == {"ids": "1001", "timezone": "UTC"}
    assert all(r.keyed and KEY not in str(r.query) for r in fake.requests)


async def test_both_quotas_are_read_and_estimated_between_answers(
    client: ApiFootballClient, fake: FakeApiFootball
) -> None:
    assert client.daily_remaining() is None
    await client.fixtures_by_ids([1001])
    assert client.quota.daily_limit == 100 and client.daily_remaining() == 99
    assert client.budget.per_minute == 10
    assert client.budget.quota.requests_available_minute == 9
    fake.fail_next(503)  # an answer with headers but without a fixture: still counted
    with pytest.raises(ApiFootballServerError):
        await client.fixtures_by_ids([1001])
    assert client.requests_made == 2


async def test_a_spent_day_is_an_error_and_then_refused_locally(
    client: ApiFootballClient, fake: FakeApiFootball, clock: Clock
) -> None:
    fake.daily_used = fake.daily_limit
    with pytest.raises(ApiFootballDailyLimit) as caught:
        await client.fixtures_by_ids([1001])
    midnight = datetime(2026, 6, 15, tzinfo=UTC)
    assert caught.value.retry_after == (midnight - clock.now).total_seconds()
    asked = len(fake.requests)
    with pytest.raises(ApiFootballDailyLimit, match="refused before sending"):
        await client.fixtures_by_ids([1001])
    assert len(fake.requests) == asked  # nothing sent
    clock.now = midnight + timedelta(minutes=1)  # the quota resets at midnight UTC
    assert client.daily_remaining() == 100
    await client.fixtures_by_ids([1001])


async def test_the_minute_is_kept_locally_and_a_429_blocks_until_it_passes(
    client: ApiFootballClient, fake: FakeApiFootball, clock: Clock
) -> None:
    for _ in range(10):
        await client.fixtures_by_ids([1001])
    with pytest.raises(ApiFootballRateLimited, match="this minute") as caught:
        await client.fixtures_by_ids([1001])
    assert caught.value.status is None and 0 < caught.value.retry_after <= 60
    assert len(fake.requests) == 10
    clock.advance(seconds=61)
    fake.minute_limit = 0  # the server is stricter than it said: it answers 429
    with pytest.raises(ApiFootballRateLimited) as caught:
        await client.fixtures_by_ids([1001])
    assert caught.value.status == 429 and caught.value.retry_after == 60
    assert client.seconds_until_slot() == 60  # blocked for the server's minute


@pytest.mark.parametrize(
    ("status", "errors", "raised"),
    [
        (200, {"token": "Error/Missing application key."}, ApiFootballAuthError),
        (401, None, ApiFootballAuthError),
        (200, {"ids": "Maximum of 20 ids allowed."}, ApiFootballRequestError),
        (200, {"rateLimit": "Too many requests."}, ApiFootballRateLimited),
        (200, {"requests": "You have reached the limit for the day"}, ApiFootballDailyLimit),
        (500, None, ApiFootballServerError),
        (502, None, ApiFootballServerError),
    ],
)
async def test_the_error_envelope_and_statuses_map_to_exceptions(
    client: ApiFootballClient,
    fake: FakeApiFootball,
    status: int,
    errors: dict[str, str] | None,
    raised: type[Exception],
) -> None:
    fake.fail_next(status, errors)
    with pytest.raises(raised) as caught:
        await client.fixtures_by_ids([1001])
    assert KEY not in str(caught.value)


async def test_a_wrong_key_is_an_auth_error_that_never_shows_the_key(
    fake: FakeApiFootball, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-key-77aa"
    client = ApiFootballClient(wrong, fake.url, monotonic=clock.monotonic, utcnow=clock.wall)
    try:
        with pytest.raises(ApiFootballAuthError, match="token") as caught:
            await client.fixtures(1, 2026, KICKOFF.date(), KICKOFF.date())
    finally:
        await client.aclose()
    assert wrong not in str(caught.value) and wrong not in repr(client)
    assert wrong not in caplog.text and fake.requests[-1].keyed is False


async def test_a_body_that_is_not_json_or_not_an_envelope_is_a_data_error(
    client: ApiFootballClient, fake: FakeApiFootball
) -> None:
    fake.fail_next(200, raw=b'{"response": [{"fixture": ')
    with pytest.raises(ApiFootballDataError, match="not JSON"):
        await client.fixtures_by_ids([1001])
    fake.fail_next(200, raw=b'{"errors": [], "response": {"oops": 1}}')
    with pytest.raises(ApiFootballDataError, match="no 'response' list"):
        await client.fixtures_by_ids([1001])


async def test_a_malformed_fixture_is_skipped_not_fatal(
    client: ApiFootballClient, fake: FakeApiFootball
) -> None:
    fake.fail_next(
        200,
        raw=b'{"errors": [], "response": [{"fixture": {"id": 5, "status": {"short": "XX"}}}]}',
    )
    assert await client.fixtures_by_ids([1001, 5]) == []


async def test_more_than_twenty_ids_are_refused_before_sending(
    client: ApiFootballClient, fake: FakeApiFootball
) -> None:
    with pytest.raises(ValueError, match="at most 20"):
        await client.fixtures_by_ids(list(range(1, 22)))
    assert fake.requests == [] and client.requests_made == 0


async def test_unreachable_and_silent_servers_map_to_their_errors(clock: Clock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ApiFootballClient(KEY, f"http://127.0.0.1:{port}", utcnow=clock.wall)
    with pytest.raises(ApiFootballConnectionError) as caught:
        await client.fixtures_by_ids([1])
    assert KEY not in str(caught.value)
    await client.aclose()

    accepted = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # never answers; the client's timeout decides
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = ApiFootballClient(KEY, f"http://127.0.0.1:{port}", timeout=0.2, utcnow=clock.wall)
    try:
        with pytest.raises(ApiFootballTimeout):
            await client.fixtures_by_ids([1])
        assert accepted.is_set()
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
