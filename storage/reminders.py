"""Reminders before kick-off, behind the Store facade: which leads are due, queued as ledger
rows like any other alert (their event key says the lead and the kick-off)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.events import Event, EventKind
from storage.chats import reminders_of
from storage.db import Dialect, in_chunks, placeholders
from storage.matches import MatchWrites, Renderer
from storage.reads import FOLLOWED, FOLLOWS_OF_MATCH, indexed_by
from storage.times import from_db, to_db

MAX_REMINDER_MINUTES = 7 * 24 * 60  # a week ahead is the longest lead /remind accepts
NEAR_REMINDER_MINUTES = 120  # leads up to this are found from the matches' side each tick


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


def _not_queued(dialect: Dialect) -> str:
    """The reminder a (chat `ch`, match `m`) pair is due now, if it is already in the ledger,
    leaves the pair out: the same test as `queue_due_reminders` makes (the shortest lead not
    after kick-off minus now, now given as whole epoch seconds), written as the event key the
    ledger holds (`reminder:30:20180702T1800`). Without it, every tick re-found and re-inserted
    every reminder of a match in the half hour before kick-off: 100,000 rows a tick for a
    match with 100,000 followers."""
    return f"""NOT EXISTS (
    SELECT 1 FROM alerts a WHERE a.chat_id = ch.id AND a.match_id = m.id AND a.event =
        'reminder:' || (SELECT CAST(MIN(CAST(value AS INTEGER)) AS TEXT)
                        FROM {dialect.json_array_values('ch.reminders')}
                        WHERE CAST(value AS INTEGER) * 60
                              >= {dialect.epoch_seconds('m.kickoff')} - ?)
        || ':' || replace(replace(substr(m.kickoff, 1, 16), '-', ''), ':', ''))"""


class Reminders(MatchWrites):
    """Lead tiers and `queue_due_reminders`."""

    async def _lead_tiers(self) -> LeadTiers:
        """How far ahead each tick must look for due reminders, and for which chats.

        With every chat on the default 30 minutes that is half an hour, not the week /remind
        allows; the few chats with leads beyond two hours are looked up from their side.
        Read once, then again only after a write to chats.
        """
        if self._leads is None:
            written = self._reminder_inputs
            values = self.db.dialect.json_array_values
            rows = await self.db.fetch_all(
                "SELECT id FROM chats WHERE active = 1 AND reminders != 'off' AND "
                f"(SELECT MAX(CAST(value AS INTEGER)) FROM {values('reminders')}) > ?",
                (NEAR_REMINDER_MINUTES,),
            )
            leads = await self.db.fetch_all(
                "SELECT DISTINCT CAST(value AS INTEGER) FROM (SELECT DISTINCT reminders "
                f"FROM chats WHERE active = 1 AND reminders != 'off') r, {values('r.reminders')}"
            )
            if written != self._reminder_inputs:  # a write came while we read: read again
                return await self._lead_tiers()
            self._leads = LeadTiers(
                tuple(sorted(int(lead) for (lead,) in leads)), [chat_id for (chat_id,) in rows]
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
        window = await self.db.fetch_all(
            f"SELECT id, kickoff FROM matches {indexed_by(self.db.dialect, 'matches_status')} "
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
        # Whole seconds, rounded down: leads and kick-offs are whole seconds, so
        # `lead >= kickoff - now` holds exactly when it does for the fractional `now`.
        epoch = math.floor(now.timestamp())
        not_queued = _not_queued(self.db.dialect)
        # Up to two hours ahead: from the matches in that window to whoever follows them.
        rows = await self.db.fetch_all(
            f"""
            SELECT DISTINCT m.id, ch.id, ch.timezone, ch.reminders, m.kickoff
            FROM matches m {indexed_by(self.db.dialect, 'matches_status')}
            {FOLLOWS_OF_MATCH}
            CROSS JOIN chats ch
            WHERE {FOLLOWED}
              AND ch.id = f.chat_id AND ch.active = 1 AND ch.reminders != 'off'
              AND m.status = 'scheduled' AND m.kickoff > ? AND m.kickoff <= ?
              AND {not_queued}
            """,
            (to_db(now), to_db(near), epoch),
        )
        # Further ahead only the few chats with long leads can be due: start from them.
        for chunk in in_chunks(leads.far_chats):
            marks = placeholders(len(chunk))
            rows += await self.db.fetch_all(
                f"""
                SELECT DISTINCT m.id, ch.id, ch.timezone, ch.reminders, m.kickoff
                FROM chats ch
                CROSS JOIN follows f
                CROSS JOIN matches m
                WHERE f.chat_id = ch.id
                  AND ((f.kind = 'team' AND m.home_id = f.target_id)
                       OR (f.kind = 'team' AND m.away_id = f.target_id)
                       OR (f.kind = 'competition' AND m.competition_id = f.target_id))
                  AND ch.id IN ({marks})
                  AND m.status = 'scheduled' AND m.kickoff > ? AND m.kickoff <= ?
                  AND {not_queued}
                """,
                (*chunk, to_db(near), to_db(now + timedelta(minutes=leads.longest)), epoch),
            )
        due: dict[int, list[tuple[int, str, int]]] = {}
        for match_id, chat_id, zone, leads_json, kickoff in rows:
            passed = _leads_come(reminders_of(leads_json), from_db(kickoff) - now)
            if passed:
                due.setdefault(match_id, []).append((chat_id, zone, min(passed)))
        if not due:
            return 0
        queued = 0
        async with self.transaction() as tx:
            for match_id, chats in due.items():
                found = await self._matches("m.id = ?", (match_id,), db=tx)
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
                        tx, match_id, match, [event], now, render,
                        followers=followers, expires_at=match.kickoff,
                    )  # fmt: skip
        return queued
