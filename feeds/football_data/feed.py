"""football-data.org v4 as the live engine's Feed, on the shared quota-aware poller.

The free tier allows 10 requests a minute for the whole token, so the feed asks for one
``/matches`` window covering every competition at a time:

* a schedule refresh (yesterday .. +9 days, one request) at start and every `schedule_every`;
* yesterday .. tomorrow every `live_every` (30 s) while a watched match is live or kicks off
  within `lead`, else every `idle_every`; yesterday too, because a match that kicked off
  before midnight UTC may still be live;
* ``/matches/{id}`` for a match the windows no longer settle (see `QuotaPoller.refresh`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from feeds.football_data.client import (
    FREE_TIER_COMPETITIONS,
    MAX_WINDOW_DAYS,
    FootballDataClient,
    _codes,
)
from feeds.football_data.errors import FootballDataNotFound
from feeds.model import MatchState
from feeds.polling import QuotaPoller

log = logging.getLogger("matchday.feeds.football_data")


class FootballDataFeed(QuotaPoller):
    """The Feed the live engine polls, spending the per-minute quota only where it matters."""

    name = "football-data"

    def __init__(
        self,
        client: FootballDataClient,
        competitions: Sequence[str] = FREE_TIER_COMPETITIONS,
        *,
        max_requests_per_minute: int = 10,
        schedule_every: timedelta = timedelta(hours=24),
        live_every: timedelta = timedelta(seconds=30),
        idle_every: timedelta = timedelta(minutes=15),
        lead: timedelta = timedelta(minutes=15),
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            client.budget,
            max_requests_per_minute=max_requests_per_minute,
            schedule_every=schedule_every,
            live_every=live_every,
            idle_every=idle_every,
            lead=lead,
            rng=rng,
        )
        self.client = client
        self.competitions = tuple(_codes(competitions))

    # ---- figures for /metrics

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    @property
    def quota_remaining(self) -> int | None:
        """Requests this minute still allows, as the last answer's header said."""
        return self.client.budget.quota.requests_available_minute

    async def _fetch_schedule(self, now: datetime) -> list[MatchState]:
        today = now.date()
        return await self.client.matches(
            date_from=today - timedelta(days=1),
            date_to=today + timedelta(days=MAX_WINDOW_DAYS - 1),
            competitions=self.competitions,
        )

    async def _fetch_live(self, now: datetime) -> list[MatchState]:
        today = now.date()
        return await self.client.matches(
            date_from=today - timedelta(days=1),
            date_to=today + timedelta(days=1),
            competitions=self.competitions,
        )

    async def _fetch_match(self, key: str) -> MatchState | None:
        prefix, _, raw = key.partition(":")
        if prefix != "fd" or not raw.isdigit():
            return None  # not ours (an imported match): nothing to settle here
        try:
            return await self.client.match(int(raw))
        except FootballDataNotFound:
            log.info("football-data: match %s is gone; left as stored", key)
            return None

    def _redact(self, text: str) -> str:
        return self.client._redact(text)

    async def aclose(self) -> None:
        """Close the client (and its HTTP connections)."""
        await self.client.aclose()
