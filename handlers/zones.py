"""What a user means by a time zone: IANA names, `UTC+2`, city and country names, typos.

Only zones shipped by the `tzdata` package are accepted, and only if they load: a name that
happens to exist on this host (`localtime`, `posixrules`, `right/...`) may not exist on the
next one, and a chat's stored zone that no longer loads would have to fall back to UTC.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from feeds.model import fold

MAX_SUGGESTIONS = 3  # for a typo
MAX_CHOICES = 5  # for a country or city with several zones
# `UTC+2`, `GMT-5`, `utc +05:30`, `+2`: an offset east (+) or west (-) of UTC.
_OFFSET = re.compile(r"^(?:utc|gmt|z)?\s*([+\-−])\s*(\d{1,2})(?:[:.h]?(\d{2}))?$", re.IGNORECASE)
_UTC_NAMES = {"utc", "gmt", "z", "zulu", "utc+0", "utc-0", "gmt+0", "gmt-0"}


@dataclass(frozen=True, slots=True)
class ZoneChoice:
    """Either one zone (`found`), or why not (`problem`) with a few zones that may be meant."""

    found: str | None = None
    problem: str | None = None
    suggestions: tuple[str, ...] = ()


def _tzdata_text(name: str) -> str:
    return importlib.resources.files("tzdata").joinpath(name).read_text(encoding="utf-8")


def _table(name: str) -> list[list[str]]:
    return [
        line.split("\t") for line in _tzdata_text(name).splitlines() if line and line[0] != "#"
    ]


def _loads(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return False
    return True


@functools.cache
def portable_zones() -> frozenset[str]:
    """Every zone name `tzdata` ships (`Factory` is not a place). Read from its list, not by
    loading each zone: that took a third of a second, on every start."""
    return frozenset(n for n in _tzdata_text("zones").split() if n != "Factory")


def usable_zone(name: str) -> bool:
    """A zone a chat may be given: one tzdata ships, and that loads here."""
    return name in portable_zones() and _loads(name)


@functools.cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in portable_zones()}


@functools.cache
def _canonical() -> frozenset[str]:
    """Zones of `zone.tab`: one per region, not the backward-compatible aliases."""
    return frozenset(row[2] for row in _table("zoneinfo/zone.tab") if len(row) >= 3)


@functools.cache
def _by_city() -> dict[str, tuple[str, ...]]:
    """Folded city (last part of the name: `sao-paulo`) → zones, canonical ones first."""
    cities: dict[str, list[str]] = {}
    for name in sorted(z for z in portable_zones() if "/" in z):
        cities.setdefault(fold(name.rsplit("/", 1)[-1]), []).append(name)
    canonical = _canonical()
    return {
        city: tuple(sorted(zones, key=lambda z: (z not in canonical, z)))
        for city, zones in cities.items()
    }


@functools.cache
def _by_country() -> dict[str, tuple[str, ...]]:
    """Folded country name (`belgium`, `brazil`) → its zones, as `zone.tab` lists them."""
    names = {row[0]: row[1] for row in _table("zoneinfo/iso3166.tab") if len(row) >= 2}
    zones: dict[str, list[str]] = {}
    for row in _table("zoneinfo/zone.tab"):
        if len(row) >= 3 and row[0] in names and row[2] in portable_zones():
            zones.setdefault(fold(names[row[0]]), []).append(row[2])
    return {country: tuple(found) for country, found in zones.items()}


def offset_zone(hours: int) -> str:
    """The fixed zone `hours` east of UTC. POSIX signs run backwards: UTC+2 is Etc/GMT-2."""
    if hours == 0:
        return "UTC"
    return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"


def offset_label(zone: str) -> str | None:
    """`UTC+2` for `Etc/GMT-2`; None for a zone that is not a fixed offset."""
    found = re.fullmatch(r"Etc/GMT([+-])(\d{1,2})", zone)
    if found is None:
        return None
    return f"UTC{'-' if found.group(1) == '+' else '+'}{int(found.group(2))}"


def _offset_minutes(zone: str, now: datetime) -> float:
    offset = now.astimezone(ZoneInfo(zone)).utcoffset()
    return offset.total_seconds() / 60 if offset is not None else 0.0


def _with_offset(sign: str, hours: int, minutes: int, now: datetime) -> ZoneChoice:
    east = -1 if sign in "-−" else 1
    if minutes == 0 and -12 <= east * hours <= 14:
        return ZoneChoice(found=offset_zone(east * hours))
    if minutes >= 60 or hours > 14:
        return ZoneChoice(problem="UTC offsets run from −12:00 to +14:00")
    # No fixed Etc zone has minutes: offer places on that offset now (India for +5:30).
    wanted = east * (hours * 60 + minutes)
    places = sorted(
        z for z in _canonical() if z in portable_zones() and _offset_minutes(z, now) == wanted
    )
    return ZoneChoice(
        problem="there is no fixed zone for that offset; pick a place that uses it",
        suggestions=tuple(places[:MAX_SUGGESTIONS]),
    )


def choose_zone(text: str, now: datetime) -> ZoneChoice:
    """The zone `text` names, as forgivingly as team names: see the module docstring."""
    choice = _choose(text, now)
    if choice.found is not None and not usable_zone(choice.found):
        return ZoneChoice(problem=f"{choice.found} does not load on this server")
    return choice


def _choose(text: str, now: datetime) -> ZoneChoice:
    wanted = " ".join(text.split())
    key = wanted.casefold()
    if key in _UTC_NAMES:
        return ZoneChoice(found="UTC")
    exact = _by_folded_name().get(key.replace(" ", "_"))
    if exact is not None and ("/" in exact or exact in _canonical()):
        return ZoneChoice(found=exact)
    if (offset := _OFFSET.match(wanted)) is not None:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        return _with_offset(sign, hours, minutes, now)
    folded = fold(wanted)
    for index in (_by_city(), _by_country()):
        zones = index.get(folded)
        if zones and (len(zones) == 1 or zones[1] not in _canonical()):
            return ZoneChoice(found=zones[0])
        if zones:
            return ZoneChoice(problem="that covers several zones", suggestions=zones[:MAX_CHOICES])
    if exact is not None:  # an old alias such as `Japan` that names no country or city
        return ZoneChoice(found=exact)
    return ZoneChoice(problem="not a time zone I know", suggestions=_close(folded))


@functools.cache
def _fuzzy_names() -> dict[str, tuple[str, ...]]:
    """Every folded country, city and full zone name, for typo matching."""
    names: dict[str, tuple[str, ...]] = {**_by_country(), **_by_city()}
    names.update({fold(z): (z,) for z in portable_zones()})
    return names


def _close(folded: str) -> tuple[str, ...]:
    """Zones whose city, country or full name looks like a typo of what was typed."""
    if len(folded) < 3:
        return ()
    names = _fuzzy_names()
    found: list[str] = []
    for name, _, _ in process.extract(
        folded, list(names), scorer=fuzz.ratio, limit=8, score_cutoff=80
    ):
        for zone in names[name][:1]:
            if zone not in found:
                found.append(zone)
    return tuple(found[:MAX_SUGGESTIONS])
