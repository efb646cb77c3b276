"""football-data.org's failures as the bot's own exceptions (FeedError underneath)."""

from __future__ import annotations

from feeds.base import FeedDataError, FeedError
from feeds.polling import RateLimited


class FootballDataError(FeedError):
    """football-data.org could not answer; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FootballDataAuthError(FootballDataError):
    """401/403: the token is missing, wrong, or the plan does not cover the resource."""


class FootballDataNotFound(FootballDataError):
    """404: no such match or competition (also standings of a cup competition)."""


class FootballDataRateLimited(FootballDataError, RateLimited):
    """429 (or refused locally before sending): wait `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class FootballDataServerError(FootballDataError):
    """5xx: the API's fault; retry later."""


class FootballDataTimeout(FootballDataError):
    """The request took longer than the client's timeout."""


class FootballDataConnectionError(FootballDataError):
    """The API could not be reached at all (DNS, refused, reset)."""


class FootballDataDataError(FootballDataError, FeedDataError):
    """The API answered 200 with something we cannot use (bad JSON, unexpected shape)."""

