"""When each knock-out pairing is decided, so a replay never names a side before its time.

A file written after the tournament names every knock-out side ("Spain v Russia, Round of
16"); a fan at 2018-06-01 must read "Winner Group B v Runner-up Group A" instead. A side is
decided when the group it came from has played its last match, or when the tie it won (or,
for a third-place match, lost) is over; a fixture names its teams once both are decided.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.model import MatchState, Status, TeamRef

__all__ = ["TO_BE_DECIDED", "Pairings", "Slot"]

TO_BE_DECIDED = "To be decided"
# For a feeder match the source has not finished: when it is surely over.
_UNPLAYED_LENGTH = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class Slot:
    """How one side of a knock-out match comes about: from a group (`group`, `place` 1 or 2)
    or as the winner (`won`) or loser of an earlier tie (`feeder`, a match key)."""

    decided_at: datetime
    group: str | None = None
    place: int = 0
    feeder: str | None = None
    won: bool = True


def _winner(match: MatchState) -> int | None:
    """1 or 2 for the side that went through, None for a draw (or no score)."""
    for pair in (match.penalties, match.score):
        if pair is not None and pair[0] != pair[1]:
            return 1 if pair[0] > pair[1] else 2
    return None


def _group_places(matches: Sequence[MatchState]) -> dict[str, int]:
    """Each team's final place in its group: points, goal difference, goals, then name."""
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for m in matches:
        if m.score is None:
            continue
        for team, scored, conceded in (
            (m.home.name, m.score[0], m.score[1]),
            (m.away.name, m.score[1], m.score[0]),
        ):
            row = rows[team]
            row[0] += 3 if scored > conceded else 1 if scored == conceded else 0
            row[1] += scored - conceded
            row[2] += scored
    order = sorted(rows, key=lambda t: (-rows[t][0], -rows[t][1], -rows[t][2], t))
    return {team: place for place, team in enumerate(order, 1)}


class Pairings:
    """Every knock-out side of every competition given, with when it is decided."""

    def __init__(self, matches: Sequence[MatchState], finish: Callable[[MatchState], datetime]):
        self._slots: dict[tuple[str, int], Slot] = {}
        self._by_key = {m.key: m for m in matches}
        by_competition: dict[str, list[MatchState]] = defaultdict(list)
        for m in matches:
            by_competition[m.competition].append(m)
        for games in by_competition.values():
            self._competition(sorted(games, key=lambda m: (m.kickoff, m.key)), finish)

    def _competition(
        self, games: list[MatchState], finish: Callable[[MatchState], datetime]
    ) -> None:
        groups: dict[str, list[MatchState]] = defaultdict(list)
        for m in games:
            if m.group:
                groups[m.group].append(m)
        if not groups:  # a league: every fixture is known from the start
            return

        def over(m: MatchState) -> datetime:
            return finish(m) if m.status is Status.FINISHED else m.kickoff + _UNPLAYED_LENGTH

        group_end = {g: max(over(m) for m in ms) for g, ms in groups.items()}
        places = {g: _group_places(ms) for g, ms in groups.items()}
        last: dict[str, MatchState] = {}  # each team's latest match so far
        for m in games:
            if m.group is None:
                for side, team in ((1, m.home), (2, m.away)):
                    previous = last.get(team.name)
                    if previous is None or team.placeholder:
                        continue
                    if previous.group is not None:
                        g = previous.group
                        slot = Slot(group_end[g], group=g, place=places[g].get(team.name, 0))
                    else:
                        won = _winner(previous) == (1 if previous.home == team else 2)
                        slot = Slot(over(previous), feeder=previous.key, won=won)
                    self._slots[(m.key, side)] = slot
            last[m.home.name] = last[m.away.name] = m

    def decided_at(self, match: MatchState) -> datetime | None:
        """When both sides of `match` are known (None: from the start)."""
        times = [s.decided_at for side in (1, 2) if (s := self._slots.get((match.key, side)))]
        return max(times, default=None)

    def sides(self, match: MatchState, now: datetime) -> tuple[TeamRef, TeamRef]:
        """The match's sides as known at `now`: the teams once both are decided, else what
        the draw says ("Winner Group A", "Winner Spain/Russia") or "To be decided"."""
        decided = self.decided_at(match)
        if decided is None or now >= decided:
            return match.home, match.away
        return self._label(match, 1, now), self._label(match, 2, now)

    def _label(self, match: MatchState, side: int, now: datetime) -> TeamRef:
        slot = self._slots.get((match.key, side))
        text = TO_BE_DECIDED
        if slot is not None and slot.group is not None and slot.place in (1, 2):
            text = f"{'Winner' if slot.place == 1 else 'Runner-up'} {slot.group}"
        elif slot is not None and slot.feeder is not None:
            feeder = self._by_key[slot.feeder]
            home, away = self.sides(feeder, now)
            if not (home.placeholder or away.placeholder):
                text = f"{'Winner' if slot.won else 'Loser'} {home.name}/{away.name}"
        return TeamRef(text, None, placeholder=True)
