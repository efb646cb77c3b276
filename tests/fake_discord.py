"""A fake Discord on 127.0.0.1: its REST API (v10) here; its websocket gateway and the users
who make interactions in the modules beside this one, served from the same port.

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
- ``GET /users/@me`` (401 for any other token: discord.py's LoginFailure),
  ``GET /oauth2/applications/@me``, ``PUT /applications/{id}/commands`` (the slash commands
  registered, kept in ``commands``) and ``GET /gateway/bot`` (the gateway's URL), so a real
  ``discord.Client`` logs in and registers its commands.
- The gateway (`tests/fake_discord_gateway.py`) at ``gateway_url``, and users making
  interactions whose callbacks and webhook follow-ups land here
  (`tests/fake_discord_interactions.py`): ``slash``, ``autocomplete``, ``press``, ``answer``.

Every change of state (a request, a frame, a message) wakes `wait_for`: tests wait for what
the fake saw, never for a wall-clock deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from aiohttp import web

from tests.fake_discord_gateway import FakeGateway
from tests.fake_discord_interactions import (
    CHANNEL_ID,
    FAN,
    GUILD_ID,
    MODERATOR,
    Interaction,
    Interactions,
    User,
)
from tests.fake_discord_wire import error, invalid_message, json_response

__all__ = ["CHANNEL_ID", "FAN", "GUILD_ID", "MODERATOR", "FakeDiscord", "Fault", "Interaction",
           "Posted", "User", "fake_discord"]  # fmt: skip

JSON = dict[str, Any]
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.discord-token"
BOT_ID = 900_000_000_000_000_001
APPLICATION_ID = 900_000_000_000_000_002
BUCKET_HASH = "f1e2d3c4b5a6"  # Discord names a route's bucket; the channel id splits it
WEBHOOK_BUCKET_HASH = "a6b5c4d3e2f1"  # interaction callbacks and follow-ups; the token splits it
API = "/api/v10"
TOKEN_IN_PATH = (API + "/interactions/", API + "/webhooks/")  # no bot token: the path's is


@dataclass
class Posted:
    """A message the fake accepted."""

    id: int
    channel_id: int
    content: str
    components: list[JSON]
    time: float  # time.monotonic() when it arrived
    allowed_mentions: JSON | None = None
    payload: JSON = field(default_factory=dict)  # the message object Discord answered with
    interaction_id: int | None = None  # a reply or follow-up to this interaction

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
    forbidden: set[int] = field(default_factory=set)  # channels the bot may not post in
    deleted: set[int] = field(default_factory=set)  # channels that no longer exist
    over_limit: int = 0  # requests that came while their bucket was empty
    _faults: dict[int | None, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    _buckets: dict[int | str, _Bucket] = field(default_factory=lambda: defaultdict(_Bucket))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1_100_000_000_000_000))
    _runner: web.AppRunner | None = None
    port: int = 0
    application_id: int = APPLICATION_ID
    gateway: FakeGateway = field(init=False)
    interactions: Interactions = field(init=False)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.gateway = FakeGateway(self)
        self.interactions = Interactions(self)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_post(API + "/channels/{channel_id}/messages", self._create_message)
        app.router.add_get(API + "/users/@me", self._me)
        app.router.add_get(API + "/oauth2/applications/@me", self._application)
        app.router.add_put(API + "/applications/{app_id}/commands", self._put_commands)
        app.router.add_get(API + "/gateway/bot", self._gateway_bot)
        app.router.add_get(API + "/gateway", self._gateway_bot)
        self.interactions.routes(app, API)
        self.gateway.routes(app)
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
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return self.gateway.url

    # -- the world the gateway and interactions describe -----------------------------------

    def bot_user(self) -> JSON:
        return self._user()

    def guild_ids(self) -> list[int]:
        return [GUILD_ID]

    def guild_payloads(self) -> list[JSON]:
        return [self.interactions.guild_payload()]

    def command(self, name: str) -> JSON:
        """A slash command the bot registered, as Discord keeps it (with its id)."""
        for command in self.commands:
            if command["name"] == name:
                return command
        raise LookupError(f"the bot registered no /{name}")

    # -- users -------------------------------------------------------------------------------

    async def slash(self, name: str, *, channel: int = CHANNEL_ID, user: User = FAN,
                    **options: str) -> Interaction:  # fmt: skip
        """A user runs `/name option:value` in `channel` (a DM when it is `user.dm_channel`)."""
        return await self.interactions.slash(name, channel, user, options)

    async def autocomplete(self, name: str, option: str, typed: str, *,
                           channel: int = CHANNEL_ID, user: User = FAN) -> list[JSON]:  # fmt: skip
        """A user types `typed` into `/name`'s option: the choices the bot offered."""
        interaction = await self.interactions.slash(name, channel, user, {option: typed},
                                                    focused=option)  # fmt: skip
        await self.wait_for(lambda: interaction.choices is not None or interaction.refused)
        assert not interaction.refused, interaction.refused
        return interaction.choices or []

    async def press(self, message: Posted, custom_id: str, *, user: User = FAN) -> Interaction:
        return await self.interactions.press(message, custom_id, user)

    async def answer(self, interaction: Interaction) -> Posted:
        """The message that answered `interaction` (its reply, or the follow-up after a
        deferral), once it came; fails if Discord refused how the bot answered."""
        await self.wait_for(lambda: interaction.messages or interaction.refused)
        assert not interaction.refused, interaction.refused
        return interaction.messages[0]

    def record_message(self, channel_id: int, body: JSON, *, interaction_id: int | None = None,
                       at: float | None = None) -> Posted:  # fmt: skip
        """A message the bot made appear in `channel_id`, by REST or as an interaction's;
        `at` is when its request arrived (the instant its rate-limit bucket counted)."""
        message = Posted(next(self._ids), channel_id, body.get("content") or "",
                         body.get("components") or [], time.monotonic() if at is None else at,
                         body.get("allowed_mentions"), interaction_id=interaction_id)  # fmt: skip
        message.payload = {
            "id": str(message.id), "channel_id": str(channel_id), "type": 0,
            "content": message.content, "author": self._user(),
            "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": False, "flags": 0,
            "components": message.components,
        }  # fmt: skip
        if interaction_id is not None:
            message.payload["application_id"] = str(self.application_id)
            message.payload["webhook_id"] = str(self.application_id)
        self.posted.append(message)
        self.notify()
        return message

    def alerts(self, channel_id: int) -> list[str]:
        """What the bot posted in `channel_id` on its own (not answering anyone)."""
        return [p.content for p in self.posted
                if p.channel_id == channel_id and p.interaction_id is None]  # fmt: skip

    # -- scripting -------------------------------------------------------------------------

    def fail(self, channel_id: int | None, *faults: Fault) -> None:
        """The next requests to `channel_id` (None: to anything) get these faults, in order."""
        self._faults[channel_id].extend(faults)

    def texts(self, channel_id: int) -> list[str]:
        return [p.content for p in self.posted if p.channel_id == channel_id]

    def statuses(self, channel_id: int) -> list[int]:
        return [r.status for r in self.requests if r.channel_id == channel_id]

    def notify(self) -> None:
        """Something changed: every `wait_for` looks at its predicate again."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for(self, predicate: Any, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Until `predicate()` holds of what the fake saw; checked at each change. No deadline
        unless a caller insists (pytest's timeout is enough: a busy machine is slow, not
        wrong)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    # -- plumbing --------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(API) or request.path.startswith(TOKEN_IN_PATH):
            response: web.StreamResponse = await handler(request)  # gateway; token in path
        elif request.headers.get("Authorization") != f"Bot {self.token}":
            response = error(401, "401: Unauthorized", 0)
        else:
            response = await handler(request)
        channel = request.match_info.get("channel_id")
        self.requests.append(Request(request.method, request.path,
                                     int(channel) if channel else None, response.status,
                                     time.monotonic()))  # fmt: skip
        self.notify()
        return response

    def _user(self) -> JSON:
        return {"id": str(BOT_ID), "username": "matchday", "discriminator": "0",
                "global_name": "Matchday", "avatar": None, "bot": True, "flags": 0}  # fmt: skip

    def webhook_headers(self, token: str) -> dict[str, str]:
        """X-RateLimit-* of an interaction token's own bucket (callback and follow-ups), as
        Discord reports it; counted, not enforced: an interaction never needs five."""
        now = time.monotonic()
        bucket = self._buckets[token]
        if now >= bucket.window_end:
            bucket.window_end, bucket.used = now + self.bucket_window, 0
        bucket.used += 1
        return {**self._rate_headers(bucket, now), "X-RateLimit-Bucket": WEBHOOK_BUCKET_HASH}

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
        return json_response(body, status=429, headers=out)

    # -- endpoints -------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        return json_response(self._user())

    async def _application(self, request: web.Request) -> web.Response:
        return json_response({
            "id": str(APPLICATION_ID), "name": "Matchday", "icon": None,
            "description": "Football scores", "rpc_origins": [], "bot_public": True,
            "bot_require_code_grant": False, "owner": self._user(), "team": None,
            "verify_key": "0" * 64, "flags": 0, "summary": "", "bot": self._user(),
        })  # fmt: skip

    async def _put_commands(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self.commands = [
            {**command, "id": str(next(self._ids)), "application_id": str(APPLICATION_ID),
             "version": "1", "default_member_permissions": None, "dm_permission": True}
            for command in payload
        ]  # fmt: skip
        return json_response(self.commands)

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url.rstrip("/"), "shards": 1,
                              "session_start_limit": {"total": 1000, "remaining": 999,
                                                      "reset_after": 14_400_000,
                                                      "max_concurrency": 1}})  # fmt: skip

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
            return error(403, "Missing Permissions", 50013, headers)
        if channel_id in self.deleted:
            return error(404, "Unknown Channel", 10003, headers)
        payload = await request.json()
        problem = invalid_message(payload)
        if problem:
            return error(400, f"Invalid Form Body: {problem}", 50035, headers)
        message = self.record_message(channel_id, payload, at=now)
        return json_response(message.payload, headers=headers)

    def _next_fault(self, channel_id: int) -> Fault | None:
        for key in (None, channel_id):
            if self._faults.get(key):
                return self._faults[key].pop(0)
        return None



def _fault(fault: Fault, headers: dict[str, str]) -> web.Response:
    if fault.status == 403:
        return error(403, "Missing Permissions", 50013, headers)
    if fault.status == 404:
        return error(404, "Unknown Channel", 10003, headers)
    if fault.status >= 500:
        return error(fault.status, "Internal Server Error", 0, headers)
    return error(fault.status, "Bad Request", 50035, headers)


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake
