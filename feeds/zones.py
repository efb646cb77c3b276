"""Time zones of openfootball kick-offs: offsets written in the file, IANA names, and the
guess from a league file's name (en.1.json has local London times without an offset)."""

from __future__ import annotations

import functools
import re
from datetime import timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["guess_zone", "scope_of", "zone"]

_OFFSET = re.compile(r"(?:UTC|GMT)\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?", re.ASCII | re.IGNORECASE)

# openfootball league files carry local times without an offset; the country prefix of the
# file name (en.1.json, de.1.json, ...) tells which zone they are in.
_ZONE_BY_PREFIX = {
    "en.": "Europe/London",
    "de.": "Europe/Berlin",
    "es.": "Europe/Madrid",
    "it.": "Europe/Rome",
    "fr.": "Europe/Paris",
    "nl.": "Europe/Amsterdam",
    "pt.": "Europe/Lisbon",
}


@functools.lru_cache(maxsize=256)
def zone(text: str) -> tzinfo | None:
    """A zone from "UTC+3" / "GMT-4:30" / "UTC" or an IANA name; None when unknown."""
    text = text.strip()
    if m := _OFFSET.fullmatch(text):
        sign, hours, minutes = m.groups()
        delta = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
        if delta > timedelta(hours=14):
            return None
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None


def guess_zone(source: str) -> str | None:
    """The zone a league file's offset-less times are in, from its name's country prefix
    (en.1.json → Europe/London); None when the name says nothing."""
    filename = source.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return next((z for p, z in _ZONE_BY_PREFIX.items() if filename.startswith(p)), None)


_LEAGUE_FILE = re.compile(r"([a-z]{2,3})\.\d", re.ASCII)
_NATIONAL_WORDS = (
    {"world", "cup"}, {"worldcup"}, {"euro"}, {"copa", "america"}, {"nations"},
    {"asian", "cup"}, {"gold", "cup"},
)  # fmt: skip


def scope_of(source: str, name: str) -> str | None:
    """Where a file's team names are one team each (storage/teams.py): the country of a
    league file (en.1.json → "en"), "international" for a national-team tournament, None
    when neither the file's name nor the competition's says."""
    filename = source.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if m := _LEAGUE_FILE.match(filename):
        return m.group(1)
    words = set(re.findall(r"[a-z]+", f"{filename} {name}".casefold()))
    if "club" not in words and any(needed <= words for needed in _NATIONAL_WORDS):
        return "international"
    return None
