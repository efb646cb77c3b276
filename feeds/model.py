"""The feed-neutral shape of a match: what every feed produces and the store keeps."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime


class Status(enum.StrEnum):
    """Where a match stands. Values are stored in SQLite, so never rename them."""

    SCHEDULED = "scheduled"
    LIVE = "live"  # first or second half in play
    HALF_TIME = "half_time"
    EXTRA_TIME = "extra_time"
    PENALTIES = "penalties"  # shoot-out under way
    FINISHED = "finished"
    POSTPONED = "postponed"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"

    @property
    def in_play(self) -> bool:
        return self in IN_PLAY


IN_PLAY = frozenset({Status.LIVE, Status.HALF_TIME, Status.EXTRA_TIME, Status.PENALTIES})


@dataclass(frozen=True, slots=True)
class TeamRef:
    """A team as a feed names it; `code` is the FIFA/feed three-letter code when known.

    A `placeholder` is a knock-out side not decided yet ("Winner Group A"): shown in
    fixtures, but no team a fan can name, follow or be reminded about.
    """

    name: str
    code: str | None = None
    placeholder: bool = False
    # Where the name is one team: a league's country ("en") or "international"; None when
    # the source does not say (storage/teams.py). Not part of equality: a feed that omits
    # it reports the same team.
    scope: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Goal:
    """One goal. `side` is the team it counts for (1 = home/team1, 2 = away/team2)."""

    side: int
    minute: int
    offset: int = 0  # stoppage time: minute 90, offset 4 is 90+4'
    scorer: str | None = None  # None when the feed only tells us the score changed
    penalty: bool = False
    own_goal: bool = False
    assist: str | None = None  # only some feeds know it (API-Football)

    @property
    def clock(self) -> str:
        """The minute as fans write it: 48', 90+4'."""
        return f"{self.minute}+{self.offset}'" if self.offset else f"{self.minute}'"

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.minute, self.offset)


class IncidentKind(enum.StrEnum):
    """What else happens in a match that feeds with events report. Stored: never rename."""

    RED_CARD = "red_card"  # a straight red or a second yellow
    MISSED_PENALTY = "missed_penalty"  # in play; shoot-out kicks are in `penalties`
    VAR = "var"  # a goal VAR took back, with its reason (the goal itself leaves `goals`)


@dataclass(frozen=True, slots=True)
class Incident:
    """A red card, a missed penalty or a VAR decision; `side` is the player's team."""

    kind: IncidentKind
    side: int
    minute: int
    offset: int = 0
    player: str | None = None
    detail: str | None = None  # VAR's reason: "Goal cancelled", "Goal Disallowed - offside"

    @property
    def clock(self) -> str:
        return f"{self.minute}+{self.offset}'" if self.offset else f"{self.minute}'"

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.minute, self.offset)

    @property
    def key(self) -> str:
        """Unique within its match and stable across polls: half of the ledger's key."""
        who = fold(self.player or "")
        return f"{self.kind.value}:{self.side}:{self.minute}+{self.offset}:{who}"


Pair = tuple[int, int]


@dataclass(frozen=True, slots=True)
class MatchState:
    """Everything known about one match at one instant.

    `key` is stable across polls and restarts (e.g. ``wc2018:2018-07-02:belgium-japan`` or
    ``fd:12345``); `kickoff` is timezone-aware UTC. `score` is the running score including
    extra time but never the shoot-out, which lives in `penalties`.
    """

    key: str
    competition: str
    stage: str
    kickoff: datetime
    home: TeamRef
    away: TeamRef
    status: Status = Status.SCHEDULED
    group: str | None = None
    venue: str | None = None
    score: Pair | None = None
    half_time: Pair | None = None
    full_time: Pair | None = None  # after 90 minutes, when the match went to extra time
    extra_time: Pair | None = None  # after 120 minutes (includes the first 90)
    penalties: Pair | None = None
    minute: int | None = None  # the feed's running minute, when it gives one
    goals: tuple[Goal, ...] = field(default_factory=tuple)
    incidents: tuple[Incident, ...] = field(default_factory=tuple)
    # What the feed said at this poll only (never stored, never compared): the added time
    # of its running minute, and when it last changed the match (football-data's
    # `lastUpdated`), which tells a stale cached answer from a correction.
    added: int | None = field(default=None, compare=False)
    updated: datetime | None = field(default=None, compare=False)

    def with_(self, **changes: object) -> MatchState:
        return replace(self, **changes)  # type: ignore[arg-type]


def fold(text: str) -> str:
    """A name as users may type it: case, accents and punctuation folded (Côte → cote)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "-".join(re.findall(r"[^\W_]+", plain))


def int_or_none(value: object) -> int | None:
    """A feed's number, or None for anything else (JSON's true/false are not numbers here)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
