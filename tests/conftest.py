"""Shared fixtures: a real store (on SQLite and on PostgreSQL) holding the bundled World
Cup 2018, replayed to an instant, helpers that build a `Request` exactly as the chat adapters
do, and a real PostgreSQL server (one per test process) with a fresh empty database per test."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import asyncpg
import pytest

from bench.postgres_server import REQUIRED_ENV, PostgresServer, ServerUnavailable, required
from bench.postgres_server import start_server as start_postgres
from bot.clock import Clock
from bot.settings import Settings
from feeds.model import MatchState
from feeds.openfootball import load_bundled_world_cup_2018
from feeds.replay import ReplayFeed
from handlers.alerts import render_alert
from handlers.base import Reply, Request
from handlers.commands import dispatch, parse_command
from storage.db import engine_of
from storage.store import Store

NOW = datetime(2018, 7, 3, 12, 0, tzinfo=UTC)
PLATFORM = "test"
USER_ID = 4242
TELEGRAM_LIMIT = 4096


def world_cup() -> list[MatchState]:
    return load_bundled_world_cup_2018().matches


_BUILT: dict[datetime, bytes] = {}  # the database file each instant gave, built once
_TEMPLATES: dict[tuple[str, datetime], str] = {}  # (server, instant) -> template database


async def build_store(target: Path | str, now: datetime = NOW) -> Store:
    """A store filled with the World Cup 2018 as the replay feed tells it at `now`, at
    `target`: a SQLite file path or the URL of an empty PostgreSQL database.

    The first build for an instant (per engine, per test process) applies the replayed states;
    later ones start from what it left: a copy of the SQLite file (a closed database is one
    self-contained file), or on PostgreSQL `CREATE DATABASE … TEMPLATE` of a copy kept aside.
    """
    location = str(target)
    if engine_of(location) == "postgresql":
        return await _build_postgres(location, now)
    path = Path(location)
    if now not in _BUILT:
        await _fill(path, now)
        _BUILT[now] = path.read_bytes()  # noqa: ASYNC240 (a test fixture's local file)
    else:
        path.write_bytes(_BUILT[now])  # noqa: ASYNC240
    return await Store.open(path)


async def _fill(target: Path | str, now: datetime) -> None:
    matches = world_cup()
    feed = ReplayFeed(matches)
    store = await Store.open(target)
    try:
        states = [feed.state_at(m, now) for m in matches]
        await store.apply(states, now, render_alert, silent=True)
    finally:
        await store.close()


async def _build_postgres(url: str, now: datetime) -> Store:
    """`url` names an empty database (the `postgres_url` fixture's): the first build fills it
    and copies it aside as a template; later builds replace it with a copy of that template
    (a copy costs a file copy, a build thousands of statements)."""
    server, name = url.rsplit("/", 1)
    key = (server, now)
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        if key not in _TEMPLATES:
            await _fill(url, now)
            template = f"tpl_{uuid.uuid4().hex[:12]}"
            await admin.execute(f"CREATE DATABASE {template} TEMPLATE {name}")
            _TEMPLATES[key] = template
        else:
            await admin.execute(f"DROP DATABASE {name}")
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATES[key]}")
    finally:
        await admin.close()
    return await Store.open(url)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """World Cup 2018 as of 2018-07-03T12:00Z: round of 16 half played, England v Colombia
    still to come (on each engine)."""
    s = await build_store(database_url, NOW)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def live_store(database_url: str) -> AsyncIterator[Store]:
    """World Cup 2018 as of 2018-07-02T19:10Z: Belgium v Japan in the second half, 0–2."""
    s = await build_store(database_url, datetime(2018, 7, 2, 19, 10, tzinfo=UTC))
    try:
        yield s
    finally:
        await s.close()


# -- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for this test process (each xdist worker has its own),
    stopped at the end. Without server binaries the tests that need it skip, saying why,
    unless MATCHDAY_TEST_POSTGRES=required (CI): then they fail."""
    try:
        server = start_postgres()
    except ServerUnavailable as exc:
        if required():
            pytest.fail(f"{exc} ({REQUIRED_ENV}=required)", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: {exc}; set {REQUIRED_ENV}=required to fail instead")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The URL of a fresh, empty database on the test server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    try:
        yield postgres_server.url(name)
    finally:
        admin = await asyncpg.connect(postgres_server.url())
        try:  # FORCE: a test that left connections open must not keep its database
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


ENGINES = ("sqlite", "postgresql")
# For a test of SQLite itself (a query plan, PRAGMA, iterdump, an old SQLite schema): the
# `engine` fixture's parameters narrowed to SQLite; the decorated test says why in a comment.
SQLITE_ONLY = pytest.mark.parametrize("engine", ["sqlite"])


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The store engine a test runs on: a test asking for `database_url` runs on both."""
    return str(request.param)


@pytest.fixture
def database_url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """What `MATCHDAY_DB` would hold for a fresh store on `engine`: a SQLite file path in
    the test's folder, or a fresh PostgreSQL database's URL (the server is only started for
    the PostgreSQL case)."""
    if engine == "sqlite":
        return str(tmp_path / "matchday.db")
    return str(request.getfixturevalue("postgres_url"))


async def make_request(
    store: Store,
    text: str,
    *,
    chat: int | None = None,
    now: datetime = NOW,
    is_admin: bool = True,
    zone: str = "UTC",
    chat_kind: str = "private",
    title: str | None = "Test chat",
    user_id: int = USER_ID,
    env: dict[str, str] | None = None,
) -> Request:
    """The Request an adapter builds for `text` in chat `chat` (an external id).

    As with Telegram, `zone` is only the default of a chat seen for the first time.
    """
    parsed = parse_command(text)
    if parsed is None:
        raise ValueError(f"not a command: {text!r}")
    command, args = parsed
    if chat is None:
        chat = -100 if chat_kind in {"group", "supergroup"} else 100
    row = await store.ensure_chat(PLATFORM, chat, chat_kind, title, zone)

    async def admin() -> bool:
        return is_admin

    return Request(
        command,
        args,
        row,
        user_id,
        store,
        Clock(now, 1.0),
        Settings.load(env=env or {}),
        admin,
    )


async def ask(store: Store, text: str, **kw: object) -> Reply:
    """Dispatch `text` as a chat would send it and return the reply."""
    return await dispatch(await make_request(store, text, **kw))  # type: ignore[arg-type]


# -- Telegram HTML ---------------------------------------------------------------------------

ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a"}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)(?:\s+[^<>]*)?>")


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> not allowed")
        if tag == "a" and [name for name, _ in attrs] != ["href"]:
            self.problems.append("<a> needs exactly an href")
        if tag != "a" and attrs:
            self.problems.append(f"<{tag}> takes no attributes")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close {self.stack[-1:] or 'anything'}")
        else:
            self.stack.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.problems.append(f"entity &{name}; unknown to Telegram")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("unknown declaration")


def html_problems(text: str) -> list[str]:
    """Why Telegram's HTML parse mode would reject `text` (empty when it is fine)."""
    problems: list[str] = []
    without_tags = _TAG.sub("", text)
    if "<" in without_tags:
        problems.append("bare <")
    if "&" in _ENTITY.sub("", text):
        problems.append("bare &")
    for match in _TAG.finditer(text):
        if match.group(1).lower() not in ALLOWED_TAGS:
            problems.append(f"tag {match.group(0)!r} not allowed")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    problems += parser.problems
    if parser.stack:
        problems.append(f"unclosed {parser.stack}")
    return problems


def plain_text(text: str) -> str:
    """What the user sees: tags removed, entities decoded."""
    return html.unescape(_TAG.sub("", text))


def assert_valid_reply(reply: Reply) -> None:
    assert isinstance(reply, Reply)
    assert reply.text.strip(), "empty reply"
    assert len(reply.text) < TELEGRAM_LIMIT, len(reply.text)
    # Telegram counts the message after parsing, in UTF-16 code units.
    assert len(plain_text(reply.text).encode("utf-16-le")) // 2 <= TELEGRAM_LIMIT
    assert html_problems(reply.text) == [], (html_problems(reply.text), reply.text)
    for row in reply.buttons:
        for button in row:
            assert button.command.startswith("/"), button
