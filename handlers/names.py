"""Forgiving names: what a fan types (`belgum`, `BEL`, `côte`) to the team or competition meant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process, utils

from feeds.model import fold

SURE = 86  # a fuzzy score this high, clear of the runner-up, is taken as the answer
CLEAR_MARGIN = 6
SUGGEST = 55  # below this a name is not worth suggesting
MAX_CHOICES = 5


@dataclass(frozen=True, slots=True)
class Target:
    """Something a chat can ask about or follow: a team or a competition."""

    kind: str  # team or competition
    id: int
    name: str
    code: str | None = None
    folded: str = field(default="", compare=False)
    words: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Folded once here, not on every command: name matching runs over every team.
        folded = self.folded or fold(self.name)
        object.__setattr__(self, "folded", folded)
        object.__setattr__(self, "words", tuple(folded.split("-")))


@dataclass(frozen=True, slots=True)
class Resolution:
    """One target when the name is clear; otherwise the closest few to offer as buttons."""

    found: Target | None
    choices: tuple[Target, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.found is None and len(self.choices) > 1


def resolve(query: str, targets: Sequence[Target]) -> Resolution:
    """Exact name, FIFA code, word prefix, then typo-tolerant matching, in that order."""
    wanted = fold(query)
    if not wanted or not targets:
        return Resolution(None)
    exact = [t for t in targets if t.folded == wanted]
    if len(exact) == 1:
        return Resolution(exact[0])
    if len(wanted) <= 4 and wanted.isalpha():
        coded = [t for t in targets if t.code and t.code.casefold() == wanted]
        if len(coded) == 1:
            return Resolution(coded[0])
    prefixed = [t for t in targets if _starts(t, wanted)]
    if len(prefixed) == 1:
        return Resolution(prefixed[0])
    if len(prefixed) > 1:
        return Resolution(None, _closest(wanted, prefixed))
    scored = _fuzzy(wanted, targets, MAX_CHOICES)
    if not scored:
        return Resolution(None)
    best, best_score = scored[0]
    runner_up = scored[1][1] if len(scored) > 1 else 0.0
    if best_score >= SURE and best_score - runner_up >= CLEAR_MARGIN:
        return Resolution(best)
    return Resolution(None, tuple(t for t, score in scored if score >= SUGGEST))


def _fuzzy(
    wanted: str, targets: Sequence[Target], limit: int, cutoff: float = 0
) -> list[tuple[Target, float]]:
    """Typo-tolerant candidates, best first (rapidfuzz's WRatio)."""
    scored = process.extract(
        wanted,
        {i: t.folded for i, t in enumerate(targets)},
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=cutoff,
    )
    return [(targets[i], score) for _, score, i in scored]


def _starts(target: Target, wanted: str) -> bool:
    """`man` starts `manchester-united-fc`; `united` starts one of its words too."""
    return target.folded.startswith(wanted) or any(w.startswith(wanted) for w in target.words)


def _closest(wanted: str, targets: Sequence[Target]) -> tuple[Target, ...]:
    ranked = sorted(targets, key=lambda t: (-fuzz.ratio(wanted, t.folded), t.name))
    return tuple(ranked[:MAX_CHOICES])


def suggest(current: str, targets: Sequence[Target], limit: int) -> list[str]:
    """Autocomplete: FIFA code, then prefix, then word prefix, then typo-tolerant matches."""
    wanted = fold(current)
    if not wanted:
        return [t.name for t in targets[:limit]]
    ranked = [t for t in targets if t.code and t.code.casefold() == wanted]
    ranked += [t for t in targets if t.folded.startswith(wanted)]
    ranked += [t for t in targets if any(w.startswith(wanted) for w in t.words)]
    ranked += [t for t, _ in _fuzzy(wanted, targets, limit, SUGGEST)]
    names: list[str] = []
    for target in ranked:
        if target.name not in names:
            names.append(target.name)
    return names[:limit]
