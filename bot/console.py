"""`matchday console`: the same bot in a terminal, one private chat on stdin, no network."""

from __future__ import annotations

import asyncio
import html
import re
import sys
import threading
from collections.abc import Sequence

from bot.clock import Clock
from bot.core import Core, stop_signals, until_either
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


def _stdin_lines() -> asyncio.Queue[str]:
    """Lines of stdin as they come, then "" at EOF. Read on a daemon thread: a blocked
    `readline` must not keep a process that was told to stop (SIGTERM) from exiting."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        while True:
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(lines.put_nowait, line)
            if not line:
                return

    threading.Thread(target=read, name="stdin", daemon=True).start()
    return lines


async def run_console(settings: Settings, clock: Clock, linger: float = 0.0) -> None:
    """Answer each stdin line; alerts print as they happen. After EOF, wait `linger` seconds.
    SIGTERM or SIGINT stops it in order: no new work, sends finished, marks written."""
    core = await Core.open(settings, clock)
    sender = ConsoleSender()
    core.add_sender(sender)
    try:
        with stop_signals() as stopping:
            chat = await core.store.ensure_chat(
                PLATFORM, CONSOLE_CHAT, "private", "console", settings.timezone
            )
            await core.start_without_job_queue()  # the world as of --now before a question
            if sys.stdin.isatty():
                print("Matchday console — type /help, Ctrl-D to quit.", flush=True)
            await until_either(_converse(core, sender, chat, linger), stopping)
    finally:
        await core.close()


async def _converse(core: Core, sender: ConsoleSender, chat: Chat, linger: float) -> None:
    lines = _stdin_lines()
    while line := await lines.get():
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
