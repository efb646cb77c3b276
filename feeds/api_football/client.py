"""API-Football v3 over HTTP: one request path, its error envelope and both of its quotas.

Every request goes through `ApiFootballClient._request`, which is the only place that
knows about the key (sent as ``x-apisports-key``, never in a URL, a log line or an
exception), the ``errors`` envelope the service returns with HTTP 200, and the two quotas
every response reports:

* per day: ``x-ratelimit-requests-limit`` / ``x-ratelimit-requests-remaining`` (100 on the
  free plan, reset at midnight UTC). Spending past it gets ``errors.requests``; the client
  refuses locally at zero instead, so the budget is never overdrawn by us.
* per minute: ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` (10 on the free plan),
  kept by the `RequestBudget` every live feed shares (feeds/quota.py). Spending past it
  gets 429 (or ``errors.rateLimit``).

Quota figures are estimated between responses (last report minus requests sent since),
so a caller planning its day sees every request it has made, answered or not.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

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
from feeds.api_football.parsing import Fixture, parse_fixture
from feeds.base import FeedDataError
from feeds.quota import RequestBudget

log = logging.getLogger("matchday.feeds.api_football")

DEFAULT_BASE_URL = "https://v3.football.api-sports.io"
KEY_HEADER = "x-apisports-key"
MAX_IDS = 20  # fixtures?ids= takes at most 20 ids
FREE_PER_MINUTE = 10
_MINUTE = 60.0
_REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class ApiQuota:
    """The daily quota as the last response reported it (None: never reported); `day` is
    the UTC day of that report (the quota resets at midnight UTC). The per-minute quota is
    the shared `RequestBudget`'s (feeds/quota.py)."""

    daily_limit: int | None = None
    daily_remaining: int | None = None
    day: date | None = None


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _envelope_errors(body: Mapping[str, Any]) -> dict[str, str]:
    """``errors`` as {field: message}: v3 sends [] or {} when fine, an object otherwise
    (and, on some endpoints, a list of one-key objects)."""
    raw = body.get("errors")
    out: dict[str, str] = {}
    if isinstance(raw, Mapping):
        out = {str(k): str(v) for k, v in raw.items()}
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, Mapping):
                out.update({str(k): str(v) for k, v in item.items()})
            elif item:
                out[str(len(out))] = str(item)
    return out


class ApiFootballClient:
    """A small typed client for the v3 endpoints the feed needs; shares one quota view."""

    def __init__(
        self,
        key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
        per_minute: int = FREE_PER_MINUTE,
        monotonic: Callable[[], float] = time.monotonic,
        utcnow: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not key:
            raise ValueError("API-Football needs a key (API_FOOTBALL_KEY)")
        self._key = key
        self._base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient()
        self._timeout = timeout
        self.budget = RequestBudget(per_minute, monotonic)  # the server's limit once told
        self.utcnow = utcnow
        self.quota = ApiQuota()
        self.requests_made = 0
        self._sent_since_daily = 0

    def __repr__(self) -> str:  # never show the key
        return f"ApiFootballClient({self._base_url!r})"

    def _redact(self, text: str) -> str:
        return text.replace(self._key, _REDACTED) if self._key else text

    # ---- quotas

    def daily_remaining(self) -> int | None:
        """Requests left today: the last report minus what we sent since, or the day's
        whole limit once midnight UTC has passed since that report."""
        quota = self.quota
        if quota.daily_remaining is None:
            return None
        if quota.day is not None and self.utcnow().date() > quota.day:
            return quota.daily_limit
        return max(0, quota.daily_remaining - self._sent_since_daily)

    def seconds_until_reset(self) -> float:
        """Seconds until the daily quota resets (midnight UTC)."""
        now = self.utcnow()
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        return max(1.0, (midnight - now).total_seconds())

    def seconds_until_slot(self) -> float:
        """How long until one more request fits this minute; 0 when it fits now."""
        return self.budget.seconds_until_slot()

    def _read_quota(self, headers: httpx.Headers) -> None:
        daily_limit = _header_int(headers, "x-ratelimit-requests-limit")
        daily = _header_int(headers, "x-ratelimit-requests-remaining")
        minute_limit = _header_int(headers, "X-RateLimit-Limit")
        minute = _header_int(headers, "X-RateLimit-Remaining")
        if daily is not None:
            self._sent_since_daily = 0
            limit = daily_limit if daily_limit is not None else self.quota.daily_limit
            self.quota = ApiQuota(limit, daily, self.utcnow().date())
        if minute_limit is not None and minute_limit > 0:
            self.budget.per_minute = minute_limit  # the plan's own rate, not our guess
        self.budget.report(minute, None)  # no reset header: the minute counts from now

    # ---- the one request path

    async def _request(self, path: str, params: Mapping[str, str]) -> list[Any]:
        """GET base/path and return the envelope's ``response`` list, or raise."""
        where = "/" + path.lstrip("/")
        shown = f"API-Football GET {where}"
        left = self.daily_remaining()
        if left is not None and left <= 0:
            raise ApiFootballDailyLimit(
                f"{shown}: the day's requests are spent; refused before sending",
                retry_after=self.seconds_until_reset(), status=None,
            )  # fmt: skip
        wait = self.seconds_until_slot()
        if wait > 0:
            raise ApiFootballRateLimited(
                f"{shown}: this minute's requests are spent, wait {wait:.0f}s",
                retry_after=wait, status=None,
            )  # fmt: skip
        self.budget.spend()
        self._sent_since_daily += 1
        self.requests_made += 1
        try:
            response = await self._http.get(
                self._base_url + where,
                params=dict(params),
                headers={"Accept": "application/json", KEY_HEADER: self._key},
                timeout=self._timeout,
            )
        except httpx.TimeoutException:
            raise ApiFootballTimeout(f"{shown} timed out after {self._timeout:g}s") from None
        except httpx.TransportError as exc:
            raise ApiFootballConnectionError(
                self._redact(f"{shown} failed: {type(exc).__name__}: {exc}")
            ) from None
        self._read_quota(response.headers)
        status = response.status_code
        body: object = None
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            if status < 400:
                raise ApiFootballDataError(
                    f"{shown}: response is not JSON", status=status
                ) from None
        errors = _envelope_errors(body) if isinstance(body, Mapping) else {}
        if status >= 400 or errors:
            raise self._error(shown, status, errors)
        if not isinstance(body, Mapping) or not isinstance(body.get("response"), list):
            raise ApiFootballDataError(f"{shown}: no 'response' list", status=status)
        return body["response"]

    def _error(self, shown: str, status: int, errors: Mapping[str, str]) -> ApiFootballError:
        detail = self._redact("; ".join(f"{k}: {v}" for k, v in errors.items()))[:300]
        message = f"{shown} -> HTTP {status}" + (f": {detail}" if detail else "")
        if "requests" in errors:
            self._sent_since_daily = 0
            self.quota = ApiQuota(self.quota.daily_limit, 0, self.utcnow().date())
            wait = self.seconds_until_reset()
            return ApiFootballDailyLimit(message, retry_after=wait, status=status)
        if status == 429 or "rateLimit" in errors:
            self.budget.block(_MINUTE)
            return ApiFootballRateLimited(message, retry_after=_MINUTE, status=status)
        if "token" in errors or status in (401, 403):
            return ApiFootballAuthError(f"{message} (check API_FOOTBALL_KEY)", status=status)
        if status >= 500:
            return ApiFootballServerError(message, status=status)
        return ApiFootballRequestError(message, status=status)

    # ---- resources

    def _parse_all(self, items: Iterable[Any], what: str) -> list[Fixture]:
        """Parse every fixture; one malformed fixture is logged and skipped, not fatal."""
        out: list[Fixture] = []
        for item in items:
            try:
                out.append(parse_fixture(item))
            except FeedDataError as exc:
                log.warning("API-Football %s: skipping a malformed fixture: %s", what,
                            self._redact(str(exc)))  # fmt: skip
        return out

    async def fixtures(
        self, league: int, season: int, date_from: date, date_to: date
    ) -> list[Fixture]:
        """One league's fixtures from `date_from` to `date_to` (inclusive), one request."""
        if date_to < date_from:
            raise ValueError(f"date_to {date_to} is before date_from {date_from}")
        params = {
            "league": str(int(league)), "season": str(int(season)),
            "from": date_from.isoformat(), "to": date_to.isoformat(), "timezone": "UTC",
        }  # fmt: skip
        return self._parse_all(await self._request("/fixtures", params), "fixtures")

    async def fixtures_by_ids(self, ids: Sequence[int]) -> list[Fixture]:
        """Up to 20 fixtures by id in one request, events included (``fixtures?ids=``)."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        if len(ids) > MAX_IDS:
            raise ValueError(f"fixtures?ids= takes at most {MAX_IDS} ids, not {len(ids)}")
        if any(isinstance(i, bool) or not isinstance(i, int) or i <= 0 for i in ids):
            raise ValueError(f"fixture ids must be positive ints: {ids!r}")
        params = {"ids": "-".join(str(i) for i in ids), "timezone": "UTC"}
        return self._parse_all(await self._request("/fixtures", params), "fixtures?ids")

    async def aclose(self) -> None:
        """Close the HTTP client if we created it."""
        if self._owns_http:
            await self._http.aclose()
