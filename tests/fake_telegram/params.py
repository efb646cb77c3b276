"""Reading a Bot API call: typing form fields by name, chat types from ids, and the
validation of reply markup."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from tests.fake_telegram.errors import bad_request

JSON = dict[str, Any]
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100


_INT_FIELDS = frozenset(
    {
        "chat_id", "from_chat_id", "user_id", "message_id", "offset", "limit",
        "reply_to_message_id", "message_thread_id", "cache_time", "until_date",
    }
)  # fmt: skip
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification", "protect_content", "show_alert", "drop_pending_updates",
        "disable_web_page_preview", "allow_sending_without_reply", "only_if_banned",
        "revoke_messages", "allow_paid_broadcast",
    }
)  # fmt: skip
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "commands", "scope", "entities", "caption_entities", "allowed_updates",
        "link_preview_options", "reply_parameters", "media", "results", "options",
        "permissions",
    }
)  # fmt: skip


def coerce_params(raw: JSON) -> JSON:
    """Type the string values of a form body the way the Bot API does (by field name).

    Values that do not convert stay as received; the method handlers then answer 400.
    """
    params: JSON = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _INT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = int(value)
            elif key in _FLOAT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = float(value)
            elif key in _BOOL_FIELDS:
                value = value.strip().lower() in ("true", "1")
            elif key in _JSON_FIELDS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
        params[key] = value
    return params


def chat_type_for(chat_id: int) -> str:
    """Infer a chat type from Telegram's id ranges (-100… ids are supergroups/channels)."""
    if chat_id > 0:
        return "private"
    if chat_id <= -1_000_000_000_000:
        return "supergroup"
    return "group"


def reply_markup(params: JSON) -> JSON | None:
    """Parse and validate reply_markup (inline keyboards in detail)."""
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        actions = (
            "url", "callback_data", "web_app", "login_url", "switch_inline_query",
            "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
            "copy_text", "callback_game", "pay",
        )  # fmt: skip
        buttons = [b for row in rows for b in row]
        if len(buttons) > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long")
        for button in buttons:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request("can't parse inline keyboard button: Text is not a string")
            present = [a for a in actions if a in button]
            if not present:
                raise bad_request("text buttons are unallowed in the inline keyboard")
            if len(present) > 1:
                raise bad_request(
                    f"inline keyboard button must have exactly one action, got {present}"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not re.match(
                    r"(https?|tg)://\S+$", url, re.IGNORECASE
                ):
                    raise bad_request(
                        f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                    )
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
            )
    elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup
