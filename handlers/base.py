"""The platform-neutral contract between chat adapters and command handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.settings import Settings
from storage.store import Chat, Store

MAX_ARGS = 200  # longer arguments are refused before any lookup


@dataclass(frozen=True, slots=True)
class Button:
    """A button whose press is just another command text, e.g. ``/score Belgium``."""

    label: str
    command: str


@dataclass(frozen=True, slots=True)
class Reply:
    """Text in Telegram's HTML subset (every dynamic value escaped) and optional buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    command: str  # lower case, without the slash or @botname
    args: str
    chat: Chat
    user_id: int
    store: Store
    clock: Clock
    settings: Settings
    is_admin: Callable[[], Awaitable[bool]] = field(repr=False)


Handler = Callable[[Request], Awaitable[Reply]]
