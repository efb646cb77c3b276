"""National teams as fans write them in any language, through CLDR territory names.

Babel ships CLDR's name of every territory in every locale ("Deutschland", "Allemagne",
"ドイツ", "독일"), so no alias table is written by hand: a national team whose name is a
territory's name in some locale gets every other locale's name for it. Flags work the same
way — 🇧🇪 is the regional indicators B E, the territory BE. England, Scotland and Wales are
not CLDR territories but subdivisions of GB, whose flags are tag sequences (🏴 + "gbeng"
in tag letters); Babel has no subdivision names, so those three are decoded to the names
the sources use.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from babel import Locale
from babel.localedata import locale_identifiers

from feeds.model import fold

__all__ = [
    "FLUENT", "every_loaded", "flag_name", "generation", "loaded", "names_of", "territory_of",
    "warm_up",
]  # fmt: skip

# Languages whose names also take prefixes and typos (every locale's exact name works):
# prefix and fuzzy matching across 1,000 locales would make every short query ambiguous.
FLUENT = ("en", "de", "fr", "es", "pt", "nl", "it", "ja", "ko", "zh", "ru", "pl", "sv",
          "da", "nb", "fi", "tr", "hr", "cs", "ar")  # fmt: skip

_SUBDIVISIONS = {"gbeng": "England", "gbsct": "Scotland", "gbwls": "Wales"}
_REGIONAL_A = 0x1F1E6
_TAG_A, _TAG_CANCEL, _BLACK_FLAG = 0xE0061, 0xE007F, 0x1F3F4


@dataclass(frozen=True, slots=True)
class _Fluent:
    english: dict[str, str]  # folded English name → territory
    names: dict[str, set[str]]  # folded name in a FLUENT language → territories
    by_territory: dict[str, dict[str, str]]  # territory → {folded: name}, FLUENT languages


_fluent: _Fluent | None = None
_every: dict[str, dict[str, str]] | None = None  # territory → {folded: name}, every locale
_building = threading.Lock()


def _index() -> _Fluent:
    """The fluent languages' names (a quarter of a second), built once per process by
    `warm_up` in a worker thread or awaited through `loaded` — never in the event loop."""
    global _fluent
    if _fluent is None:
        with _building:  # a second caller waits for the first instead of building again
            if _fluent is None:
                _fluent = _build(FLUENT)[1]
    return _fluent


async def loaded() -> None:
    """Wait, off the event loop, until the fluent names are loaded (at once when they are).
    Every other locale's names come only when needed (`every_loaded`)."""
    if _fluent is None:
        await asyncio.to_thread(_index)


def generation() -> int:
    """Changes when every locale's names have arrived: targets built before are rebuilt."""
    return 1 if _every is not None else 0


def _build(locales: Sequence[str]) -> tuple[dict[str, dict[str, str]], _Fluent]:
    english = {fold(n): c for c, n in Locale("en").territories.items() if _country(c)}
    names: dict[str, set[str]] = defaultdict(set)
    by_territory: dict[str, dict[str, str]] = defaultdict(dict)
    for identifier in locales:
        try:
            territories = Locale.parse(identifier).territories
        except (ValueError, LookupError):
            continue
        for code, name in territories.items():
            folded = fold(name)
            if _country(code) and folded:
                by_territory[code].setdefault(folded, name)
                names[folded].add(code)
    return dict(by_territory), _Fluent(english, dict(names), dict(by_territory))


def _country(code: str) -> bool:
    return len(code) == 2 and code.isalpha()  # not regions such as 001 (World), 150 (Europe)


def warm_up() -> None:
    """Load the fluent languages' names (call it in a worker thread)."""
    _index()


def _load_every() -> None:
    global _every
    with _building:
        if _every is None:
            every = sorted(i for i in locale_identifiers() if "_" not in i)
            _every = _build(every)[0]


async def every_loaded() -> bool:
    """Load every CLDR locale's names, off the event loop (a second or two, once): only
    when a name is not found among the fluent languages', so neither start-up nor a live
    replay pays for it. False when they were loaded already (nothing new to try)."""
    if _every is not None:
        return False
    await asyncio.to_thread(_load_every)
    return True


def territory_of(name: str) -> str | None:
    """The territory a team's name is the CLDR name of: in English first, else in a fluent
    language when only one territory is called so; None for clubs (and for England, which
    some locales use for the whole United Kingdom)."""
    index, folded = _index(), fold(name)
    if folded in index.english:
        return index.english[folded]
    codes = index.names.get(folded, set())
    return next(iter(codes)) if len(codes) == 1 else None


def names_of(territory: str) -> tuple[dict[str, str], dict[str, str]]:
    """({folded: name} in the fluent languages, {folded: name} in every locale so far)."""
    fluent = _index().by_territory.get(territory, {})
    return fluent, (_every or {}).get(territory, {})


def flag_name(text: str) -> str | None:
    """"🇧🇪" → "BE", "🏴 gbeng …" → "England"; None when `text` is not one flag."""
    text = text.strip()
    points = [ord(ch) for ch in text]
    if len(points) == 2 and all(_REGIONAL_A <= p < _REGIONAL_A + 26 for p in points):
        return "".join(chr(ord("A") + p - _REGIONAL_A) for p in points)
    if len(points) > 2 and points[0] == _BLACK_FLAG and points[-1] == _TAG_CANCEL:
        tags = points[1:-1]
        if all(_TAG_A <= p < _TAG_A + 26 for p in tags):
            return _SUBDIVISIONS.get("".join(chr(ord("a") + p - _TAG_A) for p in tags))
    return None
