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
from dataclasses import dataclass

from babel import Locale
from babel.localedata import locale_identifiers

from feeds.model import fold

__all__ = ["FLUENT", "flag_name", "loaded", "names_of", "territory_of", "warm_up"]

# Languages whose names also take prefixes and typos (every locale's exact name works):
# prefix and fuzzy matching across 1,000 locales would make every short query ambiguous.
FLUENT = ("en", "de", "fr", "es", "pt", "nl", "it", "ja", "ko", "zh", "ru", "pl", "sv",
          "da", "nb", "fi", "tr", "hr", "cs", "ar")  # fmt: skip

_SUBDIVISIONS = {"gbeng": "England", "gbsct": "Scotland", "gbwls": "Wales"}
_REGIONAL_A = 0x1F1E6
_TAG_A, _TAG_CANCEL, _BLACK_FLAG = 0xE0061, 0xE007F, 0x1F3F4


@dataclass(frozen=True, slots=True)
class _Index:
    english: dict[str, str]  # folded English name → territory
    fluent_names: dict[str, set[str]]  # folded name in a FLUENT language → territories
    fluent: dict[str, dict[str, str]]  # territory → {folded: name} in FLUENT languages
    every: dict[str, dict[str, str]]  # territory → {folded: name} in every locale


_built: _Index | None = None
_building = threading.Lock()


def _index() -> _Index:
    """Every CLDR locale's territory names, built once per process (a second or two): by
    `warm_up` in a worker thread, or awaited through `loaded` — never in the event loop,
    where it would stall the live engine's ticks."""
    global _built
    if _built is None:
        with _building:  # a second caller waits for the first instead of building again
            if _built is None:
                _built = _build()
    return _built


async def loaded() -> None:
    """Wait, off the event loop, until the names are loaded (at once when they are)."""
    if _built is None:
        await asyncio.to_thread(_index)


def _build() -> _Index:
    english = {fold(n): c for c, n in Locale("en").territories.items() if _country(c)}
    fluent_names: dict[str, set[str]] = defaultdict(set)
    fluent: dict[str, dict[str, str]] = defaultdict(dict)
    every: dict[str, dict[str, str]] = defaultdict(dict)
    for identifier in sorted(locale_identifiers()):
        if "_" in identifier:
            continue
        try:
            territories = Locale.parse(identifier).territories
        except (ValueError, LookupError):
            continue
        for code, name in territories.items():
            folded = fold(name)
            if not _country(code) or not folded:
                continue
            every[code].setdefault(folded, name)
            if identifier in FLUENT:
                fluent[code].setdefault(folded, name)
                fluent_names[folded].add(code)
    return _Index(english, dict(fluent_names), dict(fluent), dict(every))


def _country(code: str) -> bool:
    return len(code) == 2 and code.isalpha()  # not regions such as 001 (World), 150 (Europe)


def warm_up() -> None:
    """Build the index ahead of the first question (call it in a worker thread)."""
    _index()


def territory_of(name: str) -> str | None:
    """The territory a team's name is the CLDR name of: in English first, else in a fluent
    language when only one territory is called so; None for clubs (and for England, which
    some locales use for the whole United Kingdom)."""
    index, folded = _index(), fold(name)
    if folded in index.english:
        return index.english[folded]
    codes = index.fluent_names.get(folded, set())
    return next(iter(codes)) if len(codes) == 1 else None


def names_of(territory: str) -> tuple[dict[str, str], dict[str, str]]:
    """({folded: name} in the fluent languages, {folded: name} in every locale)."""
    index = _index()
    return index.fluent.get(territory, {}), index.every.get(territory, {})


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
