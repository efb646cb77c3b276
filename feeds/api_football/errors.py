"""API-Football's failures as exceptions the feed can act on.

The service answers most of its own refusals with HTTP 200 and an ``errors`` object (a wrong
key, a spent daily quota, a bad parameter), so the kind of failure is read from the
envelope as much as from the status. Each kind asks for a different reaction: wait for the
next minute, wait for tomorrow, fix the configuration, or just retry later.
"""

from __future__ import annotations

from feeds.base import FeedDataError, FeedError
from feeds.polling import RateLimited


class ApiFootballError(FeedError):
    """API-Football could not answer; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiFootballAuthError(ApiFootballError):
    """The key is missing, wrong, or suspended (``errors.token``, 401/403): retrying won't help."""


class ApiFootballRequestError(ApiFootballError):
    """The service refused the request's parameters (``errors.league``, ``errors.ids``, 4xx)."""


class ApiFootballRateLimited(ApiFootballError, RateLimited):
    """Too many requests this minute (429 or ``errors.rateLimit``), or refused locally before
    sending because the minute's budget is spent: wait `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ApiFootballDailyLimit(ApiFootballRateLimited):
    """The day's requests are spent (``errors.requests``, or refused locally at zero): nothing
    more until the quota resets at midnight UTC."""


class ApiFootballServerError(ApiFootballError):
    """5xx: the service's fault; retry later."""


class ApiFootballTimeout(ApiFootballError):
    """The request took longer than the client's timeout."""


class ApiFootballConnectionError(ApiFootballError):
    """The service could not be reached at all (DNS, refused, reset)."""


class ApiFootballDataError(ApiFootballError, FeedDataError):
    """A 200 whose body we cannot use (not JSON, no ``response`` list, a malformed fixture)."""
