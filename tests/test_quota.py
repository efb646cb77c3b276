"""The per-minute budget every live feed shares, and how often it lets the feed poll live."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError
from feeds.football_data import FootballDataClient, FootballDataFeed
from feeds.quota import RequestBudget


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_our_window_and_the_servers_word_both_hold() -> None:
    ticks = Ticks()
    budget = RequestBudget(3, ticks)
    for _ in range(3):
        assert budget.seconds_until_slot() == 0
        budget.spend()
        ticks.now += 1
    assert budget.seconds_until_slot() == pytest.approx(57.0)  # the first leaves the window
    ticks.now += 58
    assert budget.seconds_until_slot() == 0
    budget.report(available=0, reset=12)  # X-Requests-Available-Minute: 0, resets in 12 s
    assert budget.seconds_until_slot() == pytest.approx(12.0)
    ticks.now += 12
    assert budget.seconds_until_slot() == 0
    budget.block(30)  # a 429
    assert budget.seconds_until_slot() == pytest.approx(30.0)


@pytest.mark.parametrize(("rate", "live_seconds"), [(10, 30), (100, 30), (2, 60), (1, 60)])
async def test_live_polls_every_30_s_when_the_rate_allows(rate: int, live_seconds: int) -> None:
    client = FootballDataClient("t", "http://127.0.0.1:9", max_requests_per_minute=rate)
    feed = FootballDataFeed(client, ["WC"], max_requests_per_minute=rate)
    try:
        assert feed.live_every.total_seconds() == live_seconds
    finally:
        await feed.aclose()


def test_football_data_rate_setting() -> None:
    assert Settings.load(env={}).football_data_rate == 10
    assert Settings.load(env={"FOOTBALL_DATA_RATE": "30"}).football_data_rate == 30
    with pytest.raises(SettingsError, match="FOOTBALL_DATA_RATE"):
        Settings.load(env={"FOOTBALL_DATA_RATE": "lots"})
    with pytest.raises(SettingsError, match="FOOTBALL_DATA_RATE"):
        Settings.load(env={"FOOTBALL_DATA_RATE": "0"})
