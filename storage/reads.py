"""Match reads, behind the Store facade: one match, live ones, fixtures, results, tables.

Every answer is as of `now` for every competition in the store: the replay keeps `matches`
at what was observed by then, and these queries also bound themselves by `now`, so a season
imported by another process is not shown from the future before the next poll rewinds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from feeds.model import Goal, Incident, IncidentKind, MatchState, Status, TeamRef, fold
from storage.base import StoreBase
from storage.db import Connection, Dialect, in_chunks, placeholders
from storage.times import from_db, to_db

_PLAYED = "('live', 'half_time', 'extra_time', 'penalties', 'finished')"

_MATCH_COLUMNS = """
    m.id, m.key, c.name, m.stage, m.grp, m.kickoff, h.name, h.code, a.name, a.code, m.venue,
    m.status, m.score_home, m.score_away, m.ht_home, m.ht_away, m.ft_home, m.ft_away,
    m.et_home, m.et_away, m.pen_home, m.pen_away, m.minute, h.placeholder, a.placeholder
"""
# Every filter is on `matches`, so it drives the join (CROSS JOIN fixes SQLite's join order):
# left to itself, the planner started from `competitions` and sorted the whole history.
# The join terms are in WHERE because PostgreSQL's CROSS JOIN takes no ON (it plans the
# order itself); for SQLite an inner join's ON and WHERE terms are the same thing.
_MATCH_FROM = """
    FROM matches m
    CROSS JOIN competitions c
    CROSS JOIN teams h
    CROSS JOIN teams a
    WHERE c.id = m.competition_id AND h.id = m.home_id AND a.id = m.away_id
"""

# The follows that make a chat hear about match `m`: either team, or its competition.
# Matches, then their follows (by target), then the chats, in that order: the other way
# round SQLite paired every match in the window with every chat (85 s a tick at 100k chats).
# `FOLLOWS_OF_MATCH` goes after `FROM matches m`, `FOLLOWED` into the WHERE clause.
FOLLOWS_OF_MATCH = "CROSS JOIN follows f"
FOLLOWED = """((f.kind = 'team' AND f.target_id IN (m.home_id, m.away_id))
    OR (f.kind = 'competition' AND f.target_id = m.competition_id))"""


def indexed_by(dialect: Dialect, index: str) -> str:
    """SQLite's `INDEXED BY` for a table that must be read through `index` (its planner
    chose worse on a large history); PostgreSQL has no such hint and plans well without."""
    return f"INDEXED BY {index}" if dialect.engine == "sqlite" else ""


def same_player(short: str, full: str) -> bool:
    """Whether "Kane" or "H. Kane" is "Harry Kane": same surname, any initials fit."""
    a, b = fold(short).split("-"), fold(full).split("-")
    if len(a) > len(b) or not a or a[-1] != b[-1]:
        return False
    return all(b[i].startswith(part) for i, part in enumerate(a[:-1]))


def _pair(a: int | None, b: int | None) -> tuple[int, int] | None:
    return None if a is None or b is None else (a, b)


def _in_order(found: dict[int, list[tuple[Any, Any]]]) -> dict[int, tuple[Any, ...]]:
    """Each match's items sorted by their key (minute order for goals, feed order else)."""
    return {
        mid: tuple(item for _, item in sorted(pairs, key=lambda pair: pair[0]))
        for mid, pairs in found.items()
    }


class MatchReads(StoreBase):
    """Matches as the handlers and the engine read them."""

    async def _matches(
        self, where: str, params: Sequence[Any] = (), tail: str = "",
        db: Connection | None = None,
    ) -> list[MatchState]:  # fmt: skip
        """Matches with their goals and incidents; `db` is the transaction to read in."""
        db = db or self.db
        rows = await db.fetch_all(
            f"SELECT {_MATCH_COLUMNS} {_MATCH_FROM} AND ({where}) {tail}", params
        )
        ids = [row[0] for row in rows]
        goals, incidents = await self._details(db, ids) if ids else ({}, {})
        return [
            self._match(row, goals.get(row[0], ()), incidents.get(row[0], ())) for row in rows
        ]

    @staticmethod
    def _match(
        row: Sequence[Any], goals: tuple[Goal, ...], incidents: tuple[Incident, ...] = ()
    ) -> MatchState:
        return MatchState(
            key=row[1],
            competition=row[2],
            stage=row[3],
            group=row[4],
            kickoff=from_db(row[5]),
            home=TeamRef(row[6], row[7], bool(row[23])),
            away=TeamRef(row[8], row[9], bool(row[24])),
            venue=row[10],
            status=Status(row[11]),
            score=_pair(row[12], row[13]),
            half_time=_pair(row[14], row[15]),
            full_time=_pair(row[16], row[17]),
            extra_time=_pair(row[18], row[19]),
            penalties=_pair(row[20], row[21]),
            minute=row[22],
            goals=goals,
            incidents=incidents,
        )

    @staticmethod
    async def _details(
        db: Connection, match_ids: list[int]
    ) -> tuple[dict[int, tuple[Goal, ...]], dict[int, tuple[Incident, ...]]]:
        """Goals and incidents of these matches in one trip to the database per 500:
        every read pays for each trip (~0.1-0.3 ms), and most matches have neither."""
        goals: dict[int, list[tuple[tuple[int, int, int], Goal]]] = {}
        incidents: dict[int, list[tuple[int, Incident]]] = {}
        for chunk in in_chunks(match_ids):
            marks = placeholders(len(chunk))
            rows = await db.fetch_all(
                # A goal's penalty flag (integer) and an incident's kind (text) get columns of
                # their own: PostgreSQL's UNION refuses to mix the two types in one.
                "SELECT 0, match_id, seq, side, minute, stoppage, scorer, penalty, own_goal, "
                f"assist, NULL FROM goals WHERE match_id IN ({marks}) UNION ALL "
                "SELECT 1, match_id, seq, side, minute, stoppage, player, NULL, NULL, detail, "
                f"kind FROM incidents WHERE match_id IN ({marks})",
                [*chunk, *chunk],
            )
            for what, mid, seq, side, minute, stoppage, who, pen, og, extra, kind in rows:
                if what == 0:
                    goal = Goal(side, minute, stoppage, who, bool(pen), bool(og), extra)
                    goals.setdefault(mid, []).append(((minute, stoppage, seq), goal))
                else:
                    incident = Incident(IncidentKind(kind), side, minute, stoppage, who, extra)
                    incidents.setdefault(mid, []).append((seq, incident))
        return _in_order(goals), _in_order(incidents)

    async def match(self, key: str) -> MatchState | None:
        found = await self._matches("m.key = ?", (key,))
        return found[0] if found else None

    async def matches_by_key(self, keys: list[str]) -> dict[str, MatchState]:
        """The stored state of these matches (those the store knows)."""
        return await self._matches_by_key(keys)

    async def _matches_by_key(
        self, keys: list[str], db: Connection | None = None
    ) -> dict[str, MatchState]:
        found: dict[str, MatchState] = {}
        for chunk in in_chunks(keys):
            marks = placeholders(len(chunk))
            for match in await self._matches(f"m.key IN ({marks})", chunk, db=db):
                found[match.key] = match
        return found

    async def live_matches(self) -> list[MatchState]:
        # `m.kickoff || ''` (an expression, not the column): sort the few matches in play
        # rather than walk the whole history in kickoff order to skip that sort (what SQLite
        # chose: 50-120 ms on 200k matches).
        return await self._matches(
            "m.status IN ('live', 'half_time', 'extra_time', 'penalties')",
            (),
            "ORDER BY m.kickoff || '', m.id",
        )

    async def stuck_keys(self, kicked_off_before: datetime) -> list[str]:
        """Matches stored as in play that kicked off before then: to settle by id."""
        rows = await self.db.fetch_all(
            f"SELECT key FROM matches {indexed_by(self.db.dialect, 'matches_status')} "
            "WHERE status IN ('live', 'half_time', 'extra_time', 'penalties') AND kickoff < ?",
            (to_db(kicked_off_before),),
        )
        return [row[0] for row in rows]

    async def watched_keys(self, now: datetime, lead: timedelta) -> list[str]:
        """Followed matches that are live or kick off within `lead`: what a live feed polls."""
        rows = await self.db.fetch_all(
            f"""
            SELECT DISTINCT m.key FROM matches m {indexed_by(self.db.dialect, 'matches_status')}
            {FOLLOWS_OF_MATCH}
            CROSS JOIN chats c
            WHERE {FOLLOWED} AND c.id = f.chat_id AND c.active = 1
              AND (m.status IN ('live', 'half_time', 'extra_time', 'penalties')
                   OR (m.status = 'scheduled' AND m.kickoff BETWEEN ? AND ?))
            """,
            (to_db(now - timedelta(hours=3)), to_db(now + lead)),
        )
        return [row[0] for row in rows]

    # -- as of the clock -------------------------------------------------------------------

    @staticmethod
    def _filter(team_id: int | None, competition_id: int | None) -> tuple[str, list[int]]:
        where, params = "", []
        if team_id is not None:
            where += " AND (m.home_id = ? OR m.away_id = ?)"
            params += [team_id, team_id]
        if competition_id is not None:
            where += " AND m.competition_id = ?"
            params.append(competition_id)
        return where, params

    async def current_match(self, team_id: int, now: datetime) -> MatchState | None:
        """The team's match in play, else its latest result: one query for /score and /scorers."""
        found = await self._matches(
            f"(m.home_id = ? OR m.away_id = ?) AND m.status IN {_PLAYED} AND m.kickoff <= ?",
            (team_id, team_id, to_db(now)),
            "ORDER BY m.status = 'finished', m.kickoff DESC, m.id DESC LIMIT 1",
        )
        return found[0] if found else None

    async def fixtures(
        self,
        now: datetime,
        *,
        team_id: int | None = None,
        competition_id: int | None = None,
        limit: int = 5,
    ) -> list[MatchState]:
        """Matches not yet played, soonest first (postponed ones included, marked by status)."""
        where, params = self._filter(team_id, competition_id)
        return await self._matches(
            f"m.status IN ('scheduled', 'postponed') AND m.kickoff >= ? {where}",
            [to_db(now - timedelta(hours=3)), *params],
            f"ORDER BY m.kickoff, m.id LIMIT {limit:d}",
        )

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
            started = await self.db.fetch_one(
                "SELECT 1 FROM matches m CROSS JOIN competitions c "
                "WHERE c.id = m.competition_id AND c.name = ? AND m.status = 'finished' "
                "AND m.kickoff <= ? LIMIT 1",
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

    # -- tables and scorers ----------------------------------------------------------------

    async def standings(
        self, competition_id: int
    ) -> dict[str | None, list[tuple[str, int, int, int, int, int, int]]]:
        """Group → (team, played, won, drawn, lost, for, against) from finished matches, in SQL.

        One query for every group of the competition (`None` keys matches outside groups).
        Teams with fixtures but no result yet are listed with zeros.
        """
        rows = await self.db.fetch_all(
            """
            WITH sides AS (
                SELECT grp, home_id AS team, status, score_home AS gf, score_away AS ga
                FROM matches WHERE competition_id = ?
                UNION ALL
                SELECT grp, away_id, status, score_away, score_home FROM matches
                WHERE competition_id = ?
            ), totals AS (
                SELECT grp, team,
                       SUM(CASE WHEN status = 'finished' AND gf IS NOT NULL THEN 1 ELSE 0 END)
                           AS played,
                       SUM(CASE WHEN status = 'finished' AND gf > ga THEN 1 ELSE 0 END) AS won,
                       SUM(CASE WHEN status = 'finished' AND gf = ga THEN 1 ELSE 0 END) AS drawn,
                       SUM(CASE WHEN status = 'finished' AND gf < ga THEN 1 ELSE 0 END) AS lost,
                       COALESCE(SUM(CASE WHEN status = 'finished' THEN gf END), 0) AS goals_for,
                       COALESCE(SUM(CASE WHEN status = 'finished' THEN ga END), 0)
                           AS goals_against
                FROM sides GROUP BY grp, team
            )
            SELECT s.grp, t.name, played, won, drawn, lost, goals_for, goals_against
            FROM totals s JOIN teams t ON t.id = s.team
            """,
            (competition_id, competition_id),
        )
        tables: dict[str | None, list[tuple[str, int, int, int, int, int, int]]] = {}
        for r in rows:
            tables.setdefault(r[0], []).append(
                (r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7]))
            )
        return tables

    async def groups(self, competition_id: int) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT DISTINCT grp FROM matches WHERE competition_id = ? AND grp IS NOT NULL "
            "ORDER BY grp",
            (competition_id,),
        )
        return [row[0] for row in rows]

    async def top_scorers(self, competition_id: int, limit: int = 10) -> list[tuple[str, str, int]]:
        """(scorer, team, goals), own goals excluded: they count for the other side.

        Sources name one player several ways ("Kane", "Harry Kane", "H. Kane"); within a
        team, a name is merged into a longer one with the same surname and a fitting initial.
        """
        rows = await self.db.fetch_all(
            """
            SELECT g.scorer, t.name, COUNT(*) AS n
            FROM goals g JOIN matches m ON m.id = g.match_id
            JOIN teams t ON t.id = CASE g.side WHEN 1 THEN m.home_id ELSE m.away_id END
            WHERE m.competition_id = ? AND g.own_goal = 0 AND g.scorer IS NOT NULL
            GROUP BY g.scorer, t.id, t.name
            """,
            (competition_id,),
        )
        totals: dict[tuple[str, str], int] = {}
        # Ties broken by name and team: the rows come in no set order (PostgreSQL's hash
        # aggregate and SQLite's group order differ), and which name a shorter one merges
        # into, and who comes first among equals, must not depend on it.
        for scorer, team, goals in sorted(rows, key=lambda r: (-len(r[0]), r[0], r[1])):
            name = next((n for n, t in totals if t == team and same_player(scorer, n)), scorer)
            totals[(name, team)] = totals.get((name, team), 0) + goals
        ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0][0], item[0][1]))
        return [(name, team, goals) for (name, team), goals in ranked[:limit]]
