"""Forgiving names: what a fan types (`belgum`, `BEL`, `côte`) to the team or competition meant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process, utils

from feeds.model import fold
from handlers.countries import flag_name

SURE = 86  # a fuzzy score this high, clear of the runner-up, is taken as the answer
CLEAR_MARGIN = 6
SUGGEST = 76  # below this a name is not worth suggesting (Nederland is not Poland at 72)
# Words of official names that say what kind of state, not which ("Korea Republic", "IR
# Iran", "Congo DR"): a name whose other words all belong to one team is that team.
_STATE_WORDS = frozenset({"republic", "rep", "ir", "pr", "dr", "dpr", "the", "of", "fc"})
MAX_CHOICES = 5


@dataclass(frozen=True, slots=True)
class Target:
    """Something a chat can ask about or follow: a team or a competition."""

    kind: str  # team or competition
    id: int
    name: str
    code: str | None = None
    folded: str = field(default="", compare=False)  # the name this target is found by
    words: tuple[str, ...] = field(default=(), compare=False)
    # 0: the team's own name; 1: another name in a fluent language (prefixes and typos
    # work); 2: a name in any other locale (exact only). See handlers/countries.py.
    tier: int = field(default=0, compare=False)
    territory: str | None = field(default=None, compare=False)

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


def _unique(targets: Iterable[Target]) -> list[Target]:
    """One entry per team or competition (a team is found by several names)."""
    return list(dict.fromkeys(targets))


def resolve(query: str, targets: Sequence[Target]) -> Resolution:
    """A flag, exact name (in any language), FIFA code, word prefix, then typo-tolerant
    matching, in that order."""
    flag = flag_name(query)
    if flag is not None and len(flag) == 2:  # a country's flag: its territory code
        flagged = _unique(t for t in targets if t.territory == flag)
        return Resolution(flagged[0]) if len(flagged) == 1 else Resolution(None, tuple(flagged))
    wanted = fold(flag or query)
    if not wanted or not targets:
        return Resolution(None)
    exact = _unique(t for t in targets if t.folded == wanted)
    if len(exact) == 1:
        return Resolution(exact[0])
    if len(wanted) <= 4 and wanted.isalpha():
        coded = _unique(t for t in targets if t.code and t.code.casefold() == wanted)
        if len(coded) == 1:
            return Resolution(coded[0])
    targets = [t for t in targets if t.tier <= 1]
    prefixed = _unique(t for t in targets if _starts(t, wanted))
    if len(prefixed) == 1:
        return Resolution(prefixed[0])
    if len(prefixed) > 1:
        return Resolution(None, _closest(wanted, prefixed))
    words = set(wanted.split("-")) - _STATE_WORDS
    if words and words != set(wanted.split("-")):
        worded = _unique(t for t in targets if words <= set(t.words))
        if len(worded) == 1:
            return Resolution(worded[0])
    scored = _fuzzy(wanted, targets, MAX_CHOICES * 4)
    if not scored:
        return Resolution(None)
    best, best_score = scored[0]
    runner_up = scored[1][1] if len(scored) > 1 else 0.0
    if best_score >= SURE and best_score - runner_up >= CLEAR_MARGIN:
        return Resolution(best)
    return Resolution(None, tuple(t for t, score in scored if score >= SUGGEST)[:MAX_CHOICES])


def _fuzzy(
    wanted: str, targets: Sequence[Target], limit: int, cutoff: float = 0
) -> list[tuple[Target, float]]:
    """Typo-tolerant candidates, best first (rapidfuzz's WRatio), each target once."""
    scored = process.extract(
        wanted,
        {i: t.folded for i, t in enumerate(targets)},
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=cutoff,
    )
    best: dict[Target, float] = {}
    for _, score, i in scored:
        best.setdefault(targets[i], score)
    return list(best.items())


def _starts(target: Target, wanted: str) -> bool:
    """`man` starts `manchester-united-fc`; `united` starts one of its words too."""
    return target.folded.startswith(wanted) or any(w.startswith(wanted) for w in target.words)


def _closest(wanted: str, targets: Sequence[Target]) -> tuple[Target, ...]:
    ranked = sorted(targets, key=lambda t: (-fuzz.ratio(wanted, t.folded), t.name))
    return tuple(ranked[:MAX_CHOICES])


def suggest(current: str, targets: Sequence[Target], limit: int) -> list[str]:
    """Autocomplete: FIFA code, then prefix, then word prefix, then typo-tolerant matches."""
    wanted = fold(current)
    targets = [t for t in targets if t.tier <= 1]
    if not wanted:
        return list(dict.fromkeys(t.name for t in targets if t.tier == 0))[:limit]
    ranked = [t for t in targets if t.code and t.code.casefold() == wanted]
    ranked += [t for t in targets if t.folded.startswith(wanted)]
    ranked += [t for t in targets if any(w.startswith(wanted) for w in t.words)]
    ranked += [t for t, _ in _fuzzy(wanted, targets, limit, SUGGEST)]
    names: list[str] = []
    for target in ranked:
        if target.name not in names:
            names.append(target.name)
    return names[:limit]
