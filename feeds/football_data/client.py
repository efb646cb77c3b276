"""football-data.org v4: the HTTP client, with one request path and the token's shared budget.

The token only ever travels in the X-Auth-Token header and is scrubbed from every error
message; every response's quota headers feed the one RequestBudget of that token.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import httpx

from feeds.base import FeedDataError
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
from feeds.football_data.parsing import parse_match
from feeds.football_data.tables import Scorer, StandingsTable, parse_scorer, parse_standings
from feeds.model import MatchState
from feeds.quota import WINDOW, Quota, RequestBudget

log = logging.getLogger("matchday.feeds.football_data")

DEFAULT_BASE_URL = "https://api.football-data.org/v4"

#: Competitions the free tier (TIER_ONE) may read.
FREE_TIER_COMPETITIONS: tuple[str, ...] = (
    "WC", "CL", "BL1", "DED", "BSA", "PD", "FL1", "ELC", "PPL", "EC", "SA", "PL",
)  # fmt: skip

#: The API refuses date windows longer than this many days.
MAX_WINDOW_DAYS = 10

_CODE_RE = re.compile(r"[A-Z0-9]{2,5}")
_WAIT_RE = re.compile(r"[Ww]ait (\d+(?:\.\d+)?) ?s")
_REDACTED = "[redacted]"

def _server_message(response: httpx.Response) -> str:
    """The `message` of a v4 error body (or `error` of older ones), short."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return response.reason_phrase or ""
    if isinstance(body, Mapping):
        text = body.get("message") or body.get("error") or ""
        return str(text)[:200]
    return ""


def _header_float(headers: httpx.Headers, *names: str) -> float | None:
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            number = float(value.strip())
        except ValueError:
            continue
        if math.isfinite(number) and number >= 0:
            return number
    return None


class FootballDataClient:
    """A thin async client for football-data.org v4.

    One request per public call. The token only ever travels in the X-Auth-Token header
    and is scrubbed from every error message. The client also remembers when it sent
    recent requests and what the quota headers said, so every user of one token (the
    live feed, /scorers, /table) shares a single view of the per-minute budget.
    """

    def __init__(
        self,
        token: str | None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        max_requests_per_minute: int | None = None,
    ) -> None:
        self._token = token or None
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._owns_http = client is None
        self._http = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self.budget = RequestBudget(None, monotonic)
        self.max_requests_per_minute = max_requests_per_minute
        self.requests_made = 0

    def __repr__(self) -> str:  # never show the token
        return f"FootballDataClient(base_url={self._base_url!r}, requests={self.requests_made})"

    # ---- quota bookkeeping: one RequestBudget per token (feeds/quota.py)

    @property
    def monotonic(self) -> Callable[[], float]:
        return self.budget.monotonic

    @property
    def quota(self) -> Quota:
        return self.budget.quota

    def recent_requests(self) -> int:
        """Requests sent in the last 60 s (monotonic)."""
        return self.budget.recent()

    def seconds_until_slot(self, limit: int | None = None) -> float:
        """How long until one more request fits both our window and the server's quota."""
        return self.budget.seconds_until_slot(limit)

    def _redact(self, text: str) -> str:
        if self._token and self._token in text:
            text = text.replace(self._token, _REDACTED)
        return text

    def _read_quota(self, response: httpx.Response) -> None:
        self.budget.report(
            _header_float(response.headers, "X-Requests-Available-Minute", "X-RequestsAvailable"),
            _header_float(response.headers, "X-RequestCounter-Reset"),
        )

    # ---- the one request path

    async def _request(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """GET base_url/path and return the JSON object, or raise a FootballDataError."""
        where = "/" + path.lstrip("/")
        if self.max_requests_per_minute is not None:
            wait = self.seconds_until_slot(self.max_requests_per_minute)
            if wait > 0:
                raise FootballDataRateLimited(
                    f"football-data GET {where}: local request budget spent, wait {wait:.0f}s",
                    retry_after=wait,
                    status=None,
                )
        send_headers = {"Accept": "application/json", **(headers or {})}
        if self._token:
            send_headers["X-Auth-Token"] = self._token
        self.budget.spend()
        self.requests_made += 1
        try:
            response = await self._http.get(
                self._base_url + where,
                params=dict(params or {}),
                headers=send_headers,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise FootballDataTimeout(
                f"football-data GET {where} timed out after {self._timeout:g}s"
            ) from exc
        except httpx.TransportError as exc:
            raise FootballDataConnectionError(
                self._redact(f"football-data GET {where} failed: {type(exc).__name__}: {exc}")
            ) from exc
        self._read_quota(response)
        status = response.status_code
        if status >= 400:
            raise self._error(where, response)
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise FootballDataDataError(
                f"football-data GET {where}: response is not valid JSON", status=status
            ) from None
        if not isinstance(body, dict):
            raise FootballDataDataError(
                f"football-data GET {where}: expected a JSON object, got {type(body).__name__}",
                status=status,
            )
        return body

    def _error(self, where: str, response: httpx.Response) -> FootballDataError:
        status = response.status_code
        detail = self._redact(_server_message(response))
        message = f"football-data GET {where} -> HTTP {status}" + (f": {detail}" if detail else "")
        if status == 429:
            retry = _header_float(response.headers, "X-RequestCounter-Reset", "Retry-After")
            if retry is None:
                found = _WAIT_RE.search(detail)
                retry = float(found.group(1)) if found else WINDOW
            retry = max(retry, 1.0)
            self.budget.block(retry)
            return FootballDataRateLimited(message, retry_after=retry)
        if status in (401, 403):
            return FootballDataAuthError(message, status=status)
        if status == 404:
            return FootballDataNotFound(message, status=status)
        if status >= 500:
            return FootballDataServerError(message, status=status)
        return FootballDataError(message, status=status)

    # ---- resources

    async def matches(
        self,
        *,
        date_from: date,
        date_to: date,
        competitions: Sequence[str],
        status: Sequence[str] | None = None,
    ) -> list[MatchState]:
        """Matches of `competitions` from `date_from` to `date_to` (exclusive, v4), one request.

        A single malformed match is logged and skipped so it cannot hide the others.
        """
        start = date_from.date() if isinstance(date_from, datetime) else date_from
        end = date_to.date() if isinstance(date_to, datetime) else date_to
        if end < start:
            raise ValueError(f"date_to {end} is before date_from {start}")
        if (end - start).days > MAX_WINDOW_DAYS:
            raise ValueError(f"football-data allows at most {MAX_WINDOW_DAYS} days per request")
        params = {"dateFrom": start.isoformat(), "dateTo": end.isoformat()}
        codes = _codes(competitions)
        if codes:
            params["competitions"] = ",".join(codes)
        if status:
            params["status"] = ",".join(s.upper() for s in status)
        body = await self._request("/matches", params, headers={"X-Unfold-Goals": "true"})
        items = body.get("matches")
        if not isinstance(items, list):
            raise FootballDataDataError("football-data GET /matches: no 'matches' list")
        states: list[MatchState] = []
        for item in items:
            try:
                states.append(parse_match(item))
            except FeedDataError as exc:
                log.warning("football-data: skipping a malformed match: %s", self._redact(str(exc)))
        return states

    async def match(self, match_id: int) -> MatchState:
        """One match by id (goals unfolded when the plan includes them)."""
        if isinstance(match_id, bool) or not isinstance(match_id, int) or match_id <= 0:
            raise ValueError(f"match id must be a positive int, not {match_id!r}")
        body = await self._request(f"/matches/{match_id}")
        raw = body.get("match") if isinstance(body.get("match"), dict) else body
        return parse_match(raw)

    async def scorers(self, code: str, limit: int = 10) -> list[Scorer]:
        """The competition's current top scorers."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        comp = _codes([code])[0]
        body = await self._request(f"/competitions/{comp}/scorers", {"limit": str(limit)})
        items = body.get("scorers")
        if not isinstance(items, list):
            raise FootballDataDataError(f"football-data scorers of {comp}: no 'scorers' list")
        return [parse_scorer(item) for item in items]

    async def standings(self, code: str, *, kind: str | None = "TOTAL") -> list[StandingsTable]:
        """The competition's tables; `kind=None` keeps HOME/AWAY tables too."""
        comp = _codes([code])[0]
        tables = parse_standings(await self._request(f"/competitions/{comp}/standings"))
        if kind is not None:
            tables = [t for t in tables if t.kind == kind.upper()]
        return tables

    async def aclose(self) -> None:
        """Close the HTTP client if we created it."""
        if self._owns_http:
            await self._http.aclose()


def _codes(competitions: Sequence[str]) -> list[str]:
    if isinstance(competitions, str):
        competitions = [c for c in competitions.split(",") if c]
    codes = [c.strip().upper() for c in competitions]
    for code in codes:
        if not _CODE_RE.fullmatch(code):
            raise ValueError(f"not a football-data competition code: {code!r}")
    return codes

