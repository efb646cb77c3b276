"""A fake of Discord's REST API (v10), served over real HTTP on 127.0.0.1.

Why: discord.py's HTTP client is what keeps Discord's rate limits (per-route buckets found
through X-RateLimit-Bucket, X-RateLimit-Remaining/Reset-After, the global limit, 429 with
retry_after). Mocking it would prove nothing; this fake speaks the wire format and enforces a
per-channel bucket the way Discord does, so the real client is what gets tested.

- ``POST /channels/{id}/messages``: checks the token and Discord's message limits (content at
  most 2000 characters, at most 5 action rows of 5 buttons, custom_id at most 100 characters,
  unique), records the message and answers with a message object. Every answer carries the
  bucket's X-RateLimit-* headers; a request over the bucket gets a 429 and is counted in
  ``over_limit``.
- Faults, scripted per channel or for the next request anywhere: 429 (route or global), 403
  Missing Permissions (50013), 404 Unknown Channel (10003), 500; ``forbidden`` and ``deleted``
  channels answer 403 and 404 for good.
- ``GET /users/@me``, ``GET /oauth2/applications/@me``, ``PUT /applications/{id}/commands``
  (the slash commands registered, kept in ``commands``) and interaction callbacks, so a real
  ``discord.Client`` can log in and register its commands. ``GET /gateway/bot`` answers 503:
  there is no gateway here.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from aiohttp import web

__all__ = ["FakeDiscord", "Fault", "Posted", "fake_discord"]

JSON = dict[str, Any]
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.discord-token"
BOT_ID = 900_000_000_000_000_001
APPLICATION_ID = 900_000_000_000_000_002
BUCKET_HASH = "f1e2d3c4b5a6"  # Discord names a route's bucket; the channel id splits it
CONTENT_LIMIT = 2000
ROWS_LIMIT = 5
ROW_WIDTH = 5
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 80


@dataclass
class Posted:
    """A message the fake accepted."""

    id: int
    channel_id: int
    content: str
    components: list[JSON]
    time: float  # time.monotonic() when it arrived
    allowed_mentions: JSON | None = None

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for row in self.components for c in row["components"]]


@dataclass
class Fault:
    status: int
    retry_after: float = 0.0
    is_global: bool = False


@dataclass
class Request:
    method: str
    path: str
    channel_id: int | None
    status: int
    time: float


@dataclass
class _Bucket:
    window_end: float = 0.0
    used: int = 0


@dataclass
class FakeDiscord:
    bucket_limit: int = 5  # requests per channel per window (Discord: 5 per 5 s)
    bucket_window: float = 5.0
    token: str = TOKEN

    posted: list[Posted] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    commands: list[JSON] = field(default_factory=list)  # the slash commands registered
    interaction_responses: list[JSON] = field(default_factory=list)
    forbidden: set[int] = field(default_factory=set)  # channels the bot may not post in
    deleted: set[int] = field(default_factory=set)  # channels that no longer exist
    over_limit: int = 0  # requests that came while their bucket was empty
    _faults: dict[int | None, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    _buckets: dict[int, _Bucket] = field(default_factory=lambda: defaultdict(_Bucket))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1_100_000_000_000_000))
    _runner: web.AppRunner | None = None
    port: int = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/api/v10/channels/{channel_id}/messages", self._create_message)
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_put("/api/v10/applications/{app_id}/commands", self._put_commands)
        app.router.add_post("/api/v10/interactions/{id}/{token}/callback", self._callback)
        app.router.add_get("/api/v10/gateway/bot", self._no_gateway)
        app.router.add_get("/api/v10/gateway", self._no_gateway)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    # -- scripting -------------------------------------------------------------------------

    def fail(self, channel_id: int | None, *faults: Fault) -> None:
        """The next requests to `channel_id` (None: to anything) get these faults, in order."""
        self._faults[channel_id].extend(faults)

    def texts(self, channel_id: int) -> list[str]:
        return [p.content for p in self.posted if p.channel_id == channel_id]

    def statuses(self, channel_id: int) -> list[int]:
        return [r.status for r in self.requests if r.channel_id == channel_id]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Discord never saw what the test waited for")
            await asyncio.sleep(0.02)

    # -- plumbing --------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            response: web.StreamResponse = _error(401, "401: Unauthorized", 0)
        else:
            response = await handler(request)
        channel = request.match_info.get("channel_id")
        self.requests.append(Request(request.method, request.path,
                                     int(channel) if channel else None, response.status,
                                     time.monotonic()))  # fmt: skip
        return response

    def _user(self) -> JSON:
        return {"id": str(BOT_ID), "username": "matchday", "discriminator": "0",
                "global_name": "Matchday", "avatar": None, "bot": True, "flags": 0}  # fmt: skip

    def _rate_headers(self, bucket: _Bucket, now: float) -> dict[str, str]:
        reset_after = max(0.0, bucket.window_end - now)
        reset_after = math.ceil(reset_after * 1000) / 1000  # Discord gives milliseconds
        return {
            "X-RateLimit-Limit": str(self.bucket_limit),
            "X-RateLimit-Remaining": str(max(0, self.bucket_limit - bucket.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": BUCKET_HASH,
        }

    def _too_many(self, retry_after: float, *, is_global: bool,
                  headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
        retry_after = math.ceil(retry_after * 1000) / 1000
        body = {"message": "You are being rate limited.", "retry_after": retry_after,
                "global": is_global, "code": 0}  # fmt: skip
        out = {
            **(headers or {}),
            "Retry-After": str(math.ceil(retry_after)),
            "Via": "1.1 google",  # discord.py takes a 429 without it for a Cloudflare ban
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            out["X-RateLimit-Global"] = "true"
        return _json(body, status=429, headers=out)

    # -- endpoints -------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        return _json(self._user())

    async def _application(self, request: web.Request) -> web.Response:
        return _json({
            "id": str(APPLICATION_ID), "name": "Matchday", "icon": None,
            "description": "Football scores", "rpc_origins": [], "bot_public": True,
            "bot_require_code_grant": False, "owner": self._user(), "team": None,
            "verify_key": "0" * 64, "flags": 0, "summary": "", "bot": self._user(),
        })  # fmt: skip

    async def _put_commands(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self.commands = payload
        answered = [
            {**command, "id": str(next(self._ids)), "application_id": str(APPLICATION_ID),
             "version": "1", "default_member_permissions": None, "dm_permission": True}
            for command in payload
        ]  # fmt: skip
        return _json(answered)

    async def _callback(self, request: web.Request) -> web.Response:
        self.interaction_responses.append(await request.json())
        return web.Response(status=204)

    async def _no_gateway(self, request: web.Request) -> web.Response:
        return _error(503, "no gateway in the fake", 0)

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        fault = self._next_fault(channel_id)
        if fault is not None and fault.status == 200:
            fault = None  # a scripted success, to place faults between
        now = time.monotonic()
        bucket = self._buckets[channel_id]
        if now >= bucket.window_end:
            bucket.window_end, bucket.used = now + self.bucket_window, 0
        if fault is not None and fault.status == 429:
            headers = None if fault.is_global else self._rate_headers(bucket, now)
            return self._too_many(fault.retry_after, is_global=fault.is_global, headers=headers)
        if bucket.used >= self.bucket_limit:
            self.over_limit += 1
            return self._too_many(bucket.window_end - now, is_global=False,
                                  headers=self._rate_headers(bucket, now))  # fmt: skip
        bucket.used += 1
        headers = self._rate_headers(bucket, now)
        if fault is not None:
            return _fault(fault, headers)
        if channel_id in self.forbidden:
            return _error(403, "Missing Permissions", 50013, headers)
        if channel_id in self.deleted:
            return _error(404, "Unknown Channel", 10003, headers)
        payload = await request.json()
        problem = _invalid(payload)
        if problem:
            return _error(400, f"Invalid Form Body: {problem}", 50035, headers)
        message = Posted(next(self._ids), channel_id, payload.get("content") or "",
                         payload.get("components") or [], now,
                         payload.get("allowed_mentions"))  # fmt: skip
        self.posted.append(message)
        return _json({
            "id": str(message.id), "channel_id": str(channel_id), "type": 0,
            "content": message.content, "author": self._user(),
            "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": False, "flags": 0,
            "components": message.components,
        }, headers=headers)  # fmt: skip

    def _next_fault(self, channel_id: int) -> Fault | None:
        for key in (None, channel_id):
            if self._faults.get(key):
                return self._faults[key].pop(0)
        return None


def _json(body: Any, *, status: int = 200,
          headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
    """JSON as Discord sends it: discord.py parses a body only under exactly this type."""
    headers = {**(headers or {}), "Content-Type": "application/json"}
    return web.Response(body=json.dumps(body).encode(), status=status, headers=headers)


def _error(status: int, message: str, code: int,
           headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
    return _json({"message": message, "code": code}, status=status,
                             headers=headers)  # fmt: skip


def _fault(fault: Fault, headers: dict[str, str]) -> web.Response:
    if fault.status == 403:
        return _error(403, "Missing Permissions", 50013, headers)
    if fault.status == 404:
        return _error(404, "Unknown Channel", 10003, headers)
    if fault.status >= 500:
        return _error(fault.status, "Internal Server Error", 0, headers)
    return _error(fault.status, "Bad Request", 50035, headers)


_CUSTOM_ID = re.compile(r"^.{1,100}$", re.S)


def _invalid(payload: JSON) -> str:
    """Why Discord would refuse this message body (empty when it would take it)."""
    content = payload.get("content") or ""
    rows = payload.get("components") or []
    if not content and not rows:
        return "content: cannot send an empty message"
    if len(content) > CONTENT_LIMIT:
        return f"content: must be {CONTENT_LIMIT} or fewer in length"
    if len(rows) > ROWS_LIMIT:
        return "components: too many action rows"
    seen: set[str] = set()
    for row in rows:
        if row.get("type") != 1 or not 1 <= len(row.get("components", [])) <= ROW_WIDTH:
            return "components: an action row holds 1 to 5 buttons"
        for button in row["components"]:
            custom_id = button.get("custom_id", "")
            if not _CUSTOM_ID.match(custom_id) or custom_id in seen:
                return f"custom_id: {custom_id!r} is invalid or repeated"
            seen.add(custom_id)
            if not button.get("label") or len(button["label"]) > LABEL_LIMIT:
                return "label: 1 to 80 characters"
    return ""


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake
