"""The live write path, behind the Store facade: store what a feed reports and queue the
alerts it causes, in one transaction.

Every outgoing alert is a ledger row first, keyed uniquely by (chat, match, event), written
with the state change that caused it; delivery (storage/ledger.py) marks it sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from feeds.events import Event, EventKind, diff, with_goals
from feeds.model import MatchState, Status, TeamRef, fold
from feeds.observe import Watch
from storage.base import SET_META
from storage.chats import zone_or_utc
from storage.db import Connection, in_chunks, placeholders
from storage.reads import FOLLOWED, FOLLOWS_OF_MATCH, MatchReads
from storage.times import to_db

log = logging.getLogger("matchday.storage")

Renderer = Callable[[Event, MatchState, ZoneInfo], str]

# Ledger rows per INSERT: one statement of many rows, not one per row, so that its count of
# rows written comes back with it; 6 values a row stays under both engines' 32,766 limit.
_ALERT_ROWS_PER_INSERT = 5000
_INSERT_ALERTS = (
    "INSERT INTO alerts(chat_id, match_id, event, text, created_at, expires_at) VALUES {} "
    "ON CONFLICT(chat_id, match_id, event) DO NOTHING"
)

_INSERT_ALERTS_PG = (
    "INSERT INTO alerts(chat_id, match_id, event, text, created_at, expires_at) "
    "SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[]) "
    "ON CONFLICT(chat_id, match_id, event) DO NOTHING"
)

_ANALYZE_AFTER = 10_000  # ledger rows one apply writes before PostgreSQL's statistics are redone
# The active chats that hear about match ? (the WHERE of a query on `chats c`): a chat that
# follows both teams, or a team and the competition, is one chat (IN, not a join: no DISTINCT
# over 100k rows, and the rows come in chat order).
_FOLLOWER = f"""c.active = 1 AND c.id IN (
    SELECT f.chat_id FROM matches m {FOLLOWS_OF_MATCH} WHERE m.id = ? AND {FOLLOWED})"""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    changed: int
    alerts: int
    silent_events: int


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


def _split(pair: tuple[int, int] | None) -> tuple[int | None, int | None]:
    return pair if pair is not None else (None, None)


class MatchWrites(MatchReads):
    """`apply` and the ledger rows it queues."""

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
        async with self.transaction() as tx:
            if meta:
                await tx.execute_many(SET_META, list(meta.items()))
            known = await self._matches_by_key([s.key for s in incoming], db=tx)
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
            ids = await self._save_matches(tx, [state for state, _ in updates], now, incidents)
            self._reminder_inputs += 1  # kick-offs may have moved or matches appeared
            expire = [
                (ids[state.key],)
                for state, events in updates
                if state.status != Status.SCHEDULED
                or any(e.kind == EventKind.KICKOFF_MOVED for e in events)
            ]
            await tx.execute_many(
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
                    alerts += await self._queue(tx, ids[state.key], state, fresh, now, render)
        return ApplyResult(changed, alerts, quiet)

    async def _save_matches(
        self,
        tx: Connection,
        matches: list[MatchState],
        now: datetime,
        incidents: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> dict[str, int]:
        """Upsert matches and replace their goals with a handful of statements, not per match."""
        by_name = {(t.scope, t.folded): t.id for t in await self.teams()}
        teams: dict[tuple[TeamRef, str | None], int] = {}  # scope is not in TeamRef's hash
        competitions = {c.name: c.id for c in await self.competitions()}
        stamp = to_db(now)
        rows = []
        for m in matches:
            for team in (m.home, m.away):
                if (team, team.scope) not in teams:
                    known_id = by_name.get((team.scope or "", fold(team.name)))
                    if known_id is None or team.code:  # a code may still need recording
                        known_id = await self._team_id(tx, team)
                    teams[(team, team.scope)] = known_id
            if m.competition not in competitions:
                competitions[m.competition] = await self._competition_id(tx, m.competition)
            rows.append((
                m.key, competitions[m.competition], m.stage, m.group, to_db(m.kickoff),
                teams[(m.home, m.home.scope)], teams[(m.away, m.away.scope)], m.venue,
                m.status.value, *_split(m.score),
                *_split(m.half_time), *_split(m.full_time), *_split(m.extra_time),
                *_split(m.penalties), m.minute, stamp,
            ))  # fmt: skip
        await tx.execute_many(
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
        for chunk in in_chunks(keys):
            marks = placeholders(len(chunk))
            for key, match_id in await tx.fetch_all(
                f"SELECT key, id FROM matches WHERE key IN ({marks})", chunk
            ):
                ids[key] = match_id
        await tx.execute_many("DELETE FROM goals WHERE match_id = ?", [(ids[k],) for k in keys])
        await tx.execute_many(
            "INSERT INTO goals(match_id, seq, side, minute, stoppage, scorer, penalty, own_goal, "
            "assist) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (ids[m.key], seq, g.side, g.minute, g.offset, g.scorer, int(g.penalty),
                 int(g.own_goal), g.assist)
                for m in matches
                for seq, g in enumerate(m.goals)
            ],
        )  # fmt: skip
        # Only matches that have or had incidents (most feeds never report any): a delete
        # per match would cost every import a statement per match for nothing.
        with_incidents = [m for m in matches if m.incidents]
        await tx.execute_many(
            "DELETE FROM incidents WHERE match_id = ?",
            [(ids[m.key],) for m in matches if m.key in incidents],
        )
        await tx.execute_many(
            "INSERT INTO incidents(match_id, seq, kind, side, minute, stoppage, player, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (ids[m.key], seq, i.kind.value, i.side, i.minute, i.offset, i.player, i.detail)
                for m in with_incidents
                for seq, i in enumerate(m.incidents)
            ],
        )
        return ids

    async def _queue_to_followers(
        self,
        tx: Connection,
        match_id: int,
        match: MatchState,
        events: list[Event],
        now: datetime,
        render: Renderer,
    ) -> int:
        """`_queue` for everyone who follows the match: the followers never leave the
        database. Their zones are read, each event is rendered once per zone, then one
        INSERT … SELECT per event writes the rows, its text picked by the chat's zone.
        100k followers cost ~0.26 s of CPU this way, ~0.5 s when read out and written back
        as parameters (SQLite, measured on the bench's fan-out store)."""
        rows = await tx.fetch_all(
            f"SELECT DISTINCT c.timezone FROM chats c WHERE {_FOLLOWER}", (match_id,)
        )
        zones = [row[0] for row in rows]
        if not zones:
            return 0
        pick = "CASE c.timezone " + " ".join(["WHEN ? THEN ?"] * len(zones)) + " END"
        written = 0
        for event in events:
            texts = [v for zone in zones for v in (zone, _render_for(render, event, match, zone))]
            written += await tx.execute(
                "INSERT INTO alerts(chat_id, match_id, event, text, created_at, expires_at) "
                f"SELECT c.id, ?, ?, {pick}, ?, CAST(? AS TEXT) FROM chats c WHERE {_FOLLOWER} "
                "ON CONFLICT(chat_id, match_id, event) DO NOTHING",
                [match_id, event.key, *texts, to_db(now), None, match_id],
            )
        if written >= _ANALYZE_AFTER and tx.dialect.engine == "postgresql":
            # PostgreSQL plans the delivery's claim from its statistics: still believing few
            # rows pending, it sorted all 100k of them for every batch of 128 (770 rows/s,
            # 1.2 s a claim, until autovacuum's next ANALYZE), instead of walking
            # `alerts_pending` in id order (12,000+ rows/s). Counted when this commits.
            await tx.execute("ANALYZE alerts")
        return written

    async def _queue(
        self,
        tx: Connection,
        match_id: int,
        match: MatchState,
        events: list[Event],
        now: datetime,
        render: Renderer,
        *,
        followers: list[tuple[int, str]] | None = None,
        expires_at: datetime | None = None,
    ) -> int:
        """Write one ledger row per (follower, event); a row that exists already stays as is.
        Returns how many rows are new."""
        if followers is None:
            return await self._queue_to_followers(tx, match_id, match, events, now, render)
        if not followers:
            return 0
        created = to_db(now)
        expiry = to_db(expires_at) if expires_at else None
        texts: dict[tuple[str, str], str] = {}
        rows: list[Any] = []
        for event in events:
            for chat_id, zone in followers:
                text = texts.get((event.key, zone))
                if text is None:
                    text = texts[(event.key, zone)] = _render_for(render, event, match, zone)
                rows += (chat_id, match_id, event.key, text, created, expiry)
        if tx.dialect.engine == "postgresql":
            # One statement of six arrays: 5,000-row VALUES lists, each value typed in Python
            # and the statement prepared by the server, took 4-10 s for 100k rows.
            return await tx.execute(_INSERT_ALERTS_PG, [rows[i::6] for i in range(6)])
        written = 0
        step = _ALERT_ROWS_PER_INSERT * 6
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            written += await tx.execute(_insert_alerts(len(chunk) // 6), chunk)
        return written


_INSERTS: dict[int, str] = {}


def _insert_alerts(count: int) -> str:
    """The INSERT of `count` ledger rows, built once per size (a fan-out repeats sizes)."""
    sql = _INSERTS.get(count)
    if sql is None:
        sql = _INSERT_ALERTS.format(", ".join(["(?, ?, ?, ?, ?, ?)"] * count))
        if len(_INSERTS) < 64:
            _INSERTS[count] = sql
    return sql
