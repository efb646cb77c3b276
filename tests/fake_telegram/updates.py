"""What users do, pushed as updates for getUpdates or the webhook: messages, edits, button
presses, stickers and membership changes."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.fake_telegram.entities import utf16_len
from tests.fake_telegram.state import FakeState

JSON = dict[str, Any]


class UpdateInjection(FakeState):
    """The ``push_*`` half of the fake: a test plays the users."""

    def push_update(self, raw: JSON) -> JSON:
        """Queue a raw update (``update_id`` assigned when missing) for getUpdates."""
        update = dict(raw)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
        self._updates.append(update)
        self._notify()
        self.webhook.wake()
        return update

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """A user writes ``text``; ``chat_type`` defaults from the id (positive = private)."""
        message = self._user_message(chat_id, user_id, chat_type, title, username, first_name)
        message["text"] = text
        command = re.match(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?", text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}
            ]
        if reply_to_message_id is not None:
            replied = self._messages.get((chat_id, reply_to_message_id))
            if replied is not None:
                message["reply_to_message"] = dict(replied)
        self._store(message)
        return self.push_update({"message": message})

    def push_edited_message(
        self,
        chat_id: int,
        text: str,
        *,
        message_id: int | None = None,
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """A user edits their message (default: their latest one in the chat)."""
        message = self._user_message(chat_id, user_id, chat_type, title, username, None)
        sender = message["from"]["id"]
        if message_id is None:
            own = [
                mid
                for (cid, mid), m in self._messages.items()
                if cid == chat_id and m.get("from", {}).get("id") == sender
            ]
            message_id = max(own) if own else message["message_id"]
        original = self._messages.get((chat_id, message_id))
        message["message_id"] = message_id
        if original is not None:
            message["date"] = original["date"]
        message["edit_date"] = int(time.time())
        message["text"] = text
        self._store(message)
        return self.push_update({"edited_message": message})

    def push_callback_query(
        self,
        chat_id: int,
        data: str,
        *,
        user_id: int | None = None,
        message_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        age: float = 0.0,
    ) -> JSON:
        """A user presses an inline button on a bot message (default: the latest one).

        ``age`` backdates the press: a query pressed while the bot was down is already
        older than Telegram's answer window when the bot reads it.
        """
        chat = self._chat(chat_id, chat_type, title)
        sender = self._sender(chat, user_id, username, None)
        if message_id is None:
            ids = [
                mid
                for (cid, mid), m in self._messages.items()
                if cid == chat_id and m.get("from", {}).get("id") == self.bot_id
            ]
            if not ids:
                raise ValueError(f"the bot has sent no message to chat {chat_id} yet")
            message_id = max(ids)
        message = self._messages.get((chat_id, message_id))
        if message is None:  # e.g. a button on a message sent before the fake started
            message = {
                "message_id": message_id,
                "from": dict(self.bot_user),
                "chat": dict(chat),
                "date": int(time.time()) - 60,
                "text": "(earlier message)",
            }
            self._store(message)
        query_id = str(next(self._callback_ids))
        self._pending_callbacks[query_id] = self.clock() - age
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender,
                    "chat_instance": str(abs(chat_id) * 7919 % 10**12),
                    "message": dict(message),
                    "data": data,
                }
            }
        )

    def push_sticker(
        self,
        chat_id: int,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        emoji: str = "⚽",
    ) -> JSON:
        """A non-text message, for "ignore what you do not understand" paths."""
        message = self._user_message(chat_id, user_id, chat_type, title, username, None)
        message["sticker"] = {
            "file_id": f"CAACAgIAAx-fake-{message['message_id']}",
            "file_unique_id": f"AgAD-fake-{message['message_id']}",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": emoji,
        }
        self._store(message)
        return self.push_update({"message": message})

    def push_my_chat_member(
        self,
        chat_id: int,
        new_status: str,
        *,
        chat_type: str | None = None,
        old_status: str | None = None,
        user_id: int | None = None,
        title: str | None = None,
    ) -> JSON:
        """The bot's own membership changed (added, promoted, kicked, blocked in private).

        Side effect, like Telegram: "kicked"/"left" blocks later sends, joining unblocks.
        """
        chat = self._chat(chat_id, chat_type, title)
        actor = self._sender(chat, user_id, None, None)
        if old_status is None:
            old_status = "left" if new_status in ("member", "administrator") else "member"
        if new_status in ("kicked", "left"):
            self.block(chat_id)
        else:
            self.unblock(chat_id)
        admins = self._admins.setdefault(chat_id, [])
        if new_status == "administrator" and self.bot_id not in admins:
            admins.append(self.bot_id)
        elif new_status != "administrator" and self.bot_id in admins:
            admins.remove(self.bot_id)
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": dict(chat),
                    "from": actor,
                    "date": int(time.time()),
                    "old_chat_member": self._member_json(self.bot_user, old_status),
                    "new_chat_member": self._member_json(self.bot_user, new_status),
                }
            }
        )
