"""`matchday import` and `matchday stats`: one-shot commands on the store."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bot.settings import Settings
from feeds.base import FeedDataError
from feeds.openfootball import Competition, parse_openfootball_bytes
from handlers.alerts import render_alert
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


async def import_sources(store: Store, sources: list[str], now: datetime) -> list[Competition]:
    """Parse every source first, then write each in one transaction: all of it or nothing."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        parsed = []
        for source in sources:
            raw = await fetch_source(source, client)
            if len(raw) > MAX_SOURCE_BYTES:
                raise FeedDataError(f"{source}: larger than {MAX_SOURCE_BYTES // 2**20} MB")
            name = Path(urlparse(source).path).name or source
            parsed.append(parse_openfootball_bytes(raw, source=name))
    for competition in parsed:
        await store.apply(competition.matches, now, render_alert, silent=True)
    return parsed


async def run_import(settings: Settings, sources: list[str]) -> int:
    store = await Store.open(settings.db_path)
    try:
        competitions = await import_sources(store, sources, datetime.now(UTC))
    except FeedDataError as exc:
        print(f"matchday import: {exc} — nothing was imported.", file=sys.stderr)
        return 1
    finally:
        await store.close()
    for competition in competitions:
        print(f"Imported {competition.name}: {len(competition.matches)} matches.")
    return 0


async def print_stats(settings: Settings) -> int:
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
    for chat, event, error in errors:
        print(f"last error: chat {chat} {event}: {error}")
    return 0
