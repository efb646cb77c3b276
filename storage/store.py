"""The one SQLite store: matches, teams, chats, follows and the alert ledger.

One aiosqlite connection per process, WAL, and every write inside `BEGIN IMMEDIATE` under one
asyncio lock, so a state change and the alerts it causes commit together or not at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from feeds.events import Event, EventKind, diff, with_goals
from feeds.model import Goal, Incident, IncidentKind, MatchState, Status, TeamRef, fold
from feeds.observe import Watch
from feeds.teams import team_key
from storage.chats import (
    CHAT_COLUMNS,
    Chat,
    ChatsRepository,
    chat_of,
    zone_or_utc,
)
from storage.health import Health
from storage.reads import MatchReads
from storage.schema import MIGRATIONS
from storage.sources import SourceMatches
from storage.teams import team_id
from storage.times import from_db, to_db

log = logging.getLogger("matchday.storage")

Renderer = Callable[[Event, MatchState, ZoneInfo], str]
MAX_REMINDER_MINUTES = 7 * 24 * 60  # a week ahead is the longest lead /remind accepts
NEAR_REMINDER_MINUTES = 120  # leads up to this are found from the matches' side each tick
# The rarer settled states, exactly as the partial index `alerts_settled` is declared: SQLite
# uses a partial index only for a query that repeats its WHERE term.
_RARE = "(status = 'failed' OR status = 'expired' OR status = 'inactive')"
# How /stats counts each status: each condition is answered by one partial index.
_COUNTED = {
    "pending": "status = 'pending'",
    "sending": "status = 'sending'",
    "sent": "status = 'sent'",
    "failed": f"{_RARE} AND status = 'failed'",
    "expired": f"{_RARE} AND status = 'expired'",
    "inactive": f"{_RARE} AND status = 'inactive'",
}
LEDGER_STATUSES = tuple(_COUNTED)


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    name: str
    code: str | None
    folded: str
    scope: str = ""
    aliases: tuple[str, ...] = ()  # other names sources gave it ("Korea Republic")


@dataclass(frozen=True, slots=True)
class Competition:
    id: int
    slug: str
    name: str

    @property
    def folded(self) -> str:
        return self.slug


@dataclass(frozen=True, slots=True)
class PendingAlert:
    id: int
    chat: Chat
    event: str
    text: str
    expires_at: datetime | None
    attempts: int
    next_attempt_at: float | None


def pending_of(row: Sequence) -> PendingAlert:
    """A ledger row read with `a.id, a.event, a.text, a.expires_at, a.attempts,
    a.next_attempt_at` followed by the chat's columns."""
    return PendingAlert(
        id=row[0],
        event=row[1],
        text=row[2],
        expires_at=from_db(row[3]) if row[3] else None,
        attempts=row[4],
        next_attempt_at=row[5],
        chat=chat_of(row[6:]),
    )


@dataclass(frozen=True, slots=True)
class DueAlerts:
    counts: dict[str, int]  # by platform
    oldest_seconds: float  # clock seconds since the oldest of them was queued


@dataclass(frozen=True, slots=True)
class LeadTiers:
    leads: tuple[int, ...]  # every reminder lead some active chat wants, in minutes
    far_chats: list[int]  # active chats with a lead beyond NEAR_REMINDER_MINUTES

    @property
    def longest(self) -> int | None:
        return max(self.leads, default=None)


def _leads_come(leads: Iterable[int], until: timedelta) -> list[int]:
    """The lead times (minutes) that have come, with `until` left before kick-off."""
    return [lead for lead in leads if timedelta(minutes=lead) >= until]


@dataclass(frozen=True, slots=True)
class ApplyResult:
    changed: int
    alerts: int
    silent_events: int


_MATCH_COLUMNS = """
    m.id, m.key, c.name, m.stage, m.grp, m.kickoff, h.name, h.code, a.name, a.code, m.venue,
    m.status, m.score_home, m.score_away, m.ht_home, m.ht_away, m.ft_home, m.ft_away,
    m.et_home, m.et_away, m.pen_home, m.pen_away, m.minute, h.placeholder, a.placeholder
"""
# Every filter is on `matches`, so it drives the join (CROSS JOIN fixes SQLite's join order):
# left to itself, the planner started from `competitions` and sorted the whole history.
_MATCH_FROM = """
    FROM matches m
    CROSS JOIN competitions c ON c.id = m.competition_id
    CROSS JOIN teams h ON h.id = m.home_id
    CROSS JOIN teams a ON a.id = m.away_id
"""


def same_player(short: str, full: str) -> bool:
    """Whether "Kane" or "H. Kane" is "Harry Kane": same surname, any initials fit."""
    a, b = fold(short).split("-"), fold(full).split("-")
    if len(a) > len(b) or not a or a[-1] != b[-1]:
        return False
    return all(b[i].startswith(part) for i, part in enumerate(a[:-1]))


def _pair(a: int | None, b: int | None) -> tuple[int, int] | None:
    return None if a is None or b is None else (a, b)


# The follows that make a chat hear about match `m`: either team, or its competition.
# Matches, then their follows (by target), then the chats, in that order: the other way
# round SQLite paired every match in the window with every chat (85 s a tick at 100k chats).
_FOLLOWS_OF_MATCH = """CROSS JOIN follows f
    ON (f.kind = 'team' AND f.target_id IN (m.home_id, m.away_id))
    OR (f.kind = 'competition' AND f.target_id = m.competition_id)"""
# The reminder a (chat, match) pair is due now, if it is already in the ledger, leaves the pair
# out: the same test as `queue_due_reminders` makes (the shortest lead not after kick-off
# minus now, given as epoch seconds), written as the event key the ledger holds. Without it,
# every tick re-found and re-inserted every reminder of a match in the half hour before
# kick-off: 100,000 rows a tick for a match with 100,000 followers.
_REMINDER_NOT_QUEUED = """NOT EXISTS (
    SELECT 1 FROM alerts a WHERE a.chat_id = ch.id AND a.match_id = m.id AND a.event =
        'reminder:' || (SELECT MIN(j.value) FROM json_each(ch.reminders) j
                        WHERE j.value * 60 >= CAST(strftime('%s', m.kickoff) AS INTEGER) - ?)
        || ':' || strftime('%Y%m%dT%H%M', m.kickoff))"""
def _render_for(render: Renderer, event: Event, match: MatchState, zone: str) -> str:
    """The alert in one chat's zone, or in UTC if that zone fails: one chat's settings must
    never roll back the transaction that stores a match and every other chat's alerts.
    A renderer that fails in UTC too fails for everyone, and that does roll back."""
    loaded = zone_or_utc(zone)
    try:
        return render(event, match, loaded)
    except Exception:
        if loaded.key == "UTC":
            raise
        log.exception("rendering %s in %s failed; rendering it in UTC", event.key, zone)
        return render(event, match, zone_or_utc("UTC"))


def _in_order(found: dict[int, list[tuple[Any, Any]]]) -> dict[int, tuple[Any, ...]]:
    """Each match's items sorted by their key (minute order for goals, feed order else)."""
    return {
        mid: tuple(item for _, item in sorted(pairs, key=lambda pair: pair[0]))
        for mid, pairs in found.items()
    }


_SET_META = (
    "INSERT INTO meta(key, value) VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
)


class Store(MatchReads, SourceMatches, ChatsRepository):
    """The facade every other part talks to; no SQL lives outside this package."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        self.health = Health()  # background failures of this process, shown by /stats
        self._teams: list[Team] | None = None
        self._keyed: dict[str, tuple[int, str | None]] | None = None
        self._competitions: list[Competition] | None = None
        # Reminder look-ahead (see `_lead_tiers`), stale after any write to chats.
        self._leads: LeadTiers | None = None
        # Writes that can make a reminder due (chats, follows, matches), counted after each
        # one reaches the connection, and what the last full reminder scan saw: see
        # `queue_due_reminders`.
        self._reminder_inputs = 0
        self._reminders_scanned: tuple[int, tuple[tuple[int, int], ...]] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA busy_timeout=5000")
            # 32 MiB of page cache (SQLite's default is 2): index updates on a large history
            # stop re-reading pages; imports into a 200k-match store ran ~30% faster.
            await db.execute("PRAGMA cache_size=-32768")
            store = cls(db)
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cur:
            (version,) = await cur.fetchone()  # type: ignore[misc]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # Foreign keys off while a migration runs (a no-op inside a transaction), so a
            # table can be rebuilt as SQLite documents; checked before the commit instead.
            await self._db.execute("PRAGMA foreign_keys=OFF")
            async with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        await self._db.execute(statement)
                if await self._all("PRAGMA foreign_key_check"):
                    raise sqlite3.IntegrityError(f"migration {number} broke a foreign key")
                await self._db.execute(f"PRAGMA user_version = {number:d}")
            await self._db.execute("PRAGMA foreign_keys=ON")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time; rolled back whole on any error or cancellation."""
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._db
            except BaseException:
                # Even if cancelled while BEGIN was queued, aiosqlite runs statements in order,
                # so this ROLLBACK lands after it; shielded so a second cancel cannot skip it.
                await asyncio.shield(self._rollback())
                raise
            await asyncio.shield(self._db.execute("COMMIT"))

    async def _rollback(self) -> None:
        self._teams = self._keyed = None  # teams added in the undone transaction are gone
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # BEGIN never ran: nothing to undo

    # One trip to aiosqlite's thread per query (execute, fetch and close would be three):
    # each trip costs ~0.1-0.3 ms of thread hand-off on a small machine.
    async def _all(self, sql: str, params: Sequence = ()) -> list[aiosqlite.Row]:
        return list(await self._db.execute_fetchall(sql, params))

    async def _one(self, sql: str, params: Sequence = ()) -> aiosqlite.Row | None:
        """The first row of a query that finds at most one (a key lookup or an aggregate)."""
        rows = await self._db.execute_fetchall(sql, params)
        return next(iter(rows), None)

    # -- meta ------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self.transaction() as db:
            await db.execute(_SET_META, (key, value))

    # -- teams and competitions ------------------------------------------------------------

    async def teams(self) -> list[Team]:
        """Every team a fan can name (not "Winner Group A"), cached: name matching runs on
        each command."""
        if self._teams is None:
            rows = await self._all(
                "SELECT id, name, code, folded, scope FROM teams WHERE placeholder = 0 "
                "ORDER BY name"
            )
            aliases: dict[int, list[str]] = {}
            for team, name in await self._all("SELECT team_id, name FROM team_names"):
                aliases.setdefault(team, []).append(name)
            self._teams = [Team(*row, tuple(aliases.get(row[0], ()))) for row in rows]
        return self._teams

    async def _team_keys(self) -> dict[str, tuple[int, str | None]]:
        """Every team's (id, code) by its cross-source key: read once, then kept up to date
        by `_team_id` (re-reading it per new team made an import quadratic)."""
        if self._keyed is None:
            rows = await self._all(
                "SELECT id, name, code FROM teams WHERE placeholder = 0 ORDER BY id DESC"
            )
            self._keyed = {team_key(name): (tid, code) for tid, name, code in rows}
        return self._keyed

    async def competitions(self) -> list[Competition]:
        """Every competition, cached like teams."""
        if self._competitions is None:
            rows = await self._all("SELECT id, slug, name FROM competitions ORDER BY name")
            self._competitions = [Competition(*row) for row in rows]
        return self._competitions

    async def _team_id(self, db: aiosqlite.Connection, team: TeamRef) -> int:
        """The one team behind a feed's team (storage/teams.py, with feeds/teams.py's keys
        for names that differ across sources: "Arsenal FC" and "Arsenal")."""
        keyed = await self._team_keys()
        found, written = await team_id(db, self._all, team, keyed)
        if written:
            self._teams = None
            if not team.placeholder:  # kept up to date, not re-read: imports stay linear
                keyed.setdefault(team_key(team.name), (found, team.code))
        return found

    async def _competition_id(self, db: aiosqlite.Connection, name: str) -> int:
        slug = fold(name)
        row = await self._one("SELECT id FROM competitions WHERE slug = ?", (slug,))
        if row is not None:
            return int(row[0])
        cur = await db.execute("INSERT INTO competitions(slug, name) VALUES (?, ?)", (slug, name))
        self._competitions = None
        return int(cur.lastrowid)  # type: ignore[arg-type]

    # -- matches ---------------------------------------------------------------------------

    async def _matches(self, where: str, params: Sequence = (), tail: str = "") -> list[MatchState]:
        rows = await self._all(
            f"SELECT {_MATCH_COLUMNS} {_MATCH_FROM} WHERE {where} {tail}", params
        )
        ids = [row[0] for row in rows]
        goals, incidents = await self._details(ids) if ids else ({}, {})
        return [
            self._match(row, goals.get(row[0], ()), incidents.get(row[0], ())) for row in rows
        ]

    @staticmethod
    def _match(
        row: Sequence, goals: tuple[Goal, ...], incidents: tuple[Incident, ...] = ()
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

    async def _details(
        self, match_ids: list[int]
    ) -> tuple[dict[int, tuple[Goal, ...]], dict[int, tuple[Incident, ...]]]:
        """Goals and incidents of these matches in one trip to aiosqlite's thread per 500:
        every read pays for each trip (~0.1-0.3 ms), and most matches have neither."""
        goals: dict[int, list[tuple[tuple[int, int, int], Goal]]] = {}
        incidents: dict[int, list[tuple[int, Incident]]] = {}
        for start in range(0, len(match_ids), 500):
            chunk = match_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._all(
                "SELECT 0, match_id, seq, side, minute, stoppage, scorer, penalty, own_goal, "
                f"assist FROM goals WHERE match_id IN ({marks}) UNION ALL "
                "SELECT 1, match_id, seq, side, minute, stoppage, player, kind, NULL, detail "
                f"FROM incidents WHERE match_id IN ({marks})",
                [*chunk, *chunk],
            )
            for what, mid, seq, side, minute, stoppage, who, kind, og, extra in rows:
                if what == 0:
                    goal = Goal(side, minute, stoppage, who, bool(kind), bool(og), extra)
                    goals.setdefault(mid, []).append(((minute, stoppage, seq), goal))
                else:
                    incident = Incident(IncidentKind(kind), side, minute, stoppage, who, extra)
                    incidents.setdefault(mid, []).append((seq, incident))
        return _in_order(goals), _in_order(incidents)

    async def match(self, key: str) -> MatchState | None:
        found = await self._matches("m.key = ?", (key,))
        return found[0] if found else None

    async def live_matches(self) -> list[MatchState]:
        # `+m.kickoff`: sort the few matches in play rather than walk the whole history in
        # kickoff order to skip that sort (what SQLite chose: 50-120 ms on 200k matches).
        return await self._matches(
            "m.status IN ('live', 'half_time', 'extra_time', 'penalties')",
            (),
            "ORDER BY +m.kickoff, m.id",
        )

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

    async def standings(
        self, competition_id: int
    ) -> dict[str | None, list[tuple[str, int, int, int, int, int, int]]]:
        """Group → (team, played, won, drawn, lost, for, against) from finished matches, in SQL.

        One query for every group of the competition (`None` keys matches outside groups).
        Teams with fixtures but no result yet are listed with zeros.
        """
        rows = await self._all(
            """
            WITH sides AS (
                SELECT grp, home_id AS team, status, score_home AS gf, score_away AS ga
                FROM matches WHERE competition_id = ?
                UNION ALL
                SELECT grp, away_id, status, score_away, score_home FROM matches
                WHERE competition_id = ?
            ), totals AS (
                SELECT grp, team,
                       SUM(status = 'finished' AND gf IS NOT NULL) AS played,
                       SUM(status = 'finished' AND gf > ga) AS won,
                       SUM(status = 'finished' AND gf = ga) AS drawn,
                       SUM(status = 'finished' AND gf < ga) AS lost,
                       TOTAL(CASE WHEN status = 'finished' THEN gf END) AS goals_for,
                       TOTAL(CASE WHEN status = 'finished' THEN ga END) AS goals_against
                FROM sides GROUP BY grp, team
            )
            SELECT s.grp, t.name, played, won, drawn, lost, goals_for, goals_against
            FROM totals s JOIN teams t ON t.id = s.team
            """,
            (competition_id, competition_id),
        )
        tables: dict[str | None, list[tuple[str, int, int, int, int, int, int]]] = {}
        for r in rows:
            tables.setdefault(r[0], []).append((r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7])))
        return tables

    async def groups(self, competition_id: int) -> list[str]:
        rows = await self._all(
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
        rows = await self._all(
            """
            SELECT g.scorer, t.name, COUNT(*) AS n
            FROM goals g JOIN matches m ON m.id = g.match_id
            JOIN teams t ON t.id = CASE g.side WHEN 1 THEN m.home_id ELSE m.away_id END
            WHERE m.competition_id = ? AND g.own_goal = 0 AND g.scorer IS NOT NULL
            GROUP BY g.scorer, t.id
            """,
            (competition_id,),
        )
        totals: dict[tuple[str, str], int] = {}
        for scorer, team, goals in sorted(rows, key=lambda r: -len(r[0])):
            name = next((n for n, t in totals if t == team and same_player(scorer, n)), scorer)
            totals[(name, team)] = totals.get((name, team), 0) + goals
        ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0][0]))
        return [(name, team, goals) for (name, team), goals in ranked[:limit]]

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

    async def watched_keys(self, now: datetime, lead: timedelta) -> list[str]:
        """Followed matches that are live or kick off within `lead`: what a live feed polls."""
        rows = await self._all(
            f"""
            SELECT DISTINCT m.key FROM matches m INDEXED BY matches_status
            {_FOLLOWS_OF_MATCH}
            CROSS JOIN chats c ON c.id = f.chat_id AND c.active = 1
            WHERE m.status IN ('live', 'half_time', 'extra_time', 'penalties')
               OR (m.status = 'scheduled' AND m.kickoff BETWEEN ? AND ?)
            """,
            (to_db(now - timedelta(hours=3)), to_db(now + lead)),
        )
        return [row[0] for row in rows]

    # -- applying feed states --------------------------------------------------------------

    async def apply(
        self,
        states: Iterable[MatchState],
        now: datetime,
        render: Renderer,
        *,
        silent: bool = False,
        watch: Watch | None = None,
        meta: dict[str, str] | None = None,
    ) -> ApplyResult:
        """Store what a feed reports and queue the alerts it causes, in one transaction.

        Which events are news is decided by observation, never by the minute: `silent`
        (an import, a rewound clock) records everything quietly; `watch` says how closely
        the engine watched (a gap it did not observe is caught up quietly, feeds/observe.py);
        without either, every new event is news. `meta` is written in the same transaction:
        the engine's "last poll" can then never be older than the states it saw then.
        """
        incoming = list(states)
        changed = alerts = quiet = 0
        async with self.transaction() as db:
            if meta:
                await db.executemany(_SET_META, list(meta.items()))
            known = await self._matches_by_key([s.key for s in incoming])
            had_incidents = {key for key, match in known.items() if match.incidents}
            updates: list[tuple[MatchState, list[Event]]] = []
            for state in incoming:
                old = known.get(state.key)
                state = with_goals(old, state, now)
                if old == state:
                    continue
                known[state.key] = state  # a batch may carry one match twice
                updates.append((state, diff(old, state)))
            if not updates:
                return ApplyResult(0, 0, 0)
            incidents = had_incidents | {state.key for state, _ in updates if state.incidents}
            ids = await self._save_matches(db, [state for state, _ in updates], now, incidents)
            self._reminder_inputs += 1  # kick-offs may have moved or matches appeared
            expire = [
                (ids[state.key],)
                for state, events in updates
                if state.status != Status.SCHEDULED
                or any(e.kind == EventKind.KICKOFF_MOVED for e in events)
            ]
            await db.executemany(
                "UPDATE alerts SET status = 'expired' WHERE match_id = ? "
                "AND status = 'pending' AND event LIKE 'reminder:%'",
                expire,
            )
            for state, events in updates:
                changed += 1
                fresh = [
                    e
                    for e in events
                    if not silent and (watch is None or watch.is_news(state, e))
                ]
                quiet += len(events) - len(fresh)
                if fresh:
                    alerts += await self._queue(db, ids[state.key], state, fresh, now, render)
        return ApplyResult(changed, alerts, quiet)

    async def matches_by_key(self, keys: list[str]) -> dict[str, MatchState]:
        """The stored state of these matches (those the store knows)."""
        return await self._matches_by_key(keys)

    async def stuck_keys(self, kicked_off_before: datetime) -> list[str]:
        """Matches stored as in play that kicked off before then: to settle by id."""
        rows = await self._all(
            "SELECT key FROM matches INDEXED BY matches_status "
            "WHERE status IN ('live', 'half_time', 'extra_time', 'penalties') AND kickoff < ?",
            (to_db(kicked_off_before),),
        )
        return [row[0] for row in rows]

    async def _matches_by_key(self, keys: list[str]) -> dict[str, MatchState]:
        found: dict[str, MatchState] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for match in await self._matches(f"m.key IN ({marks})", chunk):
                found[match.key] = match
        return found

    async def _save_matches(
        self,
        db: aiosqlite.Connection,
        matches: list[MatchState],
        now: datetime,
        incidents: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> dict[str, int]:
        """Upsert matches and replace their goals with a handful of statements, not per match."""
        by_name = {(t.scope, t.folded): t.id for t in await self.teams()}
        teams: dict[tuple[TeamRef, str | None], int] = {}  # scope is not in TeamRef's hash
        competitions = {c.name: c.id for c in await self.competitions()}
        stamp = to_db(now)

        def split(pair: tuple[int, int] | None) -> tuple[int | None, int | None]:
            return pair if pair is not None else (None, None)

        rows = []
        for m in matches:
            for team in (m.home, m.away):
                if (team, team.scope) not in teams:
                    known_id = by_name.get((team.scope or "", fold(team.name)))
                    if known_id is None or team.code:  # a code may still need recording
                        known_id = await self._team_id(db, team)
                    teams[(team, team.scope)] = known_id
            if m.competition not in competitions:
                competitions[m.competition] = await self._competition_id(db, m.competition)
            rows.append((
                m.key, competitions[m.competition], m.stage, m.group, to_db(m.kickoff),
                teams[(m.home, m.home.scope)], teams[(m.away, m.away.scope)], m.venue,
                m.status.value, *split(m.score),
                *split(m.half_time), *split(m.full_time), *split(m.extra_time),
                *split(m.penalties), m.minute, stamp,
            ))  # fmt: skip
        await db.executemany(
            """
            INSERT INTO matches(key, competition_id, stage, grp, kickoff, home_id, away_id, venue,
                status, score_home, score_away, ht_home, ht_away, ft_home, ft_away, et_home,
                et_away, pen_home, pen_away, minute, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET competition_id = excluded.competition_id,
                stage = excluded.stage, grp = excluded.grp, kickoff = excluded.kickoff,
                home_id = excluded.home_id, away_id = excluded.away_id, venue = excluded.venue,
                status = excluded.status, score_home = excluded.score_home,
                score_away = excluded.score_away, ht_home = excluded.ht_home,
                ht_away = excluded.ht_away, ft_home = excluded.ft_home, ft_away = excluded.ft_away,
                et_home = excluded.et_home, et_away = excluded.et_away,
                pen_home = excluded.pen_home, pen_away = excluded.pen_away,
                minute = excluded.minute, updated_at = excluded.updated_at
            """,
            rows,
        )
        ids: dict[str, int] = {}
        keys = [m.key for m in matches]
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, match_id in await self._all(
                f"SELECT key, id FROM matches WHERE key IN ({marks})", chunk
            ):
                ids[key] = match_id
        await db.executemany("DELETE FROM goals WHERE match_id = ?", [(ids[k],) for k in keys])
        await db.executemany(
            "INSERT INTO goals(match_id, seq, side, minute, stoppage, scorer, penalty, own_goal, "
            "assist) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (ids[m.key], seq, g.side, g.minute, g.offset, g.scorer, g.penalty, g.own_goal,
                 g.assist)
                for m in matches
                for seq, g in enumerate(m.goals)
            ],
        )  # fmt: skip
        # Only matches that have or had incidents (most feeds never report any): a delete
        # per match would cost every import a statement per match for nothing.
        with_incidents = [m for m in matches if m.incidents]
        await db.executemany(
            "DELETE FROM incidents WHERE match_id = ?",
            [(ids[m.key],) for m in matches if m.key in incidents],
        )
        await db.executemany(
            "INSERT INTO incidents(match_id, seq, kind, side, minute, stoppage, player, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (ids[m.key], seq, i.kind.value, i.side, i.minute, i.offset, i.player, i.detail)
                for m in with_incidents
                for seq, i in enumerate(m.incidents)
            ],
        )
        return ids

    async def _followers(self, match_id: int) -> list[tuple[int, str]]:
        return [
            (row[0], row[1])
            for row in await self._all(
                f"""
                SELECT DISTINCT c.id, c.timezone FROM matches m
                {_FOLLOWS_OF_MATCH}
                CROSS JOIN chats c ON c.id = f.chat_id AND c.active = 1
                WHERE m.id = ?
                """,
                (match_id,),
            )
        ]

    async def _queue(
        self,
        db: aiosqlite.Connection,
        match_id: int,
        match: MatchState,
        events: list[Event],
        now: datetime,
        render: Renderer,
        *,
        followers: list[tuple[int, str]] | None = None,
        expires_at: datetime | None = None,
    ) -> int:
        """Write one ledger row per (follower, event); a row that exists already stays as is."""
        if followers is None:
            followers = await self._followers(match_id)
        if not followers:
            return 0
        created = to_db(now)
        expiry = to_db(expires_at) if expires_at else None
        texts: dict[tuple[str, str], str] = {}
        rows = []
        for event in events:
            for chat_id, zone in followers:
                text = texts.get((event.key, zone))
                if text is None:
                    text = texts[(event.key, zone)] = _render_for(render, event, match, zone)
                rows.append((chat_id, match_id, event.key, text, created, expiry))
        before = self._db.total_changes
        await db.executemany(
            "INSERT INTO alerts(chat_id, match_id, event, text, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(chat_id, match_id, event) DO NOTHING",
            rows,
        )
        return self._db.total_changes - before

    # -- reminders -------------------------------------------------------------------------

    def _chats_changed(self) -> None:
        self._leads = None
        self._reminder_inputs += 1

    async def _lead_tiers(self) -> LeadTiers:
        """How far ahead each tick must look for due reminders, and for which chats.

        With every chat on the default 30 minutes that is half an hour, not the week /remind
        allows; the few chats with leads beyond two hours are looked up from their side.
        Read once, then again only after a write to chats.
        """
        if self._leads is None:
            written = self._reminder_inputs
            rows = await self._all(
                "SELECT id, (SELECT MAX(value) FROM json_each(reminders)) AS longest "
                "FROM chats WHERE active = 1 AND reminders != 'off' AND longest > ?",
                (NEAR_REMINDER_MINUTES,),
            )
            leads = await self._all(
                "SELECT DISTINCT j.value FROM (SELECT DISTINCT reminders FROM chats "
                "WHERE active = 1 AND reminders != 'off') r, json_each(r.reminders) j"
            )
            if written != self._reminder_inputs:  # a write came while we read: read again
                return await self._lead_tiers()
            self._leads = LeadTiers(
                tuple(sorted(int(lead) for (lead,) in leads)), [chat_id for chat_id, _ in rows]
            )
        return self._leads

    async def queue_due_reminders(self, now: datetime, render: Renderer) -> int:
        """Queue each followed match's reminder whose lead time has come, before kick-off.

        Lead times that passed while the bot was down collapse into the latest one, so a
        restart sends one reminder ("starts in 9 minutes") rather than a stale burst.
        """
        leads = await self._lead_tiers()
        if leads.longest is None:
            return 0
        # A new reminder can only be due if a lead time was crossed for some match in the
        # window, or chats, follows or matches changed since the last scan: otherwise the scan
        # would find only reminders already queued, so skip it.
        inputs = self._reminder_inputs
        window = await self._all(
            "SELECT id, kickoff FROM matches INDEXED BY matches_status "
            "WHERE status = 'scheduled' AND kickoff > ? AND kickoff <= ?",
            (to_db(now), to_db(now + timedelta(minutes=leads.longest))),
        )
        crossed = tuple(
            (match_id, len(_leads_come(leads.leads, from_db(kickoff) - now)))
            for match_id, kickoff in window
        )
        if self._reminders_scanned == (inputs, crossed):
            return 0
        queued = await self._queue_reminders(now, render, leads)
        self._reminders_scanned = (inputs, crossed)
        return queued

    async def _queue_reminders(self, now: datetime, render: Renderer, leads: LeadTiers) -> int:
        assert leads.longest is not None
        near = now + timedelta(minutes=min(leads.longest, NEAR_REMINDER_MINUTES))
        epoch = now.timestamp()
        # Up to two hours ahead: from the matches in that window to whoever follows them.
        rows = await self._all(
            f"""
            SELECT DISTINCT m.id, ch.id, ch.timezone, ch.reminders, m.kickoff
            FROM matches m INDEXED BY matches_status
            {_FOLLOWS_OF_MATCH}
            CROSS JOIN chats ch ON ch.id = f.chat_id AND ch.active = 1 AND ch.reminders != 'off'
            WHERE m.status = 'scheduled' AND m.kickoff > ? AND m.kickoff <= ?
              AND {_REMINDER_NOT_QUEUED}
            """,
            (to_db(now), to_db(near), epoch),
        )
        # Further ahead only the few chats with long leads can be due: start from them.
        for start in range(0, len(leads.far_chats), 500):
            chunk = leads.far_chats[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += await self._all(
                f"""
                SELECT DISTINCT m.id, ch.id, ch.timezone, ch.reminders, m.kickoff
                FROM chats ch
                CROSS JOIN follows f ON f.chat_id = ch.id
                CROSS JOIN matches m ON (f.kind = 'team' AND m.home_id = f.target_id)
                    OR (f.kind = 'team' AND m.away_id = f.target_id)
                    OR (f.kind = 'competition' AND m.competition_id = f.target_id)
                WHERE ch.id IN ({marks})
                  AND m.status = 'scheduled' AND m.kickoff > ? AND m.kickoff <= ?
                  AND {_REMINDER_NOT_QUEUED}
                """,
                (*chunk, to_db(near), to_db(now + timedelta(minutes=leads.longest)), epoch),
            )
        due: dict[int, list[tuple[int, str, int]]] = {}
        for match_id, chat_id, zone, leads_json, kickoff in rows:
            passed = _leads_come(json.loads(leads_json), from_db(kickoff) - now)
            if passed:
                due.setdefault(match_id, []).append((chat_id, zone, min(passed)))
        if not due:
            return 0
        queued = 0
        async with self.transaction() as db:
            for match_id, chats in due.items():
                found = await self._matches("m.id = ?", (match_id,))
                if not found:
                    continue
                match = found[0]
                by_lead: dict[int, list[tuple[int, str]]] = {}
                for chat_id, zone, lead in chats:
                    by_lead.setdefault(lead, []).append((chat_id, zone))
                for lead, followers in by_lead.items():
                    event = Event(
                        EventKind.REMINDER,
                        f"reminder:{lead}:{match.kickoff:%Y%m%dT%H%M}",
                        at=now,
                        lead_minutes=lead,
                    )
                    queued += await self._queue(
                        db, match_id, match, [event], now, render,
                        followers=followers, expires_at=match.kickoff,
                    )  # fmt: skip
        return queued

    # -- the ledger ------------------------------------------------------------------------

    async def pending_alerts(self, limit: int = 500) -> list[PendingAlert]:
        rows = await self._all(
            f"""
            SELECT a.id, a.event, a.text, a.expires_at, a.attempts, a.next_attempt_at,
                   {", ".join("c." + col for col in CHAT_COLUMNS.split(", "))}
            FROM alerts a JOIN chats c ON c.id = a.chat_id
            WHERE a.status = 'pending' ORDER BY a.id LIMIT ?
            """,
            (limit,),
        )
        return [pending_of(row) for row in rows
        ]

    async def ledger_counts(self) -> dict[str, int]:
        """Rows per status and inactive chats, each read from a partial index, in one trip.

        Never a scan of the ledger: /stats shares the one aiosqlite thread with delivery.
        """
        counted = _COUNTED.values()
        counts = ", ".join(f"(SELECT COUNT(*) FROM alerts WHERE {where})" for where in counted)
        row = await self._one(f"SELECT {counts}, (SELECT COUNT(*) FROM chats WHERE active = 0)")
        assert row is not None
        return dict(zip((*_COUNTED, "inactive_chats"), row, strict=True))

    async def prune_ledger(self, older_than: datetime, now: datetime, batch: int) -> int:
        """Delete up to `batch` settled rows (sent, failed, expired) settled before `older_than`.

        Small batches, each its own short transaction, so pruning a long history never holds
        the write lock that a goal's fan-out is waiting for. A reminder's row stays until its
        kick-off has passed: while it is due, that row is what stops it being queued again.
        """
        async with self.transaction() as db:
            cur = await db.execute(
                f"""
                DELETE FROM alerts WHERE id IN (
                    SELECT id FROM alerts WHERE status = 'sent' AND sent_at < ?1
                      AND (expires_at IS NULL OR expires_at < ?2)
                    UNION ALL
                    SELECT id FROM alerts WHERE {_RARE} AND status IN ('failed', 'expired')
                      AND created_at < ?1 AND (expires_at IS NULL OR expires_at < ?2)
                    LIMIT ?3)
                """,
                (to_db(older_than), to_db(now), batch),
            )
            return cur.rowcount

    async def sent_per_second(
        self, now: datetime, window: timedelta = timedelta(minutes=1)
    ) -> float:
        """The recent send rate, from the ledger itself so any process can report it."""
        row = await self._one(
            "SELECT COUNT(*) FROM alerts WHERE status = 'sent' AND sent_at > ?",
            (to_db(now - window),),
        )
        return (row[0] if row else 0) / window.total_seconds()

    async def due_alerts(self, platforms: Sequence[str], now: datetime) -> DueAlerts:
        """Pending rows that could go now for these platforms: what health and metrics watch."""
        if not platforms:
            return DueAlerts({}, 0.0)
        marks = ", ".join("?" * len(platforms))
        rows = await self._all(
            f"""
            SELECT c.platform, COUNT(*), MIN(a.created_at)
            FROM alerts a JOIN chats c ON c.id = a.chat_id
            WHERE a.status = 'pending' AND c.platform IN ({marks})
              AND (a.next_attempt_at IS NULL OR a.next_attempt_at <= ?)
            GROUP BY c.platform
            """,
            (*platforms, now.timestamp()),  # backoffs are on the bot's clock (ledger.py)
        )
        oldest = min((from_db(row[2]) for row in rows), default=now)
        return DueAlerts({row[0]: row[1] for row in rows}, max(0.0, (now - oldest).total_seconds()))

    async def last_errors(self, limit: int = 5) -> list[tuple[int, str, str]]:
        rows = await self._all(
            "SELECT a.chat_id, a.event, a.last_error FROM alerts a "
            "WHERE a.last_error IS NOT NULL ORDER BY a.id DESC LIMIT ?",
            (limit,),
        )
        return [(row[0], row[1], row[2]) for row in rows]
