"""API-Football v3 (api-sports.io): scorers, assists, cards and VAR for live alerts.

A package in three parts, like every live source: `client` (HTTP, the error envelope, the
daily and per-minute quotas), `parsing` (v3 fixtures and events -> MatchState and
incidents) and `feed` (the Feed the live engine polls), with `planner` spreading the day's
request budget over the followed matches still to come.
"""

from feeds.api_football.client import (
    DEFAULT_BASE_URL,
    KEY_HEADER,
    MAX_IDS,
    ApiFootballClient,
    ApiQuota,
)
from feeds.api_football.errors import (
    ApiFootballAuthError,
    ApiFootballConnectionError,
    ApiFootballDailyLimit,
    ApiFootballDataError,
    ApiFootballError,
    ApiFootballRateLimited,
    ApiFootballRequestError,
    ApiFootballServerError,
    ApiFootballTimeout,
)
from feeds.api_football.feed import ApiFootballFeed
from feeds.api_football.parsing import STATUS, Fixture, fixture_id, parse_fixture
from feeds.api_football.planner import DayPlanner, Plan, next_reset

__all__ = [
    "DEFAULT_BASE_URL", "KEY_HEADER", "MAX_IDS", "STATUS", "ApiFootballAuthError",
    "ApiFootballClient", "ApiFootballConnectionError", "ApiFootballDailyLimit",
    "ApiFootballDataError", "ApiFootballError", "ApiFootballFeed", "ApiFootballRateLimited",
    "ApiFootballRequestError", "ApiFootballServerError", "ApiFootballTimeout", "ApiQuota",
    "DayPlanner", "Fixture", "Plan",
    "fixture_id", "next_reset", "parse_fixture",
]  # fmt: skip
