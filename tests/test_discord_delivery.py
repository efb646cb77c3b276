"""Delivery to Discord channels through discord.py's real HTTP client, against the fake
Discord REST API on 127.0.0.1: Discord's buckets, 429s, 403/404, 5xx and 400, and how the
sender maps each to a delivery outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import pytest
from discord.http import HTTPClient

from bot.clock import Clock
from bot.delivery import ChatLimits, Delivery, Outcome, RateGate
from bot.discord import DiscordSender, use_api_url
from bot.discord_commands import GUILD_KIND, handle_command
from handlers.base import Button
from storage.store import Chat, Store
from tests.conftest import NOW
from tests.discord_harness import core_for
from tests.discord_harness import fast_fake as fast_fake
from tests.discord_harness import restore_discord_addresses as restore_discord_addresses
from tests.fake_discord import FakeDiscord, Fault

pytestmark = pytest.mark.usefixtures("restore_discord_addresses")


# -- delivery through discord.py's HTTP client, against the fake -----------------------------


@pytest.fixture
async def http(fast_fake: FakeDiscord) -> AsyncIterator[HTTPClient]:
    use_api_url(fast_fake.base_url)
    client = HTTPClient(asyncio.get_running_loop(), max_ratelimit_timeout=30)
    await client.static_login(fast_fake.token)
    try:
        yield client
    finally:
        await client.close()


async def seed(store: Store, channel_id: int, count: int, kind: str = GUILD_KIND) -> Chat:
    """A Discord channel with `count` goal alerts waiting in the ledger."""
    chat = await store.ensure_chat("discord", channel_id, kind, f"#{channel_id}", "UTC")
    match = await store._one("SELECT id FROM matches ORDER BY id LIMIT 1")
    assert match is not None
    async with store.transaction() as db:
        await db.execute_many(
            "INSERT INTO alerts(chat_id, match_id, event, text, created_at) VALUES (?,?,?,?,?)",
            [(chat.id, match[0], f"goal:{channel_id}:{i}",
              f"⚽ Goal {i:02d} — <b>Japan</b> &amp; friends_{i}", "2018-07-02T19:05:00Z")
             for i in range(count)],
        )  # fmt: skip
    return chat


async def statuses(store: Store, chat: Chat) -> list[str]:
    rows = await store._all("SELECT status FROM alerts WHERE chat_id = ? ORDER BY id", (chat.id,))
    return [row[0] for row in rows]


def delivery_for(store: Store, http: HTTPClient) -> Delivery:
    sender = DiscordSender(http)
    # Matchday's own per-chat spacing off, so discord.py alone keeps Discord's buckets.
    sender.limits = ChatLimits(interval=0.0, group_per_minute=None)
    return Delivery(store, {"discord": sender}, Clock(NOW, 1.0), RateGate(1000.0))


async def drain(delivery: Delivery, store: Store) -> None:
    """Deliver until nothing deliverable is pending (callers bound it with a timeout).

    `Delivery.drain` alone may return while a chat's next row waits behind a sent mark not
    yet written; another pass then sends it.
    """
    while True:
        await delivery.drain()
        now = delivery.clock.now().timestamp()
        if not [r for r in await store.pending_alerts()
                if r.next_attempt_at is None or r.next_attempt_at <= now]:  # fmt: skip
            return


def expected(count: int) -> list[str]:
    return [f"⚽ Goal {i:02d} — **Japan** & friends\\_{i}" for i in range(count)]


async def test_thirty_alerts_to_one_channel_keep_its_bucket(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    chat = await seed(store, 501, 30)
    delivery = delivery_for(store, http)
    async with asyncio.timeout(30):
        await drain(delivery, store)
    assert fast_fake.texts(501) == expected(30)  # all of them, in order
    # discord.py waited on X-RateLimit-* every time: the fake, which counts each bucket
    # window, never saw a sixth message in one (arrival times on a busy machine jitter, so
    # the fake's own count is the measure, not the gaps between them).
    assert fast_fake.over_limit == 0
    assert set(fast_fake.statuses(501)) == {200}
    assert await statuses(store, chat) == ["sent"] * 30
    assert fast_fake.posted[0].allowed_mentions == {"parse": []}


async def test_channels_have_their_own_buckets(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    channels = [511, 512, 513]
    for channel in channels:
        await seed(store, channel, 10)
    delivery = delivery_for(store, http)
    async with asyncio.timeout(30):
        await drain(delivery, store)
    assert fast_fake.over_limit == 0
    for channel in channels:
        assert fast_fake.texts(channel) == expected(10)
    # In parallel: each channel's first bucketful went out before any channel waited for its
    # bucket to refill, so one channel's wait holds up no other (whatever the machine's speed).
    first = [p.channel_id for p in sorted(fast_fake.posted, key=lambda p: p.time)][:15]
    assert sorted(first) == sorted(channels * 5), first


async def test_429_retry_after_is_waited_out(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    chat = await seed(store, 502, 3)
    fast_fake.fail(502, Fault(429, retry_after=0.5))
    delivery = delivery_for(store, http)
    async with asyncio.timeout(20):
        await drain(delivery, store)
    assert fast_fake.statuses(502) == [429, 200, 200, 200]
    limited, retried = [r.time for r in fast_fake.requests if r.channel_id == 502][:2]
    assert retried - limited >= 0.49
    assert fast_fake.texts(502) == expected(3)  # nothing lost, nothing twice
    assert await statuses(store, chat) == ["sent"] * 3


async def test_global_429_holds_every_channel(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    for channel in (521, 522, 523):
        await seed(store, channel, 3)
    fast_fake.fail(None, Fault(429, retry_after=0.8, is_global=True))
    delivery = delivery_for(store, http)
    async with asyncio.timeout(20):
        await drain(delivery, store)
    for channel in (521, 522, 523):
        assert fast_fake.texts(channel) == expected(3)
    (limited,) = [r for r in fast_fake.requests if r.status == 429]
    # Requests already on their way may land; nothing new starts until the limit is over.
    during = [r for r in fast_fake.requests
              if limited.time + 0.2 < r.time < limited.time + 0.75]  # fmt: skip
    assert during == []


@pytest.mark.parametrize("gone", ["forbidden", "deleted"])
async def test_403_and_404_deactivate_the_channel(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient, gone: str
) -> None:
    lost = await seed(store, 503, 4)
    fine = await seed(store, 504, 2)
    getattr(fast_fake, gone).add(503)
    delivery = delivery_for(store, http)
    async with asyncio.timeout(20):
        await drain(delivery, store)
    assert fast_fake.statuses(503) == [403 if gone == "forbidden" else 404]  # asked once
    again = await store.chat("discord", 503)
    assert again is not None and not again.active
    assert await statuses(store, lost) == ["inactive"] * 4
    assert await statuses(store, fine) == ["sent"] * 2
    # A new command from the channel brings it back, as with a blocked Telegram chat.
    await handle_command(core_for(store), channel_id=503, is_dm=False, can_manage=False,
                         text="/live", title="#503")  # fmt: skip
    back = await store.chat("discord", 503)
    assert back is not None and back.active


async def test_500_is_retried_and_400_fails_one_message(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    chat = await seed(store, 505, 3)
    fast_fake.fail(505, Fault(500), Fault(200), Fault(400))  # 500, then fine, then refused
    delivery = delivery_for(store, http)
    async with asyncio.timeout(20):
        await drain(delivery, store)
    assert fast_fake.statuses(505) == [500, 200, 400, 200]
    assert await statuses(store, chat) == ["sent", "failed", "sent"]
    assert fast_fake.texts(505) == [expected(3)[0], expected(3)[2]]


async def test_sender_posts_markdown_and_buttons(
    store: Store, fast_fake: FakeDiscord, http: HTTPClient
) -> None:
    chat = await store.ensure_chat("discord", 506, GUILD_KIND, "#506", "UTC")
    buttons = [[Button("Belgium", "/score Belgium"), Button("Japan", "/score Japan")]]
    result = await DiscordSender(http).send(chat, "<b>Which?</b> @everyone", buttons)
    assert result.outcome is Outcome.SENT and result.message_id == fast_fake.posted[0].id
    (posted,) = fast_fake.posted
    assert posted.content == "**Which?** @everyone"
    assert posted.allowed_mentions == {"parse": []}  # shown, never pinging anyone
    assert posted.custom_ids == ["/score Belgium", "/score Japan"]


class Raising:
    """An HTTP client whose send fails with `error`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def send_message(self, channel_id: int, *, params: Any) -> Any:
        raise self.error


def http_error(kind: type[discord.HTTPException], status: int, **headers: str) -> Any:
    response = SimpleNamespace(status=status, reason="x", headers=headers)
    return kind(response, {"message": "m", "code": 0})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (discord.RateLimited(120.0), Outcome.RETRY_AFTER),
        (http_error(discord.HTTPException, 429, **{"Retry-After": "7"}), Outcome.RETRY_AFTER),
        (http_error(discord.Forbidden, 403), Outcome.FORBIDDEN),
        (http_error(discord.NotFound, 404), Outcome.FORBIDDEN),
        (http_error(discord.DiscordServerError, 503), Outcome.TRANSIENT),
        (http_error(discord.HTTPException, 400), Outcome.REJECTED),
        (http_error(discord.HTTPException, 401), Outcome.UNAUTHORIZED),
        (aiohttp.ClientConnectionError("refused"), Outcome.TRANSIENT),
        (TimeoutError(), Outcome.TRANSIENT),
    ],
)
async def test_sender_maps_every_discord_error(error: BaseException, outcome: Outcome) -> None:
    chat = Chat(1, "discord", 42, GUILD_KIND, "x", "UTC", (30,), True)
    result = await DiscordSender(Raising(error)).send(chat, "hi")  # type: ignore[arg-type]
    assert result.outcome is outcome
    if outcome is Outcome.RETRY_AFTER:
        assert result.retry_after in {120.0, 7.0}
