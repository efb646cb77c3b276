"""football-data.org v4 scorers and standings: the competition-level resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from feeds.football_data.errors import FootballDataDataError
from feeds.football_data.parsing import _team, humanise_group, humanise_stage
from feeds.model import TeamRef, int_or_none


@dataclass(frozen=True, slots=True)
class Scorer:
    """One line of a competition's top-scorer list."""

    player: str
    team: str
    goals: int
    penalties: int | None = None
    assists: int | None = None
    played_matches: int | None = None


@dataclass(frozen=True, slots=True)
class StandingsRow:
    """One team's line in a table."""

    position: int
    team: TeamRef
    played: int
    won: int
    draw: int
    lost: int
    goals_for: int
    goals_against: int
    goal_difference: int
    points: int


@dataclass(frozen=True, slots=True)
class StandingsTable:
    """One table: a league's whole table or one group of a tournament.

    `stage` is humanised ("Group stage", "Regular season"), `group` is "Group A" or None,
    `kind` is v4's TOTAL/HOME/AWAY.
    """

    stage: str
    group: str | None
    kind: str
    rows: tuple[StandingsRow, ...]

    @property
    def title(self) -> str:
        """What to print above the table."""
        return self.group or self.stage



def parse_scorer(raw: Mapping[str, Any]) -> Scorer:
    """One v4 scorers[] entry -> Scorer."""
    if not isinstance(raw, Mapping):
        raise FootballDataDataError("scorer is not an object")
    player = raw.get("player")
    team = raw.get("team")
    goals = int_or_none(raw.get("goals"))
    if not isinstance(player, Mapping) or not player.get("name") or goals is None:
        raise FootballDataDataError(f"scorer without a player name or goals: {raw!r}")
    team_name = ""
    if isinstance(team, Mapping):
        team_name = str(team.get("name") or team.get("shortName") or "")
    return Scorer(
        player=str(player["name"]),
        team=team_name,
        goals=goals,
        penalties=int_or_none(raw.get("penalties")),
        assists=int_or_none(raw.get("assists")),
        played_matches=int_or_none(raw.get("playedMatches")),
    )


def parse_standings(raw: Mapping[str, Any]) -> list[StandingsTable]:
    """A v4 /standings body -> one StandingsTable per (stage, group, kind)."""
    tables = raw.get("standings")
    if not isinstance(tables, list):
        raise FootballDataDataError("standings body without a 'standings' list")
    out: list[StandingsTable] = []
    for table in tables:
        if not isinstance(table, Mapping) or not isinstance(table.get("table"), list):
            raise FootballDataDataError("standing without a 'table' list")
        rows: list[StandingsRow] = []
        for line in table["table"]:
            if not isinstance(line, Mapping):
                raise FootballDataDataError("standings row is not an object")
            team, _ = _team(line.get("team"))
            numbers = {
                field: int_or_none(line.get(source))
                for field, source in (
                    ("position", "position"),
                    ("played", "playedGames"),
                    ("won", "won"),
                    ("draw", "draw"),
                    ("lost", "lost"),
                    ("goals_for", "goalsFor"),
                    ("goals_against", "goalsAgainst"),
                    ("points", "points"),
                )
            }
            missing = [k for k, v in numbers.items() if v is None]
            if missing:
                raise FootballDataDataError(f"standings row for {team.name} lacks {missing}")
            values: dict[str, int] = {k: v for k, v in numbers.items() if v is not None}
            diff = int_or_none(line.get("goalDifference"))
            if diff is None:
                diff = values["goals_for"] - values["goals_against"]
            rows.append(StandingsRow(team=team, goal_difference=diff, **values))
        out.append(
            StandingsTable(
                stage=humanise_stage(str(table.get("stage") or "")) or "Table",
                group=humanise_group(str(table["group"]) if table.get("group") else None),
                kind=str(table.get("type") or "TOTAL").upper(),
                rows=tuple(rows),
            )
        )
    return out

