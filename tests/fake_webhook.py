"""The fake Bot API's webhook mode: `setWebhook` makes it POST updates to the bot, as Telegram
does, instead of answering `getUpdates` (which then fails with Telegram's 409)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import aiohttp

JSON = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
RETRY_SECONDS = 0.2  # Telegram retries a failed delivery later; the fake, sooner


class WebhookPusher:
    """Delivers queued updates one at a time, in order, to the registered URL."""

    def __init__(self, take: Callable[[], JSON | None], done: Callable[[JSON], None]) -> None:
        self._take, self._done = take, done
        self.url = ""
        self.secret: str | None = None
        self.deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status) per attempt
        self.last_error = ""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def set(self, url: str, secret: str | None) -> None:
        self.url, self.secret = url, secret
        if self._task is None:
            self._task = asyncio.create_task(self._push_forever())
        self.wake()

    def clear(self) -> None:
        self.url, self.secret = "", None

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _push_forever(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                update = self._take() if self.url else None
                if update is None:
                    await self._wake.wait()
                    self._wake.clear()
                    continue
                if await self._post(session, update):
                    self._done(update)
                else:
                    await asyncio.sleep(RETRY_SECONDS)

    async def _post(self, session: aiohttp.ClientSession, update: JSON) -> bool:
        headers = {SECRET_HEADER: self.secret} if self.secret else {}
        try:
            async with session.post(self.url, json=update, headers=headers) as response:
                self.deliveries.append((int(update["update_id"]), response.status))
                if response.status < 300:
                    return True
                self.last_error = f"Wrong response from the webhook: {response.status}"
        except aiohttp.ClientError as exc:
            self.last_error = f"Connection failed: {type(exc).__name__}"
        return False
