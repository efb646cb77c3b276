"""The Telegram front end: updates in, `Request`s to the handlers, replies and alerts out.

`TelegramSender.send` is the one place that turns Telegram's errors into delivery outcomes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta

from telegram import (
    BotCommand,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import RequestData

from bot.core import Core
from bot.delivery import ChatLimits, Outcome, Sender, SendResult
from handlers.base import Button, Reply, Request
from handlers.commands import COMMANDS, parse_command
from storage.store import Chat

log = logging.getLogger("matchday.telegram")

PLATFORM = "telegram"
CALLBACK_LIMIT = 64  # bytes Telegram allows in callback_data
REPLY_ATTEMPTS = 3
CHAT_GONE = "chat not found"  # Telegram's 400 for a chat that is gone or never existed


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _markup(buttons: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    rows = [
        [InlineKeyboardButton(b.label[:60], callback_data=b.command) for b in row
         if len(b.command.encode()) <= CALLBACK_LIMIT]
        for row in buttons
    ]  # fmt: skip
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


class GarbledAnswer(TelegramError):
    """Telegram said ok but not which message it made: this message fails, nothing else."""


_NO_LINK_PREVIEW = json.dumps(LinkPreviewOptions(is_disabled=True).to_dict())


class EncodedParameters(RequestData):
    """A `sendMessage` body whose parameters are already JSON-encoded, as `RequestData` gives them.

    Built once per message instead of PTB's object per parameter; read by either transport
    through `RequestData`'s documented `json_parameters` / `multipart_data` (no files here).
    """

    __slots__ = ("_encoded",)

    def __init__(self, encoded: dict[str, str]) -> None:
        super().__init__()
        self._encoded = encoded

    @property
    def parameters(self) -> dict[str, str]:  # type: ignore[override]
        return self._encoded

    @property
    def json_parameters(self) -> dict[str, str]:
        return self._encoded


class TelegramSender(Sender):
    """Sends `sendMessage` and maps every Telegram answer to an `Outcome`.

    It posts through the bot's own `BaseRequest` (same transport, timeouts and PTB's mapping
    of answers to `RetryAfter`/`Forbidden`/`ChatMigrated`/`BadRequest`/...), but skips
    `Bot.send_message`'s object layer: building a `Message` from every answer only to read its
    id was half of the bot's CPU in a 100,000-chat fan-out (bench/RESULTS.md, section 3).
    """

    platform = PLATFORM
    limits = ChatLimits(interval=1.0, group_per_minute=20)  # Telegram's per-chat and per-group

    def __init__(self, application: Application) -> None:
        self.application = application

    async def _send_message(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
                            ) -> int:  # fmt: skip
        bot = self.application.bot
        encoded = {
            "chat_id": str(chat_id),
            "text": text,
            "parse_mode": ParseMode.HTML.value,
            "link_preview_options": _NO_LINK_PREVIEW,
        }
        if markup is not None:
            encoded["reply_markup"] = json.dumps(markup.to_dict())
        result = await bot.request.post(f"{bot.base_url}/sendMessage", EncodedParameters(encoded))
        if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
            raise GarbledAnswer(f"sendMessage answered without a message id: {result!r:.200}")
        return result["message_id"]

    async def send(
        self, chat: Chat, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> SendResult:
        try:
            message_id = await self._send_message(chat.external_id, text, _markup(buttons))
        except RetryAfter as exc:
            return SendResult(Outcome.RETRY_AFTER, retry_after=_seconds(exc.retry_after),
                              error=exc.message)  # fmt: skip
        except Forbidden as exc:
            return SendResult(Outcome.FORBIDDEN, error=exc.message)
        except ChatMigrated as exc:
            return SendResult(Outcome.MIGRATED, new_chat_id=exc.new_chat_id, error=exc.message)
        except BadRequest as exc:  # before NetworkError, which it subclasses
            if CHAT_GONE in exc.message.lower():
                # Deleted, or never known to Telegram: like a block, nothing reaches the chat
                # until it writes to the bot again (which reactivates it).
                return SendResult(Outcome.FORBIDDEN, error=exc.message)
            return SendResult(Outcome.REJECTED, error=exc.message)
        except TimedOut as exc:
            # The request left; Telegram may have delivered it. Retrying errs towards a
            # repeat rather than a lost alert (see bot/delivery.py).
            return SendResult(Outcome.TRANSIENT, error=f"timed out: {exc.message}")
        except NetworkError as exc:
            return SendResult(Outcome.TRANSIENT, error=exc.message)
        except InvalidToken as exc:  # 401 (token revoked) or 404 (wrong TELEGRAM_API_URL)
            return SendResult(Outcome.UNAUTHORIZED, error=exc.message)
        except GarbledAnswer as exc:
            return SendResult(Outcome.REJECTED, error=exc.message)
        except TelegramError as exc:  # e.g. a proxy's HTML page instead of JSON: try again
            return SendResult(Outcome.TRANSIENT, error=f"unexpected answer: {exc.message}")
        return SendResult(Outcome.SENT, message_id=message_id)


def _core(context: ContextTypes.DEFAULT_TYPE) -> Core:
    return context.application.bot_data["core"]


async def _chat_for(core: Core, message: Message) -> Chat:
    chat = message.chat
    title = chat.title or chat.username or chat.first_name
    return await core.store.ensure_chat(PLATFORM, chat.id, chat.type, title, core.settings.timezone)


async def answer(core: Core, chat: Chat, user_id: int, text: str, is_admin_hint: bool,
                 context: ContextTypes.DEFAULT_TYPE) -> None:  # fmt: skip
    """Parse a command, run it, and send the reply ahead of any queued alerts."""
    parsed = parse_command(text, context.bot.username)
    if parsed is None:
        return
    command, args = parsed

    async def is_admin() -> bool:
        if not chat.is_group or is_admin_hint:
            return True
        member = await context.bot.get_chat_member(chat.external_id, user_id)
        return member.status in {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}

    request = Request(command, args, chat, user_id, core.store, core.clock, core.settings, is_admin)
    reply = await core.run(request)
    await send_reply(core, chat, reply)


async def send_reply(core: Core, chat: Chat, reply: Reply) -> None:
    sender = core.delivery.senders[PLATFORM]
    for _ in range(REPLY_ATTEMPTS):
        await core.gate.acquire(chat, sender.limits, urgent=True)
        result = await sender.send(chat, reply.text, reply.buttons)
        if result.outcome == Outcome.RETRY_AFTER:
            core.delivery.throttled(chat, result.retry_after)
            continue
        if result.outcome == Outcome.MIGRATED and result.new_chat_id is not None:
            await core.store.migrate_chat(chat.id, result.new_chat_id)
            chat = await core.store.chat(PLATFORM, result.new_chat_id) or chat
            continue
        if result.outcome == Outcome.FORBIDDEN:
            log.warning("reply to chat %d not delivered, chat deactivated: %s",
                        chat.external_id, result.error)  # fmt: skip
            await core.store.set_chat_active(chat.id, False)
        if result.outcome != Outcome.TRANSIENT:
            if result.outcome == Outcome.REJECTED:
                log.error("reply to chat %d rejected: %s", chat.external_id, result.error)
            return


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every command message, in private chats and groups."""
    message = update.message
    if message is None or message.text is None:
        return
    core = _core(context)
    chat = await _chat_for(core, message)
    # An anonymous group admin writes as the group itself.
    anonymous_admin = message.sender_chat is not None and message.sender_chat.id == message.chat.id
    user_id = message.from_user.id if message.from_user else 0
    await answer(core, chat, user_id, message.text, anonymous_admin, context)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text in a private chat: point at the commands instead of staying silent."""
    message = update.message
    if message is None:
        return
    core = _core(context)
    chat = await _chat_for(core, message)
    await send_reply(
        core, chat, Reply("I answer commands — try <code>/score Belgium</code> or /help.")
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press is the command text it carries, from the user who pressed it."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer()  # stops the button's spinner; the reply below is the answer
    except BadRequest as exc:
        # Pressed while the bot was down or busy: Telegram's window to answer has passed
        # ("query is too old"). The press is still a command the user wants answered.
        log.info("button press in chat %s not acknowledged: %s", query.from_user.id, exc.message)
    message = query.message
    if not isinstance(message, Message) or not query.data:
        return
    core = _core(context)
    chat = await _chat_for(core, message)
    await answer(core, chat, query.from_user.id, query.data, False, context)


async def on_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Removed from a chat: stop its alerts. Added back: resume them."""
    change = update.my_chat_member
    if change is None:
        return
    core = _core(context)
    gone = change.new_chat_member.status in {ChatMember.LEFT, ChatMember.BANNED}
    chat = change.chat
    known = await core.store.chat(PLATFORM, chat.id)
    if gone:
        if known is not None:
            await core.store.set_chat_active(known.id, False)
        return
    title = chat.title or chat.username or chat.first_name
    await core.store.ensure_chat(PLATFORM, chat.id, chat.type, title, core.settings.timezone)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log handler errors; the token is redacted by the logging filter in bot/logs.py."""
    log.error("error handling an update: %s", context.error, exc_info=context.error)


def register(application: Application) -> None:
    """Every Telegram handler, in one place."""
    only_new = filters.UpdateType.MESSAGE  # edited messages are not new commands
    application.add_handler(MessageHandler(only_new & filters.COMMAND, on_command))
    application.add_handler(
        MessageHandler(
            only_new & filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, on_text
        )
    )
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(ChatMemberHandler(on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(on_error)


def bot_commands() -> list[BotCommand]:
    return [BotCommand(c.name, c.summary) for c in COMMANDS if c.menu]
