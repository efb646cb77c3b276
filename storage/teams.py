"""Which stored team a feed's team is: one team is one team, and two are never one.

A name is one team within its scope — a league's country ("en"), or "international" for
national teams — so Nacional of Uruguay and of Portugal stay apart. Three-letter codes
collide across countries and sources (Liverpool and Livingston are both LIV; Inter and
Internacional both INT), so a code is only a hint among national teams, where FIFA's codes
are unique: "Korea Republic" (KOR) is the "South Korea" already known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from feeds.model import TeamRef, fold
from feeds.teams import team_key
from storage.db import Connection

NATIONAL = "international"


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


async def find_team(
    db: Connection, team: TeamRef, keyed: Mapping[str, tuple[int, str | None]] | None = None
) -> tuple[int | None, bool]:
    """The id of the stored team `team` is (None: a new team), and whether the stored row
    should take the team's scope, code or name (it was recorded before they were known).

    `keyed` maps feeds/teams.py's `team_key` ("Arsenal FC" and "Arsenal" alike) to stored
    teams: a last resort, taken only within the same scope (or where one side has none)."""
    folded, scope = fold(team.name), team.scope or ""
    rows = await db.fetch_all(
        "SELECT id, code, scope FROM teams WHERE folded = ? AND placeholder = ?",
        (folded, int(team.placeholder)),
    )
    same = [r for r in rows if r[2] == scope]
    if same:
        return int(same[0][0]), bool(team.code and not same[0][1])
    if scope:
        # A row stored before scopes were known (scope '') is this team, if it is the only
        # one of that name; a row of another scope is another team.
        unscoped = [r for r in rows if r[2] == ""]
        if len(unscoped) == 1 and len(rows) == 1:
            return int(unscoped[0][0]), True
    elif len(rows) == 1:  # a source that does not say its scope: the only team so named
        return int(rows[0][0]), bool(team.code and not rows[0][1])
    if scope == NATIONAL and team.code and not team.placeholder:
        coded = await db.fetch_all(
            "SELECT id FROM teams WHERE scope = ? AND code = ? AND placeholder = 0",
            (NATIONAL, team.code),
        )
        if len(coded) == 1:
            return int(coded[0][0]), True  # the row learns this name (team_names)
    hit = (keyed or {}).get(team_key(team.name)) if not team.placeholder else None
    if hit is not None:
        rows = await db.fetch_all("SELECT scope FROM teams WHERE id = ?", (hit[0],))
        other = rows[0][0] if rows else ""
        if not scope or not other or other == scope:
            return hit[0], True
    return None, False


async def team_id(
    db: Connection,
    team: TeamRef,
    keyed: Mapping[str, tuple[int, str | None]] | None = None,
) -> tuple[int, bool]:
    """The stored team's id, adding or completing its row; True when a row was written."""
    found, complete = await find_team(db, team, keyed)
    if found is not None:
        if complete:
            await db.execute(
                "UPDATE teams SET code = COALESCE(code, ?), "
                "scope = CASE WHEN scope = '' THEN ? ELSE scope END WHERE id = ?",
                (team.code, team.scope or "", found),
            )
            await db.execute(
                "INSERT INTO team_names(team_id, folded, name) SELECT id, ?, ? FROM teams "
                "WHERE id = ? AND folded != ? ON CONFLICT DO NOTHING",
                (fold(team.name), team.name, found, fold(team.name)),
            )
        return found, complete
    row = await db.fetch_one(
        "INSERT INTO teams(name, folded, code, scope, placeholder) VALUES (?, ?, ?, ?, ?) "
        "RETURNING id",
        (team.name, fold(team.name), team.code, team.scope or "", int(team.placeholder)),
    )
    assert row is not None
    return int(row[0]), True
