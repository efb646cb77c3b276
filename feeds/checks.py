"""Data made right on import: scores checked against the goal list (the goals are the
better witness), and group games numbered within their group.

openfootball files are hand-edited and their half-time scores are sometimes wrong (the 2018
file has Japan v Poland and Senegal v Colombia at 0–1 at half-time; both were 0–0, as the
goal lists say). A wrong half-time would make the half-time alert say 0–1 and the 59'
goal "make" it 0–1 again, so a score the goals contradict is corrected from them, and the
importer says which match it corrected and how.
"""

from __future__ import annotations

import re

from feeds.model import Goal, MatchState, Pair, Status

__all__ = ["checked", "group_matchdays"]


def _count(goals: list[Goal]) -> Pair:
    return sum(g.side == 1 for g in goals), sum(g.side == 2 for g in goals)


def _dash(pair: Pair) -> str:
    return f"{pair[0]}–{pair[1]}"


def checked(match: MatchState) -> tuple[MatchState, list[str]]:
    """The match with its scores made to agree with its goals, and a note per correction.

    The goals are taken as complete when there are at least as many of them as the final
    score says for each side (a goal list with fewer is a partial one, as in league files,
    and proves nothing). With complete goals: the final score is what they add up to, the
    half-time score is the goals up to 45+x, and the score after 90 minutes of a match that
    went to extra time is the goals up to 90+x.
    """
    if match.status is not Status.FINISHED or match.score is None or not match.goals:
        return match, []
    goals = list(match.goals)
    total = _count(goals)
    if total[0] < match.score[0] or total[1] < match.score[1]:
        return match, []
    label = f"{match.home.name} v {match.away.name} ({match.kickoff:%Y-%m-%d})"
    notes: list[str] = []
    changes: dict[str, Pair] = {}

    def check(field: str, what: str, given: Pair | None, by_goals: Pair) -> None:
        if given is not None and given != by_goals:
            changes[field] = by_goals
            notes.append(
                f"{label}: {what} {_dash(given)} in the file contradicts its goals; "
                f"using {_dash(by_goals)}"
            )

    check("score", "final score", match.score, total)
    if match.extra_time is not None:
        check("extra_time", "score after extra time", match.extra_time, total)
        check("full_time", "score after 90 minutes", match.full_time,
              _count([g for g in goals if g.minute <= 90]))  # fmt: skip
    check("half_time", "half-time score", match.half_time,
          _count([g for g in goals if g.minute <= 45]))  # fmt: skip
    return (match.with_(**changes) if changes else match), notes


_TOURNAMENT_DAY = re.compile(r"matchday \d+", re.IGNORECASE)


def group_matchdays(matches: list[MatchState]) -> list[MatchState]:
    """Group games labelled by the group's own matchday, 1–3, as fans count them.

    World Cup files number rounds by the tournament's day ("Belgium v Panama · Group G ·
    Matchday 5"); within a group it is each team's first game. A group game's matchday is
    how many games its teams have played in the group by then, this one included.
    """
    played: dict[tuple[str, str], int] = {}
    out = []
    for m in sorted(matches, key=lambda m: (m.kickoff, m.key)):
        if m.group and _TOURNAMENT_DAY.fullmatch(m.stage.strip()):
            counts = []
            for team in (m.home.name, m.away.name):
                played[(m.group, team)] = played.get((m.group, team), 0) + 1
                counts.append(played[(m.group, team)])
            m = m.with_(stage=f"Matchday {max(counts)}")
        out.append(m)
    order = {m.key: i for i, m in enumerate(matches)}
    return sorted(out, key=lambda m: order[m.key])
