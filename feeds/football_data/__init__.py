"""football-data.org v4: client (HTTP, budget), parsing (v4 JSON -> MatchState), tables
(scorers, standings) and feed (the live engine's Feed on the shared quota poller)."""

from feeds.football_data.client import (
    DEFAULT_BASE_URL,
    FREE_TIER_COMPETITIONS,
    MAX_WINDOW_DAYS,
    FootballDataClient,
)
from feeds.football_data.errors import (
    FootballDataAuthError,
    FootballDataConnectionError,
    FootballDataDataError,
    FootballDataError,
    FootballDataNotFound,
    FootballDataRateLimited,
    FootballDataServerError,
    FootballDataTimeout,
)
from feeds.football_data.feed import FootballDataFeed
from feeds.football_data.parsing import humanise_group, humanise_stage, parse_match
from feeds.football_data.tables import (
    Scorer,
    StandingsRow,
    StandingsTable,
    parse_scorer,
    parse_standings,
)
from feeds.quota import Quota

__all__ = [
    "DEFAULT_BASE_URL",
    "FREE_TIER_COMPETITIONS",
    "MAX_WINDOW_DAYS",
    "FootballDataAuthError",
    "FootballDataClient",
    "FootballDataConnectionError",
    "FootballDataDataError",
    "FootballDataError",
    "FootballDataFeed",
    "FootballDataNotFound",
    "FootballDataRateLimited",
    "FootballDataServerError",
    "FootballDataTimeout",
    "Quota",
    "Scorer",
    "StandingsRow",
    "StandingsTable",
    "humanise_group",
    "humanise_stage",
    "parse_match",
    "parse_scorer",
    "parse_standings",
]
