"""The fake Bot API server: real HTTP on 127.0.0.1, every call recorded and routed to its
method, scripted faults applied on the way."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from tests.fake_telegram.errors import FakeApiError, FakeError, Recorded, bad_request
from tests.fake_telegram.methods import BotApiMethods
from tests.fake_telegram.params import coerce_params
from tests.fake_telegram.updates import UpdateInjection

JSON = dict[str, Any]
T = TypeVar("T")


class FakeTelegram(UpdateInjection, BotApiMethods):
    """In-process Bot API server; an async context manager that binds 127.0.0.1:<free port>.

    Strict by default, like Telegram (see ``FakeState``); a test that needs it lenient says
    so where it builds the fake.
    """

    _runner: web.AppRunner | None = None
    _port: int | None = None

    # ---------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind to a free port on 127.0.0.1 (port 0 -> the OS picks)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])  # the port the OS actually bound

    async def stop(self) -> None:
        """Release long polls and delayed answers first so shutdown is immediate."""
        self._closing.set()
        self._notify()
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (only valid after start)."""
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """Value for ``Bot(base_url=...)`` / ``ApplicationBuilder.base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``Bot(base_file_url=...)``; file downloads answer 404."""
        return f"{self.url}/file/bot"

    # ---------------------------------------------------------------- inspection
    def calls(self, method: str) -> list[Recorded]:
        """Recorded calls of one method (case-insensitive, like the Bot API)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def messages_to(
        self, chat_id: int, *, visible: bool = False, include_edits: bool = False
    ) -> list[str]:
        """Texts sent to ``chat_id`` in order (raw as sent, or visible after HTML parsing)."""
        return [
            s.visible_text if visible else s.text
            for s in self.sent
            if s.chat_id == chat_id and (include_edits or s.method == "sendMessage")
        ]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """Current state of a message (after edits) as Telegram would return it."""
        return self._messages.get((chat_id, message_id))

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands stored by setMyCommands for a scope (default scope when None)."""
        return list(self.commands.get(self._commands_key(scope, language_code), []))

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
    ) -> T:
        """Wait until ``predicate()`` is truthy; woken by every fake event, never spins."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"condition not met within {timeout}s; sent so far: "
                    f"{[(s.chat_id, s.text) for s in self.sent][-20:]}"
                )
            event = self._changed
            # Re-check at least every 0.1 s for predicates over state the fake cannot see.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.1))

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
        *,
        visible: bool = False,
    ) -> list[str]:
        """Wait for ``count`` messages to ``chat_id``; return the first ``count`` texts."""
        try:
            await self.wait_for(lambda: len(self.messages_to(chat_id)) >= count, timeout=timeout)
        except AssertionError:
            raise AssertionError(
                f"expected {count} message(s) to chat {chat_id} within {timeout}s, got "
                f"{self.messages_to(chat_id)!r}"
            ) from None
        return self.messages_to(chat_id, visible=visible)[:count]

    # ---------------------------------------------------------------- HTTP
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Entry point for every HTTP request; never lets an exception escape."""
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", request.path)
        method = match.group(2) if match else request.path
        record = Recorded(method=method, params={}, time=time.monotonic())
        self.requests.append(record)
        try:
            try:
                record.params = await self._read_params(request)
            except FakeApiError:
                raise
            except Exception as exc:
                raise bad_request(f"can't parse request body: {exc}") from exc
            if match is None:
                raise FakeApiError(404, "Not Found")
            if match.group(1) != self.token:
                raise FakeApiError(401, "Unauthorized")
            handler = self.handler(method)
            if handler is None:
                raise FakeApiError(404, "Not Found")
            fault = self._take_fault(method, record.params)
            if fault is not None and fault.kind == "drop":
                return self._drop(request, record)
            if fault is not None and fault.kind == "error":
                new_chat = (fault.parameters or {}).get("migrate_to_chat_id")
                if isinstance(new_chat, int):  # the supergroup exists on Telegram from now on
                    self._chat(new_chat, "supergroup")
                raise FakeApiError(fault.status, fault.description, fault.parameters)
            if fault is not None and fault.kind == "raw":
                record.status = fault.status
                self._notify()
                return web.Response(status=fault.status, text=fault.description)
            if fault is not None and fault.kind == "answer":
                return self._ok(record, (fault.parameters or {}).get("result"))
            try:
                response = self._ok(record, await handler(record.params))
            except FakeApiError as exc:
                response = self._error(record, exc)
            if fault is not None and fault.kind == "timeout":
                await self._sleep(fault.delay)
            return response
        except FakeApiError as exc:
            return self._error(record, exc)
        except Exception as exc:  # the fake must answer, never crash
            return self._error(record, bad_request(f"fake server error: {exc!r}"))

    async def _read_params(self, request: web.Request) -> JSON:
        """Accept query string, urlencoded, multipart (PTB's choice) and JSON bodies."""
        raw: JSON = dict(request.query)
        if request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise bad_request("can't parse JSON request body") from exc
                if not isinstance(body, dict):
                    raise bad_request("request body must be a JSON object")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key in form:
                    value = form[key]
                    if isinstance(value, web.FileField):
                        raw[key] = {"filename": value.filename, "content_type": value.content_type}
                    else:
                        raw[key] = value
        return coerce_params(raw)

    def _take_fault(self, method: str, params: JSON) -> FakeError | None:
        chat_id = params.get("chat_id")
        for fault in self._faults:
            if fault.method is not None and fault.method != method.lower():
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault.error
        return None

    def _ok(self, record: Recorded, result: Any) -> web.Response:
        record.status = 200
        self._notify()
        return web.json_response({"ok": True, "result": result})

    def _error(self, record: Recorded, exc: FakeApiError) -> web.Response:
        record.status = exc.status
        body: JSON = {"ok": False, "error_code": exc.status, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        self._notify()
        return web.json_response(body, status=exc.status)

    def _drop(self, request: web.Request, record: Recorded) -> web.Response:
        """Abort the socket; aiohttp's later write to it is a silent no-op."""
        record.status = None
        if request.transport is not None:
            request.transport.abort()
        self._notify()
        return web.Response(status=500)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but return at once when the fake shuts down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
