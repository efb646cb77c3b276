"""Users of the fake Discord: a server with a channel, members with and without Manage
Channels, direct messages, and the interactions they make (slash commands, autocomplete,
button presses) with the answers Discord would accept.

Why: what the bot must get right about Discord is mostly in these payloads and deadlines —
`member.permissions` as the permission bits in that channel, a DM carrying `user` and no
guild, an answer within 3 seconds or a deferral, follow-ups by the interaction's webhook
token, autocomplete choices within Discord's limits. The payloads are the ones Discord
sends (API v10), so discord.py's own parsing and its `CommandTree` run on them.

Interactions only use commands the bot registered (bulk overwrite) and buttons it sent: a
test cannot press what no user could see.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fake_discord_wire import error, invalid_message, json_response

if TYPE_CHECKING:
    from tests.fake_discord import FakeDiscord, Posted

JSON = dict[str, Any]

GUILD_ID = 610_000_000_000_000_001
CHANNEL_ID = 610_000_000_000_000_010  # #football, in the guild
MANAGE_CHANNELS = 1 << 4
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31)  # view, send, history, /cmds
ANSWER_WITHIN = 3.0  # seconds Discord gives an interaction for its first answer
FOLLOW_UP_WITHIN = 15 * 60.0  # an interaction token's lifetime
MAX_CHOICES, CHOICE_LIMIT = 25, 100
# Interaction and callback types (Discord API v10).
SLASH, COMPONENT, AUTOCOMPLETE = 2, 3, 4
MESSAGE, DEFERRED, DEFERRED_UPDATE, UPDATE, CHOICES = 4, 5, 6, 7, 8


@dataclass(frozen=True)
class User:
    id: int
    name: str
    manage_channels: bool = False  # in the guild's channel

    def payload(self) -> JSON:
        return {"id": str(self.id), "username": self.name, "discriminator": "0",
                "global_name": self.name.title(), "avatar": None, "public_flags": 0}  # fmt: skip

    @property
    def dm_channel(self) -> int:
        return 620_000_000_000_000_000 + self.id % 1_000_000


FAN = User(630_000_000_000_000_001, "fan")
MODERATOR = User(630_000_000_000_000_002, "moderator", manage_channels=True)


@dataclass
class Interaction:
    """One interaction a user made, and how the bot answered it."""

    id: int
    token: str
    type: int
    channel_id: int
    user: User
    payload: JSON
    created: float  # time.monotonic(): Discord's 3 seconds start here
    callbacks: list[JSON] = field(default_factory=list)  # accepted callback bodies
    refused: list[tuple[int, str]] = field(default_factory=list)  # (status, why)
    messages: list[Posted] = field(default_factory=list)  # its reply and follow-ups
    answered_after: float | None = None  # seconds to the first accepted callback

    @property
    def deferred(self) -> bool:
        return any(c["type"] == DEFERRED for c in self.callbacks)

    @property
    def choices(self) -> list[JSON] | None:
        for callback in self.callbacks:
            if callback["type"] == CHOICES:
                return list(callback.get("data", {}).get("choices", []))
        return None


class Interactions:
    """Makes interactions and serves their callback and webhook endpoints."""

    def __init__(self, owner: FakeDiscord) -> None:
        self.owner = owner
        self.all: list[Interaction] = []
        self._ids = itertools.count(640_000_000_000_000_001)

    def routes(self, app: web.Application, prefix: str) -> None:
        app.router.add_post(prefix + "/interactions/{id}/{token}/callback", self._callback)
        app.router.add_post(prefix + "/webhooks/{app_id}/{token}", self._follow_up)
        app.router.add_patch(prefix + "/webhooks/{app_id}/{token}/messages/@original",
                             self._edit_original)  # fmt: skip

    # -- the world ---------------------------------------------------------------------------

    def guild_payload(self) -> JSON:
        owner = self.owner
        me = {"user": owner.bot_user(), "roles": [], "joined_at": _iso(), "deaf": False,
              "mute": False, "flags": 0}  # fmt: skip
        return {
            "id": str(GUILD_ID), "name": "Football fans", "icon": None, "owner_id": str(FAN.id),
            "unavailable": False, "member_count": 3, "large": False, "features": [],
            "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0, "premium_tier": 0, "preferred_locale": "en-US", "nsfw_level": 0,
            "afk_timeout": 300, "system_channel_flags": 0, "emojis": [], "stickers": [],
            "roles": [{"id": str(GUILD_ID), "name": "@everyone",
                       "permissions": str(MEMBER_PERMISSIONS),
                       "position": 0, "color": 0, "hoist": False, "managed": False,
                       "mentionable": False, "flags": 0}],
            "channels": [self._channel_payload()], "threads": [], "members": [me],
            "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "joined_at": _iso(),
        }  # fmt: skip

    def _channel_payload(self) -> JSON:
        return {"id": str(CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID), "name": "football",
                "position": 0, "permission_overwrites": [], "nsfw": False, "topic": None,
                "last_message_id": None, "rate_limit_per_user": 0, "parent_id": None}  # fmt: skip

    def _where(self, channel_id: int, user: User) -> JSON:
        """The keys that say where and by whom: guild channel (member) or DM (user)."""
        if channel_id == user.dm_channel:
            channel = {"id": str(channel_id), "type": 1, "last_message_id": None,
                       "recipients": [user.payload()], "flags": 0}  # fmt: skip
            return {"channel_id": str(channel_id), "channel": channel,
                    "user": user.payload(), "context": 1,
                    "authorizing_integration_owners": {"1": str(user.id)}}  # fmt: skip
        if channel_id != CHANNEL_ID:
            raise ValueError(f"no channel {channel_id} in the fake Discord")
        bits = MEMBER_PERMISSIONS | (MANAGE_CHANNELS if user.manage_channels else 0)
        member = {"user": user.payload(), "roles": [], "joined_at": _iso(), "deaf": False,
                  "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False,
                  "permissions": str(bits)}  # fmt: skip
        return {"guild_id": str(GUILD_ID), "channel_id": str(channel_id),
                "channel": {**self._channel_payload(), "permissions": str(bits)},
                "member": member, "guild_locale": "en-US", "context": 0,
                "guild": {"id": str(GUILD_ID), "locale": "en-US", "features": []},
                "authorizing_integration_owners": {"0": str(GUILD_ID)}}  # fmt: skip

    # -- users act ---------------------------------------------------------------------------

    async def slash(self, name: str, channel_id: int, user: User, options: dict[str, str],
                    focused: str | None = None) -> Interaction:  # fmt: skip
        command = self.owner.command(name)  # only what the bot registered
        declared = {o["name"] for o in command.get("options", [])}
        unknown = set(options) - declared
        if unknown:
            raise ValueError(f"/{name} has no option {sorted(unknown)}")
        data: JSON = {"id": command["id"], "name": name, "type": 1, "options": [
            {"name": k, "type": 3, "value": v, **({"focused": True} if k == focused else {})}
            for k, v in options.items()]}  # fmt: skip
        if "guild_id" in self._where(channel_id, user):
            data["guild_id"] = str(GUILD_ID)
        return await self._make(AUTOCOMPLETE if focused else SLASH, channel_id, user, data)

    async def press(self, message: Posted, custom_id: str, user: User) -> Interaction:
        if custom_id not in message.custom_ids:
            raise ValueError(f"no button {custom_id!r} on that message")
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._make(COMPONENT, message.channel_id, user, data,
                                message=message.payload)  # fmt: skip

    async def _make(self, kind: int, channel_id: int, user: User, data: JSON,
                    message: JSON | None = None) -> Interaction:  # fmt: skip
        interaction_id = next(self._ids)
        token = f"aW50ZXJhY3Rpb24.{interaction_id}.fake-interaction-token"
        owner = self.owner
        payload: JSON = {
            "id": str(interaction_id), "application_id": str(owner.application_id),
            "type": kind, "token": token, "version": 1, "data": data, "locale": "en-GB",
            "app_permissions": str(MEMBER_PERMISSIONS), "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024, **self._where(channel_id, user),
        }  # fmt: skip
        if message is not None:
            payload["message"] = message
        interaction = Interaction(interaction_id, token, kind, channel_id, user, payload,
                                  time.monotonic())  # fmt: skip
        self.all.append(interaction)
        await owner.gateway.dispatch("INTERACTION_CREATE", payload)
        return interaction

    # -- the bot answers ---------------------------------------------------------------------

    def _find(self, request: web.Request) -> Interaction | None:
        """The interaction a callback (by id) or webhook (by application id) URL names."""
        token = request.match_info["token"]
        interaction = next((i for i in self.all if i.token == token), None)
        if interaction is None:
            return None
        if "id" in request.match_info:
            return interaction if request.match_info["id"] == str(interaction.id) else None
        return interaction if request.match_info["app_id"] == str(
            self.owner.application_id) else None  # fmt: skip

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self._find(request)
        if interaction is None:
            return error(404, "Unknown interaction", 10062)
        body = await request.json()
        late = time.monotonic() - interaction.created
        why = ""
        if interaction.callbacks:
            why, status, code = "Interaction has already been acknowledged", 400, 40060
        elif late > ANSWER_WITHIN:
            why, status, code = "Unknown interaction", 404, 10062
        elif body.get("type") == CHOICES:
            why, status, code = _bad_choices(body.get("data") or {}), 400, 50035
        elif body.get("type") in {MESSAGE, UPDATE}:
            why, status, code = invalid_message(body.get("data") or {}), 400, 50035
        elif body.get("type") not in {DEFERRED, DEFERRED_UPDATE}:
            why, status, code = "Invalid interaction response type", 400, 50035
        if why:
            interaction.refused.append((status, why))
            self.owner.notify()
            return error(status, why, code)
        interaction.callbacks.append(body)
        interaction.answered_after = late
        resource: JSON = {"type": body["type"]}
        if body["type"] in {MESSAGE, UPDATE}:
            posted = self.owner.record_message(interaction.channel_id, body.get("data") or {},
                                               interaction_id=interaction.id)  # fmt: skip
            interaction.messages.append(posted)
            resource["message"] = posted.payload
        self.owner.notify()
        headers = self.owner.webhook_headers(interaction.token)
        if request.query.get("with_response") not in {"1", "true", "True"}:
            return web.Response(status=204, headers=headers)
        return json_response({"interaction": {
            "id": str(interaction.id), "type": interaction.type,
            "response_message_id": resource["message"]["id"] if "message" in resource else None,
            "response_message_loading": body["type"] == DEFERRED,
            "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64),
        }, "resource": resource}, headers=headers)  # fmt: skip

    async def _follow_up(self, request: web.Request) -> web.Response:
        interaction = self._find(request)
        if interaction is None or not interaction.callbacks:
            return error(404, "Unknown Webhook", 10015)
        if time.monotonic() - interaction.created > FOLLOW_UP_WITHIN:
            return error(401, "Invalid Webhook Token", 50027)
        body = await request.json()
        problem = invalid_message(body)
        if problem:
            interaction.refused.append((400, problem))
            self.owner.notify()
            return error(400, f"Invalid Form Body: {problem}", 50035)
        posted = self.owner.record_message(interaction.channel_id, body,
                                           interaction_id=interaction.id)  # fmt: skip
        interaction.messages.append(posted)
        self.owner.notify()
        headers = self.owner.webhook_headers(interaction.token)
        if request.query.get("wait") not in {"1", "true", "True"}:
            return web.Response(status=204, headers=headers)
        return json_response({**posted.payload, "webhook_id": str(self.owner.application_id)},
                             headers=headers)  # fmt: skip

    async def _edit_original(self, request: web.Request) -> web.Response:
        interaction = self._find(request)
        if interaction is None or not interaction.callbacks:
            return error(404, "Unknown Webhook", 10015)
        body = await request.json()
        posted = self.owner.record_message(interaction.channel_id, body,
                                           interaction_id=interaction.id)  # fmt: skip
        interaction.messages.append(posted)
        self.owner.notify()
        return json_response(posted.payload, headers=self.owner.webhook_headers(interaction.token))


def _bad_choices(data: JSON) -> str:
    choices = data.get("choices")
    if not isinstance(choices, list) or len(choices) > MAX_CHOICES:
        return f"choices: at most {MAX_CHOICES}"
    for choice in choices:
        name, value = choice.get("name", ""), str(choice.get("value", ""))
        if not 1 <= len(name) <= CHOICE_LIMIT or not 1 <= len(value) <= CHOICE_LIMIT:
            return f"choices: name and value 1 to {CHOICE_LIMIT} characters"
    return ""


def _iso() -> str:
    return datetime.now(UTC).isoformat()
