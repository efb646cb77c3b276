"""The Bot API methods the fake implements, with Telegram's checks and error answers."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.fake_telegram.entities import render_text, utf16_len
from tests.fake_telegram.errors import (
    CONFLICT,
    NOT_MODIFIED,
    QUERY_INVALID,
    FakeApiError,
    SentMessage,
    bad_request,
)
from tests.fake_telegram.params import reply_markup
from tests.fake_telegram.state import FakeState
from tests.fake_webhook import WEBHOOK_CONFLICT

JSON = dict[str, Any]
Handler = Callable[[JSON], Awaitable[Any]]

#: Bot API method (lower case: Telegram ignores the case) -> the coroutine that serves it.
_METHODS = {
    "getme": "_get_me",
    "deletewebhook": "_delete_webhook",
    "setwebhook": "_set_webhook",
    "getwebhookinfo": "_get_webhook_info",
    "close": "_true",
    "logout": "_true",
    "getupdates": "_get_updates",
    "setmycommands": "_set_my_commands",
    "getmycommands": "_get_my_commands",
    "deletemycommands": "_delete_my_commands",
    "sendmessage": "_send_message",
    "editmessagetext": "_edit_message_text",
    "answercallbackquery": "_answer_callback_query",
    "getchatmember": "_get_chat_member",
    "getchatadministrators": "_get_chat_administrators",
    "getchat": "_get_chat",
    "sendchataction": "_send_chat_action",
}


class BotApiMethods(FakeState):
    """The method half of the fake: one coroutine per Bot API method, params in, result out."""

    def handler(self, method: str) -> Handler | None:
        """The coroutine serving ``method``, or None when the fake does not implement it."""
        name = _METHODS.get(method.lower())
        return None if name is None else getattr(self, name)

    @staticmethod
    def _int_param(params: JSON, name: str, missing: str) -> int:
        value = params.get(name)
        if value is None or value == "":
            raise bad_request(missing)
        if isinstance(value, bool) or not isinstance(value, int):
            if name == "chat_id":
                raise bad_request("chat not found")
            raise bad_request(f"invalid {name} specified")
        return value

    def _chat_id(self, params: JSON) -> int:
        """The request's chat; one Telegram never saw is "chat not found" (when strict)."""
        chat_id = self._int_param(params, "chat_id", "chat_id is empty")
        if chat_id == 0:
            raise bad_request("chat not found")
        known = chat_id in self._chats or chat_id in self._migrated
        if self.refuse_unknown_chats and not known:
            raise bad_request("chat not found")
        return chat_id

    def _check_access(self, chat_id: int) -> None:
        """Migrated and blocked chats answer like Telegram does."""
        if chat_id in self._migrated:
            raise FakeApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id in self._blocked:
            kind = self._chat(chat_id)["type"]
            if kind == "private":
                raise FakeApiError(403, "Forbidden: bot was blocked by the user")
            if kind == "channel":
                raise FakeApiError(403, "Forbidden: bot is not a member of the channel chat")
            raise FakeApiError(403, f"Forbidden: bot was kicked from the {kind} chat")

    def _check_flood(self, method: str, chat_id: int) -> None:
        """Telegram's limits for the sending methods; 429 + retry_after when over."""
        if not self.enforce_limits or method.lower() not in {
            m.lower() for m in self.limited_methods
        }:
            return
        seconds = self._flood.retry_after(
            chat_id,
            self.clock(),
            overall_per_second=self.overall_per_second,
            chat_per_second=self.chat_per_second,
            chat_burst=self.chat_burst,
            group_per_minute=self.group_per_minute,
        )
        if seconds:
            self.too_many_requests += 1
            raise FakeApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )

    # ---------------------------------------------------------------- methods
    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook.clear()
        return True

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise bad_request("Bad webhook: an HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("Bad webhook: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook.set(url, None if secret is None else str(secret))
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook.last_error:
            info["last_error_message"] = self.webhook.last_error
        return info

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Long polling: confirm < offset, then hold until an update or the timeout."""
        if self.webhook.url:
            raise FakeApiError(409, WEBHOOK_CONFLICT)
        offset = params.get("offset")
        if offset is not None and not isinstance(offset, int):
            raise bad_request("invalid offset specified")
        limit = params.get("limit", 100)
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        timeout = max(0.0, float(timeout)) if isinstance(timeout, int | float) else 0.0
        if isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        elif isinstance(offset, int):
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # A newer getUpdates terminates an older one still waiting, as on Telegram.
        for other in self._pollers:
            other.set()
        superseded = asyncio.Event()
        self._pollers.append(superseded)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if superseded.is_set():
                    raise FakeApiError(409, CONFLICT)
                if self._updates or self._closing.is_set():
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                changed = asyncio.ensure_future(self._changed.wait())
                replaced = asyncio.ensure_future(superseded.wait())
                try:
                    await asyncio.wait(
                        {changed, replaced}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    changed.cancel()
                    replaced.cancel()
        finally:
            self._pollers.remove(superseded)
        return [dict(u) for u in self._updates[:limit]]

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = params.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise bad_request("can't parse BotCommandScope JSON object")
        key = self._commands_key(scope, str(params.get("language_code") or ""))
        self.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        scope = params.get("scope")
        return self.commands_for(
            scope if isinstance(scope, dict) else None, str(params.get("language_code") or "")
        )

    async def _delete_my_commands(self, params: JSON) -> bool:
        scope = params.get("scope")
        key = self._commands_key(
            scope if isinstance(scope, dict) else None, str(params.get("language_code") or "")
        )
        self.commands.pop(key, None)
        return True

    async def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        self._check_access(chat_id)
        visible, entities = render_text(params)
        markup = reply_markup(params)
        reply_to: JSON | None = None
        reply_parameters = params.get("reply_parameters")
        reply_id = params.get("reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply_parameters, dict):
            reply_id = reply_parameters.get("message_id")
            allow_missing = bool(reply_parameters.get("allow_sending_without_reply"))
        if reply_id is not None:
            if isinstance(reply_id, int):
                reply_to = self._messages.get((chat_id, reply_id))
            if reply_to is None and not allow_missing:
                raise bad_request("message to be replied not found")
        self._check_flood("sendMessage", chat_id)

        chat = self._chat(chat_id)
        message: JSON = {
            "message_id": self._new_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
            "text": visible,
        }
        if entities:
            message["entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if reply_to is not None:
            message["reply_to_message"] = dict(reply_to)
        if isinstance(params.get("message_thread_id"), int):
            message["message_thread_id"] = params["message_thread_id"]
        self._store(message)
        self._record_sent("sendMessage", chat_id, message, params, markup)
        return message

    async def _edit_message_text(self, params: JSON) -> JSON:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        chat_id = self._chat_id(params)
        message_id = self._int_param(params, "message_id", "message identifier is not specified")
        self._check_access(chat_id)
        visible, entities = render_text(params)
        markup = reply_markup(params)
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            raise bad_request("message to edit not found")
        if stored.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        new_markup = markup if markup is not None and "inline_keyboard" in markup else None
        if (
            stored.get("text") == visible
            and stored.get("entities", []) == entities
            and stored.get("reply_markup") == new_markup
        ):
            raise bad_request(NOT_MODIFIED)
        self._check_flood("editMessageText", chat_id)
        stored["text"] = visible
        stored["edit_date"] = int(time.time())
        for key, value in (("entities", entities), ("reply_markup", new_markup)):
            if value:
                stored[key] = value
            else:
                stored.pop(key, None)
        self._record_sent("editMessageText", chat_id, stored, params, markup)
        return dict(stored)

    def _record_sent(
        self, method: str, chat_id: int, message: JSON, params: JSON, markup: JSON | None
    ) -> None:
        parse_mode = params.get("parse_mode")
        self.sent.append(
            SentMessage(
                method=method,
                chat_id=chat_id,
                message_id=message["message_id"],
                text=params["text"],
                parse_mode=parse_mode if isinstance(parse_mode, str) else None,
                reply_markup=markup,
                visible_text=message["text"],
                time=time.monotonic(),
            )
        )

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._pending_callbacks:
            raise bad_request(QUERY_INVALID)
        pressed = self._pending_callbacks[query_id]
        ttl = self.callback_query_ttl
        if ttl is not None and self.clock() - pressed > ttl:
            del self._pending_callbacks[query_id]
            raise bad_request(QUERY_INVALID)
        text = params.get("text")
        if isinstance(text, str) and utf16_len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        del self._pending_callbacks[query_id]
        self.callback_answers[query_id] = dict(params)
        return True

    async def _get_chat_member(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        user_id = self._int_param(params, "user_id", "user_id is empty")
        user = self._user(user_id, None, None)
        return self._member_json(user, self._status_of(chat_id, user_id))

    async def _get_chat_administrators(self, params: JSON) -> list[JSON]:
        chat_id = self._chat_id(params)
        if self._chat(chat_id)["type"] == "private":
            raise bad_request("there are no administrators in the private chat")
        ids: list[int] = []
        if chat_id in self._creators:
            ids.append(self._creators[chat_id])
        ids += [u for u in self._admins.get(chat_id, []) if u not in ids]
        return [
            self._member_json(self._user(u, None, None), self._status_of(chat_id, u)) for u in ids
        ]

    async def _get_chat(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        self._check_access(chat_id)
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    _CHAT_ACTIONS = frozenset(
        {
            "typing", "upload_photo", "record_video", "upload_video", "record_voice",
            "upload_voice", "upload_document", "choose_sticker", "find_location",
            "record_video_note", "upload_video_note",
        }
    )  # fmt: skip

    async def _send_chat_action(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        self._check_access(chat_id)
        action = params.get("action")
        if action not in self._CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.chat_actions.append((chat_id, str(action)))
        return True
