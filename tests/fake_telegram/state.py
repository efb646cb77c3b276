"""The fake's state: chats, users, messages, scripted faults, and how a test configures it."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from tests.fake_telegram.errors import FakeError, Fault, Recorded, SentMessage
from tests.fake_telegram.limits import CALLBACK_QUERY_TTL, DEFAULT_CLOCK, FloodControl, Monotonic
from tests.fake_telegram.params import chat_type_for
from tests.fake_webhook import WebhookPusher

JSON = dict[str, Any]
DEFAULT_TOKEN = "123456:TEST-TOKEN-abc"
DEFAULT_BOT_USERNAME = "matchday_test_bot"
#: Sender used for group messages when the test does not name one.
DEFAULT_GROUP_USER_ID = 424242


class FakeState:
    """What the fake Telegram knows: its settings, chats, users, messages and queued updates,
    with the configuration a test scripts; shared by the update and method halves."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        *,
        bot_first_name: str = "Matchday Test Bot",
        enforce_limits: bool = True,
        overall_per_second: float = 30.0,
        group_per_minute: float = 20.0,
        chat_per_second: float = 1.0,
        chat_burst: int = 3,
        limited_methods: set[str] | None = None,
        refuse_unknown_chats: bool = True,
        callback_query_ttl: float | None = CALLBACK_QUERY_TTL,
        clock: Monotonic = DEFAULT_CLOCK,
    ) -> None:
        """Strict by default, like Telegram: flood control, unknown chats refused, callback
        queries expiring. A test that needs one of them off says so where it builds the fake
        (``enforce_limits=False``, ``refuse_unknown_chats=False``, ``callback_query_ttl=None``).

        ``clock`` (monotonic seconds) drives flood control and query expiry, so a test can
        step time by hand instead of sleeping.
        """
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 123456
        self.bot_username = bot_username
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.clock = clock
        # Flood control (mutable at runtime).
        self.enforce_limits = enforce_limits
        self.overall_per_second = overall_per_second
        self.group_per_minute = group_per_minute
        self.chat_per_second = chat_per_second
        self.chat_burst = chat_burst
        self.limited_methods: set[str] = (
            set(limited_methods)
            if limited_methods is not None
            else {"sendMessage", "editMessageText"}
        )
        self.too_many_requests = 0
        self.refuse_unknown_chats = refuse_unknown_chats
        self.callback_query_ttl = callback_query_ttl
        # Recordings.
        self.requests: list[Recorded] = []
        self.sent: list[SentMessage] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.chat_actions: list[tuple[int, str]] = []
        # State.
        self._admins: dict[int, list[int]] = {}
        self._creators: dict[int, int] = {}
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._pending_callbacks: dict[str, float] = {}  # query id -> when it was pressed
        self._updates: list[JSON] = []
        self._next_update_id = 100_000
        self._callback_ids = itertools.count(7_000_000_000)
        self._faults: list[Fault] = []
        self._flood = FloodControl()
        self._pollers: list[asyncio.Event] = []
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self.webhook = WebhookPusher(
            lambda: dict(self._updates[0]) if self._updates else None, self._webhook_delivered
        )

    # ---------------------------------------------------------------- configuration
    def set_admins(self, chat_id: int, user_ids: list[int], *, creator: int | None = None) -> None:
        """Make ``user_ids`` administrators (``creator`` the owner) of ``chat_id``."""
        self._chat(chat_id)
        self._admins[chat_id] = list(user_ids)
        if creator is not None:
            self._creators[chat_id] = creator
        else:
            self._creators.pop(chat_id, None)

    def register_chat(
        self, chat_id: int, chat_type: str | None = None, title: str | None = None
    ) -> None:
        """Make a chat known, as if it had talked to the bot before the test began.

        Sends to a chat the fake has never seen answer "chat not found", as on Telegram.
        """
        self._chat(chat_id, chat_type, title)

    def register_chats(self, chat_ids: list[int]) -> None:
        """:meth:`register_chat` for each id, typed by its range."""
        for chat_id in chat_ids:
            self._chat(chat_id)

    def block(self, chat_id: int) -> None:
        """Every later send to the chat answers 403 (user blocked the bot / bot kicked)."""
        self._chat(chat_id)  # a chat that blocked the bot is one Telegram knows
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`: sends to the chat succeed again."""
        self._blocked.discard(chat_id)

    def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Permanently upgrade a group: sends to the old id answer 400 migrate_to_chat_id."""
        self._migrated[old_chat_id] = new_chat_id
        self._chat(new_chat_id, "supergroup", self._chats.get(old_chat_id, {}).get("title"))

    def fail_next(
        self,
        method: str | None = "sendMessage",
        chat_id: int | None = None,
        times: int = 1,
        *,
        error: FakeError,
    ) -> None:
        """Script ``error`` for the next ``times`` matching calls (``None`` = any)."""
        self._faults.append(Fault(error, method.lower() if method else None, chat_id, times))

    def clear_faults(self) -> None:
        """End every scripted fault (an outage is over)."""
        self._faults.clear()

    def clear_recordings(self) -> None:
        """Forget recorded requests and sent messages (state such as chats is kept)."""
        self.requests.clear()
        self.sent.clear()

    # ---------------------------------------------------------------- internals
    def _notify(self) -> None:
        """Wake every waiter (long polls, wait_for) by swapping in a fresh event."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def _chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
    ) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = {"id": chat_id, "type": chat_type or chat_type_for(chat_id)}
            self._chats[chat_id] = chat
        elif chat_type:
            chat["type"] = chat_type
        if chat["type"] == "private":
            user = self._user(chat_id, None, username)
            chat["first_name"] = user["first_name"]
            if user.get("username"):
                chat["username"] = user["username"]
        else:
            chat["title"] = title or chat.get("title") or f"Chat {chat_id}"
            if username:
                chat["username"] = username
        return chat

    def _user(self, user_id: int, first_name: str | None, username: str | None) -> JSON:
        if user_id == self.bot_id:
            return dict(self.bot_user)
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        )
        if first_name:
            user["first_name"] = first_name
        if username:
            user["username"] = username
        user.setdefault("language_code", "en")
        return user

    def _sender(
        self, chat: JSON, user_id: int | None, username: str | None, first_name: str | None
    ) -> JSON:
        if user_id is None:
            user_id = chat["id"] if chat["type"] == "private" else DEFAULT_GROUP_USER_ID
        return dict(self._user(user_id, first_name, username))

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _user_message(
        self,
        chat_id: int,
        user_id: int | None,
        chat_type: str | None,
        title: str | None,
        username: str | None,
        first_name: str | None,
    ) -> JSON:
        chat = self._chat(chat_id, chat_type, title)
        sender = self._sender(chat, user_id, username, first_name)
        if chat["type"] == "private":
            chat = self._chat(chat_id)  # refresh first_name/username from the sender
        return {
            "message_id": self._new_message_id(chat_id),
            "from": sender,
            "chat": dict(chat),
            "date": int(time.time()),
        }

    def _store(self, message: JSON) -> None:
        self._messages[(message["chat"]["id"], message["message_id"])] = message

    def _member_json(self, user: JSON, status: str) -> JSON:
        """A ChatMember of any status with every field PTB 22 requires for it."""
        member: JSON = {"status": status, "user": dict(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=True,
                can_edit_stories=True,
                can_delete_stories=True,
                can_pin_messages=True,
            )
        elif status == "kicked":
            member["until_date"] = 0
        elif status == "restricted":
            member.update(
                is_member=True,
                until_date=0,
                **dict.fromkeys(
                    (
                        "can_change_info", "can_invite_users", "can_pin_messages",
                        "can_send_messages", "can_send_polls", "can_send_other_messages",
                        "can_add_web_page_previews", "can_manage_topics", "can_send_audios",
                        "can_send_documents", "can_send_photos", "can_send_videos",
                        "can_send_video_notes", "can_send_voice_notes", "can_edit_tag",
                        "can_react_to_messages",
                    ),
                    False,
                ),
            )  # fmt: skip
        return member

    def _status_of(self, chat_id: int, user_id: int) -> str:
        if self._creators.get(chat_id) == user_id:
            return "creator"
        if user_id in self._admins.get(chat_id, []):
            return "administrator"
        return "member"

    @staticmethod
    def _commands_key(scope: JSON | None, language_code: str) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), language_code or ""

    def _webhook_delivered(self, update: JSON) -> None:
        """The webhook took an update: it leaves the queue, as on Telegram."""
        self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
        self._notify()
