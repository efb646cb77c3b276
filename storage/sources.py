"""The replay's source of truth, behind the Store facade: imported seasons kept whole.

`matches` holds what the bot has observed by its clock; `source_matches` holds what a file
says happened, so the replay feed can tell every imported competition on any clock (a
console started at 2018-07-20 must not know the 2022 World Cup). Kept apart from matches.py,
the live write path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from feeds.codec import decode_match, encode_match
from feeds.model import MatchState
from storage.base import StoreBase
from storage.db import in_chunks, placeholders

SOURCES_VERSION = "sources.version"


class SourceMatches(StoreBase):
    """Reads and writes `source_matches` (see the module docstring)."""

    async def save_sources(self, matches: Iterable[MatchState]) -> int:
        """Store a file's matches as the truth to replay; returns how many are new or changed.

        Identical states are skipped, so importing the same file again changes nothing and
        says so, whatever the bot has observed (or rewound) in `matches` since.
        """
        rows = [(m.key, m.competition, encode_match(m)) for m in matches]
        known: dict[str, str] = {}
        keys = [key for key, _, _ in rows]
        for chunk in in_chunks(keys):
            marks = placeholders(len(chunk))
            for key, state in await self.db.fetch_all(
                f"SELECT key, state FROM source_matches WHERE key IN ({marks})", chunk
            ):
                known[key] = state
        fresh = [row for row in rows if known.get(row[0]) != row[2]]
        if not fresh:
            return 0
        async with self.transaction() as tx:
            await tx.execute_many(
                "INSERT INTO source_matches(key, competition, state) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET competition = excluded.competition, "
                "state = excluded.state",
                fresh,
            )
            await tx.execute(
                "INSERT INTO meta(key, value) VALUES (?, '1') ON CONFLICT(key) "
                "DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)",
                (SOURCES_VERSION,),
            )
        return len(fresh)

    async def sources_version(self) -> str:
        """Changes whenever the stored truth does (a cheap check before reloading it)."""
        return await self.get_meta(SOURCES_VERSION) or "0"

    async def from_source(self, key: str) -> bool:
        """Whether the match is told from an imported file (not observed from a live feed)."""
        return bool(await self.db.fetch_all("SELECT 1 FROM source_matches WHERE key = ?", (key,)))

    async def source_matches(self) -> list[MatchState]:
        """Every stored source match, in kick-off order."""
        rows = await self.db.fetch_all("SELECT state FROM source_matches")
        return sorted((decode_match(row[0]) for row in rows), key=lambda m: (m.kickoff, m.key))


def merge_sources(*groups: Sequence[MatchState]) -> list[MatchState]:
    """One list of matches by key: a later group (an import) overrides an earlier (bundled)."""
    by_key: dict[str, MatchState] = {}
    for group in groups:
        for match in group:
            by_key[match.key] = match
    return list(by_key.values())
