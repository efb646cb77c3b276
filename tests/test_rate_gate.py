"""RateGate's per-chat pacing follows each platform's own limits."""

from __future__ import annotations

import asyncio

import pytest

from bot.delivery import STRICTEST, ChatLimits, RateGate
from bot.discord import DiscordSender
from bot.telegram import TelegramSender
from storage.store import Chat


class SteppedClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def group(platform: str) -> Chat:
    return Chat(id=1, platform=platform, external_id=-100, kind="group", title="fans",
                timezone="UTC", reminders=(), active=True)  # fmt: skip


async def sends_within_a_minute(limits: ChatLimits, platform: str, wanted: int) -> int:
    """How many of `wanted` sends, one a second, go to one group before a minute is up."""
    clock = SteppedClock()
    gate = RateGate(1000.0, monotonic=clock)
    chat = group(platform)
    for sent in range(wanted):
        try:
            await asyncio.wait_for(gate.acquire(chat, limits), timeout=0.2)
        except TimeoutError:
            return sent
        clock.now += 1.0
    return wanted


async def test_a_telegram_group_gets_twenty_a_minute() -> None:
    assert await sends_within_a_minute(TelegramSender.limits, "telegram", 30) == 20


async def test_a_discord_channel_is_not_held_to_telegrams_group_cap() -> None:
    assert await sends_within_a_minute(DiscordSender.limits, "discord", 45) == 45


async def test_a_platform_that_states_no_limits_gets_the_strictest() -> None:
    assert STRICTEST == TelegramSender.limits
    assert await sends_within_a_minute(STRICTEST, "elsewhere", 30) == 20


@pytest.mark.parametrize("sender", [TelegramSender, DiscordSender])
async def test_one_message_a_second_to_one_chat(sender: type) -> None:
    clock = SteppedClock()
    gate = RateGate(1000.0, monotonic=clock)
    chat = group(sender.platform)
    await gate.acquire(chat, sender.limits)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(gate.acquire(chat, sender.limits), timeout=0.2)
    clock.now += 1.0
    await asyncio.wait_for(gate.acquire(chat, sender.limits), timeout=0.2)
