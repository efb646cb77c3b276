"""`matchday import` and `matchday stats`: one-shot commands on the store."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from bot.settings import Settings
from feeds.base import FeedDataError
from feeds.model import MatchState
from feeds.openfootball import Competition, parse_openfootball_bytes
from feeds.replay import ReplayFeed
from feeds.zones import guess_zone
from handlers.alerts import render_alert
from storage.db import engine_of
from storage.store import Store

MAX_SOURCE_BYTES = 50 * 1024 * 1024


async def fetch_source(source: str, client: httpx.AsyncClient) -> bytes:
    """A file's bytes, or a URL's body; errors name the source and what went wrong."""
    if urlparse(source).scheme in {"http", "https"}:
        try:
            response = await client.get(source, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise FeedDataError(f"{source}: could not download ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise FeedDataError(f"{source}: the server answered HTTP {response.status_code}")
        return response.content[: MAX_SOURCE_BYTES + 1]
    path = Path(source)
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise FeedDataError(f"{source}: cannot read ({exc.strerror or exc})") from exc


def progress_bar(stream: object = None) -> Progress | None:
    """A rich progress bar on stderr when it is a terminal; None (no bar) otherwise."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(file=stream),  # type: ignore[arg-type]
        transient=True,
    )


def _counted(
    matches: list[MatchState], progress: Progress | None, task: TaskID | None
) -> Iterator[MatchState]:
    """The matches, advancing the bar as the store consumes them inside its transaction."""
    for match in matches:
        yield match
        if progress is not None and task is not None:
            progress.advance(task)


async def import_sources(
    store: Store,
    sources: list[str],
    now: datetime,
    progress: Progress | None = None,
    *,
    zone: str | None = None,
) -> list[tuple[Competition, int]]:
    """Parse every source first, then write each: all of it or nothing.

    A malformed source raises FeedDataError before anything is written. Each file is kept
    whole as the replay's source of truth (so a clock set anywhere replays it), and the
    store learns what had happened by `now`. Re-importing a file changes nothing, on any
    database, whatever a console has replayed since; a newer version of a file updates its
    matches in place (same keys). Returns each competition with how many of its matches
    were new or changed in the file. `zone` is where offset-less kick-off times are (else
    guessed from each file's name, else UTC).
    """
    reading = progress.add_task("Reading", total=len(sources)) if progress else None
    async with httpx.AsyncClient(timeout=30.0) as client:
        parsed = []
        for source in sources:
            if progress is not None and reading is not None:
                progress.update(reading, description=f"Reading {_short(source)}")
            raw = await fetch_source(source, client)
            if len(raw) > MAX_SOURCE_BYTES:
                raise FeedDataError(f"{source}: larger than {MAX_SOURCE_BYTES // 2**20} MB")
            name = Path(urlparse(source).path).name or source
            parsed.append(parse_openfootball_bytes(raw, source=name, default_zone=zone))
            if progress is not None and reading is not None:
                progress.advance(reading)
    done = []
    for competition in parsed:
        task = (
            progress.add_task(f"Writing {competition.name}", total=len(competition.matches))
            if progress is not None
            else None
        )
        changed = await store.save_sources(competition.matches)
        replay = ReplayFeed(competition.matches)
        observed = [replay.state_at(m, now) for m in _counted(competition.matches, progress, task)]
        await store.apply(observed, now, render_alert, silent=True)
        done.append((competition, changed))
    return done


def _short(source: str, width: int = 40) -> str:
    return source if len(source) <= width else "…" + source[-(width - 1) :]


def notes(competition: Competition, zone_given: bool) -> list[str]:
    """What the user should know about a file: scores corrected from its goals, and the zone
    its offset-less kick-off times were read in when the user did not say."""
    found = [f"warning: {competition.name}: {text}" for text in competition.corrections]
    if competition.default_zone_used and not zone_given:
        guessed = guess_zone(competition.source) if competition.source else None
        why = "guessed from the file name" if guessed else "the file does not say"
        found.append(
            f"note: {competition.name}: kick-off times without an offset were read as "
            f"{competition.default_zone} ({why}); give --timezone ZONE to change that."
        )
    return found


async def run_import(settings: Settings, sources: list[str], zone: str | None = None) -> int:
    store = await Store.open(settings.db_path)
    bar = progress_bar()
    context: AbstractContextManager[object] = bar if bar is not None else nullcontext()
    try:
        with context:
            competitions = await import_sources(
                store, sources, datetime.now(UTC), bar, zone=zone
            )
    except FeedDataError as exc:
        print(f"matchday import: {exc} — nothing was imported.", file=sys.stderr)
        return 1
    finally:
        await store.close()
    for competition, changed in competitions:
        for line in notes(competition, zone is not None):
            print(line, file=sys.stderr)
        news = f"{changed} new or changed" if changed else "nothing new"
        print(f"Imported {competition.name}: {len(competition.matches)} matches, {news}.")
    return 0


async def print_stats(settings: Settings) -> int:
    """The ledger's counts; a database that is not there is said so, not created empty."""
    sqlite = engine_of(settings.db_path) == "sqlite"
    if sqlite and not await asyncio.to_thread(Path(settings.db_path).is_file):
        print(
            f"matchday stats: no database at {settings.db_path} (nothing has run there yet; "
            "set MATCHDAY_DB to the bot's database).",
            file=sys.stderr,
        )
        return 1
    store = await Store.open(settings.db_path)
    try:
        counts = await store.ledger_counts()
        rate = await store.sent_per_second(datetime.now(UTC))
        errors = await store.last_errors()
    finally:
        await store.close()
    for key, value in counts.items():
        print(f"{key:>15}: {value}")
    print(f"{'send rate':>15}: {rate:.1f}/s (last minute)")
    print(f"{'kept':>15}: {settings.ledger_days:g} days (MATCHDAY_LEDGER_DAYS)")
    for chat, event, error in errors:
        print(f"last error: chat {chat} {event}: {error}")
    return 0
