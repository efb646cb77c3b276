"""Read queries that answer "as of the clock", behind the Store facade.

Every answer is as of `now` for every competition in the store: the replay keeps `matches`
at what was observed by then, and these queries also bound themselves by `now`, so a season
imported by another process is not shown from the future before the next poll rewinds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import aiosqlite

from feeds.model import MatchState
from storage.times import to_db

_PLAYED = "('live', 'half_time', 'extra_time', 'penalties', 'finished')"


class MatchReads:
    """Mixin for Store: a team's current match, results, the competition in play."""

    # Provided by Store.
    _matches: Callable[..., Awaitable[list[MatchState]]]
    _one: Callable[..., Awaitable[aiosqlite.Row | None]]
    live_matches: Callable[[], Awaitable[list[MatchState]]]
    _filter: Callable[[int | None, int | None], tuple[str, list[int]]]

    async def current_match(self, team_id: int, now: datetime) -> MatchState | None:
        """The team's match in play, else its latest result: one query for /score and /scorers."""
        found = await self._matches(
            f"(m.home_id = ? OR m.away_id = ?) AND m.status IN {_PLAYED} AND m.kickoff <= ?",
            (team_id, team_id, to_db(now)),
            "ORDER BY m.status = 'finished', m.kickoff DESC, m.id DESC LIMIT 1",
        )
        return found[0] if found else None

    async def results(
        self,
        now: datetime,
        *,
        team_id: int | None = None,
        competition_id: int | None = None,
        limit: int = 5,
    ) -> list[MatchState]:
        """Finished matches that kicked off by `now`, newest first."""
        where, params = self._filter(team_id, competition_id)
        return await self._matches(
            f"m.status = 'finished' AND m.kickoff <= ? {where}",
            [to_db(now), *params],
            f"ORDER BY m.kickoff DESC, m.id DESC LIMIT {limit:d}",
        )

    async def competition_in_play(self, now: datetime) -> str | None:
        """The competition a fan means without naming one, as of `now`: one with a match in
        play; else the one whose next fixture comes after a result (a season under way);
        else the latest finished; else the next to start. None for an empty store."""
        live = await self.live_matches()
        if live:
            return live[0].competition
        latest = await self.results(now, limit=1)
        upcoming: Sequence[MatchState] = await self._matches(
            "m.status IN ('scheduled', 'postponed') AND m.kickoff >= ?",
            (to_db(now),),
            "ORDER BY m.kickoff, m.id LIMIT 1",
        )
        if upcoming:
            started = await self._one(
                "SELECT 1 FROM matches m CROSS JOIN competitions c ON c.id = m.competition_id "
                "WHERE c.name = ? AND m.status = 'finished' AND m.kickoff <= ? LIMIT 1",
                (upcoming[0].competition, to_db(now)),
            )
            if started is not None or not latest:
                return upcoming[0].competition
        return latest[0].competition if latest else None

    async def match_between(
        self, first: int, second: int, now: datetime, *, upcoming: bool = False
    ) -> MatchState | None:
        """The two teams' match in play or latest result as of `now`; with `upcoming`,
        their next fixture ("Belgium v Japan" means that match, whoever is at home)."""
        pair = "((m.home_id = ? AND m.away_id = ?) OR (m.home_id = ? AND m.away_id = ?))"
        params: list[object] = [first, second, second, first, to_db(now)]
        if upcoming:
            where = f"{pair} AND m.status IN ('scheduled', 'postponed') AND m.kickoff >= ?"
            tail = "ORDER BY m.kickoff, m.id LIMIT 1"
        else:
            where = f"{pair} AND m.status IN {_PLAYED} AND m.kickoff <= ?"
            tail = "ORDER BY m.status = 'finished', m.kickoff DESC, m.id DESC LIMIT 1"
        found = await self._matches(where, params, tail)
        return found[0] if found else None
