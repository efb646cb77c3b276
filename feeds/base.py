"""What the live engine needs from any source of match data."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from feeds.model import MatchState


class FeedError(Exception):
    """A feed could not answer; the bot keeps serving from the store and retries later."""


class FeedDataError(FeedError, ValueError):
    """A feed or file answered with data we cannot use (malformed, missing fields)."""


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll learnt, and when the feed wants to be asked again (UTC)."""

    states: list[MatchState]
    next_poll_at: datetime
    # False when nothing was fetched (not due, budget spent, failed): the engine counts an
    # observation gap from the last poll that did look at the world.
    observed: bool = True


class Feed(Protocol):
    """A source of match states, asked on the virtual clock by the live engine.

    `watched` holds the keys of matches some chat follows that are live or about to start,
    so a quota-limited feed can poll fast only while it matters. A feed returns only states
    it knows as of `now` (a replay must never reveal the future).
    """

    name: str

    async def poll(self, now: datetime, watched: Collection[str]) -> PollResult: ...

    async def refresh(self, now: datetime, keys: Collection[str]) -> list[MatchState]:
        """These matches one by one (stuck "in play" or gone from the polled window)."""
        ...

    async def aclose(self) -> None: ...
