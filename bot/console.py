"""`matchday console`: the same bot in a terminal, one private chat on stdin, no network."""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Sequence

from bot.clock import Clock
from bot.core import Core
from bot.delivery import Outcome, Sender, SendResult
from bot.settings import Settings
from handlers.base import Button, Reply, Request
from handlers.commands import parse_command
from storage.store import Chat

PLATFORM = "console"
CONSOLE_CHAT = 1
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def plain(text: str) -> str:
    """Telegram HTML to terminal text."""
    return html.unescape(_TAG.sub("", text))


class ConsoleSender(Sender):
    platform = PLATFORM

    async def send(
        self, chat: Chat, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> SendResult:
        lines = [plain(text)]
        lines += [f"  [{b.label}] → {b.command}" for row in buttons for b in row]
        print("\n".join(lines), end="\n\n", flush=True)
        return SendResult(Outcome.SENT)


async def run_console(settings: Settings, clock: Clock, linger: float = 0.0) -> None:
    """Answer each stdin line; alerts print as they happen. After EOF, wait `linger` seconds."""
    core = await Core.open(settings, clock)
    sender = ConsoleSender()
    core.add_sender(sender)
    try:
        chat = await core.store.ensure_chat(
            PLATFORM, CONSOLE_CHAT, "private", "console", settings.timezone
        )
        await core.start_without_job_queue()  # the world as of --now before the first question
        if sys.stdin.isatty():
            print("Matchday console — type /help, Ctrl-D to quit.", flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            text = line.strip()
            if not text:
                continue
            reply = await _answer(core, chat, text)
            await sender.send(chat, reply.text, reply.buttons)
            chat = await core.store.chat(PLATFORM, CONSOLE_CHAT) or chat
        if linger > 0:
            await asyncio.sleep(linger)
        async with asyncio.timeout(10):
            await core.delivery.drain()
    finally:
        await core.close()


async def _answer(core: Core, chat: Chat, text: str) -> Reply:
    parsed = parse_command(text)
    if parsed is None:
        return Reply("I answer commands — try <code>/score Belgium</code> or /help.")
    name, args = parsed

    async def is_admin() -> bool:
        return True

    request = Request(name, args, chat, CONSOLE_CHAT, core.store, core.clock,
                      core.settings, is_admin)  # fmt: skip
    return await core.run(request)
