"""The websocket half of the fake Discord: a gateway (v10) served by aiohttp on 127.0.0.1.

Why: discord.py's `Client` keeps its session by Discord's protocol — HELLO, IDENTIFY, READY
with a `resume_gateway_url`, heartbeats answered by ACKs, RESUME after a drop with the
events it missed replayed, INVALID_SESSION and RECONNECT, close codes it reconnects on
(4000, 1006) or gives up on (4004). This fake speaks that protocol, so the bot's real
client is what a test drives, and a test can break the connection the ways Discord does.

- Connections are accepted at ``/gateway/`` (DISCORD_GATEWAY_URL) and ``/resume/`` (the
  ``resume_gateway_url`` READY names), with ``?v=10&encoding=json`` and optionally
  ``compress=zlib-stream``: one zlib stream per connection, each frame ending in a sync
  flush, as Discord sends them (a dispatch cut across two websocket messages, as Discord may
  cut a payload). Without it, frames are plain JSON text.
- A session outlives its connection: dispatches sent while no connection is up wait in the
  session and are replayed by a RESUME, then RESUMED — exactly what Discord promises.
- Every session of the bot gets every event, as Discord sends them to each session of an
  unsharded bot: two processes holding sessions would both hear each slash command.
- Faults: `drop` (the TCP connection vanishes: the client sees 1006), `close(code)`,
  `reconnect` (op 7), `invalidate(resumable)` (op 9); `refuse_identify` closes with 4004;
  `request_heartbeat` (op 1 from the gateway) wants a heartbeat back at once.
"""

from __future__ import annotations

import itertools
import json
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.fake_discord import FakeDiscord

JSON = dict[str, Any]

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, INVALID_SESSION, HELLO, HEARTBEAT_ACK = (
    0, 1, 2, 6, 7, 9, 10, 11)  # fmt: skip
HEARTBEAT_INTERVAL_MS = 41_250  # what Discord sends in HELLO
UNKNOWN_ERROR, UNKNOWN_OPCODE, DECODE_ERROR, NOT_AUTHENTICATED = 4000, 4001, 4002, 4003
AUTHENTICATION_FAILED, ALREADY_AUTHENTICATED, INVALID_INTENTS = 4004, 4005, 4013
ABNORMAL_CLOSURE = 1006  # no close frame at all: the connection just went


@dataclass
class Session:
    """A gateway session: its sequence and every dispatch, kept for RESUME."""

    id: str
    events: list[JSON] = field(default_factory=list)
    connection: Connection | None = None
    resumes: int = 0
    invalid: bool = False

    @property
    def seq(self) -> int:
        return len(self.events)


@dataclass
class Connection:
    """One websocket the client opened, and what happened on it."""

    path: str
    compress: str | None
    ws: web.WebSocketResponse
    request: web.Request
    compressor: Any = None
    received: list[JSON] = field(default_factory=list)  # the client's payloads
    sent: list[JSON] = field(default_factory=list)  # ours, before compression
    heartbeats: int = 0
    session: Session | None = None
    closed_with: int | None = None

    def ops(self, op: int) -> list[JSON]:
        return [p for p in self.received if p.get("op") == op]


class FakeGateway:
    """Discord's gateway for one bot; `owner` is the fake Discord it belongs to (token,
    bot user, guilds, and the `notify` every test wait hangs on)."""

    def __init__(self, owner: FakeDiscord) -> None:
        self.owner = owner
        self.heartbeat_interval_ms = HEARTBEAT_INTERVAL_MS
        self.refuse_identify = False  # close IDENTIFY with 4004 even for the right token
        self.connections: list[Connection] = []
        self.sessions: dict[str, Session] = {}
        self.session: Session | None = None  # the bot's current session
        self._session_ids = itertools.count(1)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/gateway/", self._serve)
        app.router.add_get("/resume/", self._serve)

    # -- what tests ask ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.owner.port}/gateway/"

    @property
    def resume_url(self) -> str:
        return f"ws://127.0.0.1:{self.owner.port}/resume/"

    @property
    def connected(self) -> bool:
        """A session is attached to an open connection (READY or RESUMED was sent)."""
        session = self.session
        return bool(session and session.connection and not session.connection.ws.closed)

    def ready(self) -> bool:
        """The bot identified, got READY and every GUILD_CREATE."""
        return self.connected and any(
            e["t"] == "GUILD_CREATE" for e in (self.session.events if self.session else []))

    def dispatches(self, name: str) -> list[JSON]:
        return [e for e in (self.session.events if self.session else []) if e["t"] == name]

    # -- faults ------------------------------------------------------------------------------

    async def drop(self) -> None:
        """The current connection vanishes without a close frame: the client reads 1006."""
        connection = self._current()
        connection.closed_with = ABNORMAL_CLOSURE
        transport = connection.request.transport
        assert transport is not None
        transport.abort()
        self._detach(connection)

    async def close(self, code: int, reason: str = "") -> None:
        connection = self._current()
        connection.closed_with = code
        self._detach(connection)
        await connection.ws.close(code=code, message=reason.encode())

    async def request_heartbeat(self) -> None:
        """Op 1 from the gateway: the client must heartbeat at once (Discord does this)."""
        await self._send(self._current(), {"op": HEARTBEAT, "d": None})

    async def reconnect(self) -> None:
        """Op 7: the client should close and resume on a new connection."""
        await self._send(self._current(), {"op": RECONNECT, "d": None})

    async def invalidate(self, resumable: bool) -> None:
        """Op 9: a non-resumable session is gone; the client must IDENTIFY afresh."""
        connection = self._current()
        if not resumable and connection.session is not None:
            connection.session.invalid = True
        await self._send(connection, {"op": INVALID_SESSION, "d": resumable})

    async def dispatch(self, name: str, data: JSON, session: Session | None = None) -> int:
        """An event for one `session` (READY, GUILD_CREATE, RESUMED), or for the bot: then,
        as Discord does for an unsharded bot, for every session it holds, however many
        processes opened them. Each session numbers it in its own sequence, sends it now if
        connected, else keeps it for a RESUME. Returns its number in the current session."""
        current = session or self.session
        if current is None:
            raise RuntimeError("the bot has no gateway session yet")
        targets = [session] if session else [s for s in self.sessions.values() if not s.invalid]
        seq = 0
        for target in targets:
            frame = {"op": DISPATCH, "t": name, "s": target.seq + 1, "d": data}
            target.events.append(frame)
            connection = target.connection
            if connection is not None and not connection.ws.closed:
                await self._send(connection, frame)
            if target is current:
                seq = frame["s"]
        self.owner.notify()
        return seq

    def heard(self, name: str, event_id: str) -> list[Connection]:
        """The connections that were sent the dispatch `name` whose ``d.id`` is `event_id`:
        which bot processes heard of, say, one INTERACTION_CREATE."""
        return [c for c in self.connections
                if any(f["t"] == name and (f["d"] or {}).get("id") == event_id
                       for f in c.sent)]  # fmt: skip

    # -- the protocol ------------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        compress = request.query.get("compress")
        connection = Connection(request.path, compress, ws, request)
        self.connections.append(connection)
        self.owner.notify()
        if request.query.get("v") != "10" or request.query.get("encoding", "json") != "json":
            await ws.close(code=4012, message=b"Invalid API version")
            return ws
        if compress == "zlib-stream":
            connection.compressor = zlib.compressobj()
        elif compress is not None:  # Discord also speaks zstd-stream; this fake does not
            await ws.close(code=UNKNOWN_ERROR, message=b"unsupported compression")
            return ws
        await self._send(connection, {"op": HELLO,
                                      "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    await ws.close(code=DECODE_ERROR, message=b"Decode error")
                    break
                payload = json.loads(message.data)
                connection.received.append(payload)
                await self._on(connection, payload)
                self.owner.notify()
        finally:
            if connection.closed_with is None:
                connection.closed_with = ws.close_code or ABNORMAL_CLOSURE
            self._detach(connection)
            self.owner.notify()
        return ws

    async def _on(self, connection: Connection, payload: JSON) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == HEARTBEAT:
            connection.heartbeats += 1
            await self._send(connection, {"op": HEARTBEAT_ACK, "d": None})
        elif op == IDENTIFY:
            await self._identify(connection, data or {})
        elif op == RESUME:
            await self._resume(connection, data or {})
        elif connection.session is None:
            await self._refuse(connection, NOT_AUTHENTICATED, "Not authenticated")
        else:
            await self._refuse(connection, UNKNOWN_OPCODE, "Unknown opcode")

    async def _identify(self, connection: Connection, data: JSON) -> None:
        if connection.session is not None:
            await self._refuse(connection, ALREADY_AUTHENTICATED, "Already authenticated")
            return
        if data.get("token") != self.owner.token or self.refuse_identify:
            await self._refuse(connection, AUTHENTICATION_FAILED, "Authentication failed")
            return
        if not isinstance(data.get("intents"), int):  # required since gateway v8
            await self._refuse(connection, INVALID_INTENTS, "Invalid intent(s)")
            return
        session = Session(f"fake-session-{next(self._session_ids)}")
        self.sessions[session.id] = session
        self.session = session
        self._attach(connection, session)
        owner = self.owner
        await self.dispatch("READY", session=session, data={
            "v": 10, "user": owner.bot_user(), "session_id": session.id,
            "resume_gateway_url": self.resume_url, "session_type": "normal",
            "guilds": [{"id": str(g), "unavailable": True} for g in owner.guild_ids()],
            "application": {"id": str(owner.application_id), "flags": 0},
            "private_channels": [], "relationships": [], "presences": [],
            "guild_join_requests": [], "geo_ordered_rtc_regions": [], "_trace": ["fake"],
        })  # fmt: skip
        for guild in owner.guild_payloads():
            await self.dispatch("GUILD_CREATE", guild, session)

    async def _resume(self, connection: Connection, data: JSON) -> None:
        if data.get("token") != self.owner.token:
            await self._refuse(connection, AUTHENTICATION_FAILED, "Authentication failed")
            return
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or session.invalid or not isinstance(seq, int) or seq > session.seq:
            await self._send(connection, {"op": INVALID_SESSION, "d": False})
            return
        session.resumes += 1
        self.session = session
        self._attach(connection, session)
        for frame in session.events[seq:]:  # what the client missed, in order
            await self._send(connection, frame)
        await self.dispatch("RESUMED", {"_trace": ["fake"]}, session)

    async def _refuse(self, connection: Connection, code: int, reason: str) -> None:
        connection.closed_with = code
        self._detach(connection)
        await connection.ws.close(code=code, message=reason.encode())

    def _attach(self, connection: Connection, session: Session) -> None:
        previous = session.connection
        if previous is not None and previous is not connection:
            previous.session = None
        connection.session = session
        session.connection = connection

    def _detach(self, connection: Connection) -> None:
        session = connection.session
        if session is not None and session.connection is connection:
            session.connection = None

    def _current(self) -> Connection:
        session = self.session
        if session is None or session.connection is None:
            raise RuntimeError("the bot is not connected to the gateway")
        return session.connection

    async def _send(self, connection: Connection, payload: JSON) -> None:
        frame = {"op": payload["op"], "d": payload.get("d"),
                 "s": payload.get("s"), "t": payload.get("t")}  # fmt: skip
        connection.sent.append(frame)
        if connection.ws.closed:
            return
        text = json.dumps(frame)
        if connection.compressor is None:
            await connection.ws.send_str(text)
            return
        data = connection.compressor.compress(text.encode())
        data += connection.compressor.flush(zlib.Z_SYNC_FLUSH)
        if frame["op"] == DISPATCH and len(data) > 8:
            # Discord may cut one payload across websocket messages; only the last ends in
            # the sync-flush suffix. Dispatches come cut in two, so clients must buffer.
            half = len(data) // 2
            await connection.ws.send_bytes(data[:half])
            data = data[half:]
        await connection.ws.send_bytes(data)
