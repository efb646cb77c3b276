"""How the fake Discord answers on the wire: JSON bodies, error bodies, and the message
checks Discord makes (shared by channel messages, interaction replies and follow-ups)."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
CONTENT_LIMIT = 2000
ROWS_LIMIT = 5
ROW_WIDTH = 5
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 80


def json_response(body: Any, *, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
    """JSON as Discord sends it: discord.py parses a body only under exactly this type."""
    headers = {**(headers or {}), "Content-Type": "application/json"}
    return web.Response(body=json.dumps(body).encode(), status=status, headers=headers)


def error(status: int, message: str, code: int,
          headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
    return json_response({"message": message, "code": code}, status=status, headers=headers)


_CUSTOM_ID = re.compile(r"^.{1,100}$", re.S)


def invalid_message(payload: JSON) -> str:
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
