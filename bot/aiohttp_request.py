"""python-telegram-bot's `BaseRequest` on aiohttp: the bot's HTTP client when MATCHDAY_HTTP=aiohttp.

It mirrors PTB's own `HTTPXRequest` (constructor arguments, defaults and semantics) so that the
rest of the bot cannot tell the two apart:

- Timeouts, each overridable per call and `DEFAULT_NONE` meaning "the instance's default":
  *connect* bounds establishing a connection (DNS, TCP, TLS, proxy CONNECT); *read* bounds
  each wait for response bytes once the request is written (`getUpdates` passes its long-poll
  timeout on top, via the `read_timeout` property); *write* bounds each socket write of the
  request body (*media_write_timeout* when files are uploaded); *pool* bounds the wait for one
  of the `connection_pool_size` connections. `None` means no limit. Any of them expiring raises
  `telegram.error.TimedOut`; a pool timeout says the request was not sent, as httpx's does.
- Every other transport failure (refused, reset or dropped connection, bad proxy, TLS ...)
  raises `telegram.error.NetworkError` naming aiohttp's exception class. Neither carries the
  bot token: messages are redacted and nothing is chained to aiohttp's own exception, whose
  text may hold the full URL (see `do_request`).
- TLS is verified against certifi's CA bundle, as httpx does, not the host's CA store.
- `do_request` only returns `(status, body)`: PTB's `BaseRequest` maps status codes to
  `RetryAfter`, `Forbidden`, `ChatMigrated`, `BadRequest`, `InvalidToken`, `NetworkError`.
- Proxies: an explicit `proxy` URL, else (like httpx) the `HTTPS_PROXY` / `HTTP_PROXY` /
  `ALL_PROXY` / `NO_PROXY` environment convention. HTTP(S) proxies only: aiohttp has no SOCKS
  support without the third-party `aiohttp-socks`. Like httpx, the environment is read when
  the client opens (once per origin), not per request: aiohttp's own `trust_env=True` looks
  it up, and `.netrc`, in a worker thread on every request, which cost ~40% of a fan-out.
- HTTP/1.1 only (aiohttp has no HTTP/2).

The aiohttp session is created in the running event loop (in `initialize`, or on first use as
HTTPXRequest allows) and closed by `shutdown`; a shut-down instance refuses requests until it
is initialized again.
"""

from __future__ import annotations

import asyncio
import functools
import io
import re
import socket
import ssl
from collections.abc import Collection
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import aiohttp
import certifi
from aiohttp.abc import AbstractStreamWriter
from aiohttp.helpers import get_env_proxy_for_url
from aiohttp.payload import Payload
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import HTTPVersion, ODVInput, SocketOpt
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

_TOKEN_IN_URL = re.compile(r"/bot[^/\s]+/")


def redact(text: str, url: str) -> str:
    """`text` without the token of the Bot API `url`, in any spelling aiohttp may give it."""
    path = urlsplit(url).path
    token = path.split("/bot", 1)[1].split("/", 1)[0] if "/bot" in path else ""
    if token:
        for spelling in {token, unquote(token), quote(token, safe=""), quote(token)}:
            text = text.replace(spelling, "[redacted]")
    return _TOKEN_IN_URL.sub("/bot[redacted]/", text)


def _describe(err: BaseException, url: str) -> str:
    """`aiohttp.ClientConnectorError: Cannot connect to host …`, token redacted."""
    module = "aiohttp" if type(err).__module__.startswith("aiohttp") else type(err).__module__
    detail = f"{module}.{type(err).__name__}"
    return redact(f"{detail}: {err}" if str(err) else detail, url)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Certificates are verified against certifi's CA bundle, as PTB's httpx transport does:
    the same trust on every host, including those without a system CA store."""
    return ssl.create_default_context(cafile=certifi.where())

__all__ = ["AiohttpRequest"]

_POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)


class _WriteTimeout(TimeoutError):
    """One socket write of the request body took longer than the write timeout."""


class _TimedWriter:
    """aiohttp's stream writer, with each `write` bounded like httpx's write timeout.

    aiohttp has no write timeout of its own (its read timer starts once the body is written),
    so the body payload is handed this proxy instead of the real writer.
    """

    def __init__(self, writer: AbstractStreamWriter, timeout: float) -> None:
        self._writer = writer
        self._timeout = timeout

    async def write(self, chunk: Any, *args: Any, **kwargs: Any) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._writer.write(chunk, *args, **kwargs)
        except TimeoutError as exc:
            raise _WriteTimeout(f"writing the request body took over {self._timeout}s") from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


class _WriteTimeoutPayload(Payload):
    """Wraps a body payload so that its writes go through `_TimedWriter`."""

    def __init__(self, inner: Payload, timeout: float) -> None:
        super().__init__(inner, headers=inner.headers)
        self._inner = inner
        self._timeout = timeout
        self._size = inner.size

    @property
    def consumed(self) -> bool:
        return self._inner.consumed

    @property
    def autoclose(self) -> bool:
        return self._inner.autoclose

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self._inner.decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self._inner.write(_TimedWriter(writer, self._timeout))  # type: ignore[arg-type]

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        timed = _TimedWriter(writer, self._timeout)
        await self._inner.write_with_length(timed, content_length)  # type: ignore[arg-type]

    def _close(self) -> None:
        self._inner._close()

    async def close(self) -> None:
        await self._inner.close()


class AiohttpRequest(BaseRequest):
    """`telegram.request.BaseRequest` on an `aiohttp.ClientSession`; arguments as HTTPXRequest's.

    Args:
        connection_pool_size: most connections open (and requests in flight) at once.
        read_timeout, write_timeout, connect_timeout, pool_timeout: defaults in seconds for
            each request, `None` for no limit (see the module docstring).
        http_version: only ``"1.1"``; anything else raises `ValueError`.
        socket_options: `(level, option, value)` tuples set on every new socket.
        proxy: proxy URL such as ``http://127.0.0.1:3128``; when `None`, the environment's
            ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` apply.
        media_write_timeout: the write timeout for requests that upload files.
        aiohttp_kwargs: extra `aiohttp.ClientSession` arguments, overriding ours.
    """

    __slots__ = (
        "_connect_timeout",
        "_env_proxies",
        "_http_version",
        "_media_write_timeout",
        "_pool",
        "_pool_size",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_session",
        "_session_kwargs",
        "_shut_down",
        "_socket_options",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        http_version: HTTPVersion = "1.1",
        socket_options: Collection[SocketOpt] | None = None,
        proxy: str | None = None,
        media_write_timeout: float | None = 20.0,
        aiohttp_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if http_version != "1.1":
            raise ValueError("`http_version` must be '1.1': aiohttp does not speak HTTP/2.")
        if connection_pool_size < 1:
            raise ValueError("`connection_pool_size` must be at least 1.")
        if proxy is not None and not proxy.lower().startswith(("http://", "https://")):
            raise ValueError("aiohttp supports only http:// and https:// proxies.")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._http_version = http_version
        self._socket_options = tuple(socket_options or ())
        self._proxy = proxy
        self._session_kwargs = dict(aiohttp_kwargs or {})
        self._session: aiohttp.ClientSession | None = None
        self._env_proxies: dict[str, tuple[URL | None, aiohttp.BasicAuth | None]] = {}
        self._pool: asyncio.Semaphore | None = None
        self._shut_down = False

    # ------------------------------------------------------------------ properties
    @property
    def http_version(self) -> str:
        return self._http_version

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout; `Bot.get_updates` adds its long-poll timeout to it."""
        return self._read_timeout

    @property
    def proxy(self) -> str | None:
        """The explicit proxy, if one was given (the environment's is chosen per request)."""
        return self._proxy

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context every connection is verified with: see `tls_context`."""
        return tls_context()

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The live aiohttp session, or None before first use and after `shutdown`."""
        return self._session

    # ------------------------------------------------------------------ lifecycle
    def _build_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=self.ssl_context,
            limit=self._pool_size,
            limit_per_host=0,
            socket_factory=self._socket_factory() if self._socket_options else None,
        )
        kwargs: dict[str, Any] = {
            "connector": connector,
            "proxy": self._proxy,
            # Timeouts are given per request; aiohttp's 5-minute total must not cut a long poll.
            "timeout": aiohttp.ClientTimeout(total=None),
            "headers": {"User-Agent": self.USER_AGENT},
            "raise_for_status": False,
            **self._session_kwargs,
        }
        return aiohttp.ClientSession(**kwargs)

    def _socket_factory(self) -> Any:
        options = self._socket_options

        def factory(addr_info: Any) -> socket.socket:
            family, kind, proto, _, _ = addr_info
            sock = socket.socket(family=family, type=kind, proto=proto)
            for option in options:
                sock.setsockopt(*option)
            return sock

        return factory

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self._build_session()
            self._env_proxies = {}
            self._pool = asyncio.Semaphore(self._pool_size)
        return self._session

    async def initialize(self) -> None:
        """See `BaseRequest.initialize`: (re)opens the session in the running loop."""
        self._shut_down = False
        self._ensure_session()

    async def shutdown(self) -> None:
        """See `BaseRequest.shutdown`: closes the session and its connections."""
        self._shut_down = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    # ------------------------------------------------------------------ requests
    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See `BaseRequest.do_request`."""
        if self._shut_down:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        session = self._ensure_session()
        pool = self._pool
        assert pool is not None

        files = request_data.multipart_data if request_data else None
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._write_timeout if not files else self._media_write_timeout

        body = self._body(request_data, files, write_timeout)
        timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=read_timeout)

        # aiohttp's own pool wait has no separate timeout (it counts against `connect`), so the
        # pool is a semaphore of the connector's size: the connector itself never makes us wait.
        if pool.locked():
            try:
                async with asyncio.timeout(pool_timeout):
                    await pool.acquire()
            except TimeoutError as err:
                raise TimedOut(message=_POOL_TIMEOUT_MESSAGE) from err
        else:
            await pool.acquire()
        # Bot API URLs carry the token, and aiohttp repeats the URL in some errors ("Connection
        # timeout to host https://…/bot<token>/getMe"). An exception chained to such an error
        # prints it in every traceback, including the one Python prints at exit, which no log
        # filter sees. So the error we raise is built from a redacted description and raised
        # outside the `except` block: it has no __cause__ and no __context__ to leak.
        failure: NetworkError
        try:
            proxy, proxy_auth = self._env_proxy(url) if self._proxy is None else (None, None)
            async with session.request(
                method, url, data=body, timeout=timeout, proxy=proxy, proxy_auth=proxy_auth
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's connect/read timeouts and our write timeout
            failure = TimedOut(f"Timed out ({_describe(err, url)})")
        except Exception as err:  # aiohttp.ClientError, or anything else the URL upset
            failure = NetworkError(_describe(err, url))
        finally:
            pool.release()
        raise failure

    def _env_proxy(self, url: str) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        """The environment's proxy for this URL's origin, looked up once per session."""
        path_at = url.find("/", url.find("//") + 2)
        origin = url if path_at < 0 else url[:path_at]
        found = self._env_proxies.get(origin)
        if found is None:
            try:
                found = get_env_proxy_for_url(URL(origin))
            except LookupError:  # no proxy set for the scheme, or NO_PROXY names the host
                found = (None, None)
            self._env_proxies[origin] = found
        return found

    @staticmethod
    def _body(
        request_data: RequestData | None, files: dict[str, Any] | None, write_timeout: float | None
    ) -> Payload | None:
        """The request body as httpx would send it: urlencoded form, multipart with files."""
        if request_data is None:
            return None
        params = request_data.json_parameters
        payload: Payload
        if files:
            form = aiohttp.FormData()
            for name, value in params.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                if isinstance(content, bytes):  # streamed in chunks, not one huge write
                    content = io.BytesIO(content)
                form.add_field(name, content, filename=filename, content_type=mimetype)
            payload = form()
        else:
            payload = aiohttp.BytesPayload(
                urlencode(params).encode("ascii"),
                content_type="application/x-www-form-urlencoded",
            )
        if write_timeout is None:
            return payload
        return _WriteTimeoutPayload(payload, write_timeout)
