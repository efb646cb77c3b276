"""Parse openfootball JSON (current flat format and the legacy `rounds` format) into MatchState.

openfootball files are hand-edited, so everything is validated and any problem becomes a
FeedDataError naming the file and the match: an importer must reject a bad file cleanly
instead of crashing the bot or storing half-parsed matches.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from importlib import resources

from feeds.base import FeedDataError
from feeds.checks import checked, group_matchdays
from feeds.model import Goal, MatchState, Pair, Status, TeamRef, fold
from feeds.zones import guess_zone, scope_of
from feeds.zones import zone as _zone

__all__ = [
    "Competition",
    "fold",
    "guess_zone",
    "load_bundled_world_cup_2018",
    "parse_openfootball",
    "parse_openfootball_bytes",
]


@dataclass(frozen=True)
class Competition:
    """One parsed file: its display name, its key prefix and its matches in file order.

    `corrections` says which scores were corrected from the goals (feeds/checks.py);
    `default_zone_used` whether some kick-off had no offset and was read in `default_zone`.
    """

    name: str
    slug: str
    matches: list[MatchState]
    corrections: tuple[str, ...] = ()
    default_zone: str | None = None
    default_zone_used: bool = False
    source: str | None = None


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?:\s+(.+))?", re.ASCII)
_MINUTE = re.compile(r"(\d{1,3})(?:\s*\+\s*(\d{1,2}))?'?", re.ASCII)
_DIGITS = re.compile(r"\d{1,2}", re.ASCII)

_STATUSES = {
    "postponed": Status.POSTPONED,
    "cancelled": Status.CANCELLED,
    "canceled": Status.CANCELLED,
    "suspended": Status.SUSPENDED,
    "abandoned": Status.SUSPENDED,
}

class _Where:
    """Builds error messages that point at the file and match, so a bad file is easy to fix."""

    def __init__(self, source: str, number: int | None = None, label: str | None = None) -> None:
        self.source, self.number, self.label = source, number, label

    def __str__(self) -> str:
        if self.number is None:
            return self.source
        label = f" ({self.label})" if self.label else ""
        return f"{self.source}: match {self.number}{label}"

    def fail(self, message: str) -> FeedDataError:
        return FeedDataError(f"{self}: {message}")


def _opt_str(raw: Mapping[str, object], field: str, where: _Where) -> str | None:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise where.fail(f"{field!r} must be a string, not {type(value).__name__}")
    return value.strip() or None


def _team(value: object, field: str, where: _Where) -> tuple[str, str | None]:
    """A team given as "Belgium" (flat) or {"name": "Belgium", "code": "BEL"} (legacy)."""
    code: object = None
    if isinstance(value, Mapping):
        value, code = value.get("name"), value.get("code")
    if not isinstance(value, str) or not fold(value):
        raise where.fail(f"{field!r} has no team name")
    if code is not None and not isinstance(code, str):
        raise where.fail(f"{field!r} code must be a string")
    return value.strip(), (code.strip() or None) if isinstance(code, str) else None


def _count(value: object, what: str, where: _Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999:
        raise where.fail(f"{what} must be a whole number 0-999, not {value!r}")
    return value


def _pair(value: object, what: str, where: _Where) -> Pair | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise where.fail(f"score {what!r} must be a [team1, team2] pair, not {value!r}")
    return _count(value[0], f"score {what!r}", where), _count(value[1], f"score {what!r}", where)


def _legacy_pair(raw: Mapping[str, object], suffix: str, where: _Where) -> Pair | None:
    one, two = raw.get(f"score1{suffix}"), raw.get(f"score2{suffix}")
    if one is None and two is None:
        return None
    if one is None or two is None:
        raise where.fail(f"only one of 'score1{suffix}'/'score2{suffix}' is given")
    return _pair([one, two], f"score{suffix}", where)


def _minute(value: object, offset: object, where: _Where) -> tuple[int, int]:
    """Minute and stoppage offset from 48, "48", "90+4" or 90 with offset 4."""
    extra = 0
    if isinstance(value, str) and (m := _MINUTE.fullmatch(value.strip())):
        value, extra = int(m.group(1)), int(m.group(2) or 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 200:
        raise where.fail(f'goal minute {value!r} is not a minute like 48 or "90+4"')
    if offset is not None and not extra:
        if isinstance(offset, str) and _DIGITS.fullmatch(offset.strip()):
            offset = int(offset)
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 60:
            raise where.fail(f"goal offset {offset!r} is not a number of minutes")
        extra = offset
    return value, extra


def _flag(goal: Mapping[str, object], field: str, where: _Where) -> bool:
    value = goal.get(field)
    if value is None:
        return False
    if not isinstance(value, bool | int):
        raise where.fail(f"goal {field!r} must be true/false, not {value!r}")
    return bool(value)


def _goals(raw: Mapping[str, object], side: int, where: _Where) -> list[Goal]:
    items = raw.get(f"goals{side}")
    if items is None:
        return []
    if not isinstance(items, list):
        raise where.fail(f"'goals{side}' must be a list")
    goals = []
    for item in items:
        if not isinstance(item, Mapping):
            raise where.fail(f"'goals{side}' holds {item!r}, not a goal object")
        minute, offset = _minute(item.get("minute"), item.get("offset"), where)
        goals.append(
            Goal(
                side=side,
                minute=minute,
                offset=offset,
                scorer=_opt_str(item, "name", where),
                penalty=_flag(item, "penalty", where),
                own_goal=_flag(item, "owngoal", where),
            )
        )
    return goals


def _kickoff(
    raw: Mapping[str, object], where: _Where, zone_hint: str | None, default_zone: str | None
) -> datetime:
    """Local date + time + offset -> aware UTC. The offset comes from the time itself
    ("21:00 UTC+3"), else the legacy `timezone`/stadium zone (zone_hint), else the default."""
    day_text = raw.get("date")
    if not isinstance(day_text, str) or not _DATE.fullmatch(day_text.strip()):
        raise where.fail(f"'date' is not YYYY-MM-DD: {day_text!r}")
    try:
        day = date.fromisoformat(day_text.strip())
    except ValueError:
        raise where.fail(f"'date' is not a real date: {day_text!r}") from None
    clock, zone_text = time(12, 0), None
    time_text = raw.get("time")
    if time_text is not None:
        m = _TIME.fullmatch(time_text.strip()) if isinstance(time_text, str) else None
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise where.fail(f"'time' is not HH:MM with an optional UTC offset: {time_text!r}")
        clock, zone_text = time(int(m.group(1)), int(m.group(2))), m.group(3)
    zone_text = zone_text or zone_hint or default_zone or "UTC"
    zone = _zone(zone_text)
    if zone is None:
        raise where.fail(f"unknown time zone {zone_text!r}")
    try:
        return datetime.combine(day, clock, zone).astimezone(UTC)
    except (OverflowError, ValueError):
        raise where.fail(f"kick-off {day_text} {time_text} is out of range") from None


def _has_offset(raw: Mapping[str, object]) -> bool:
    """Whether the match's own time says its zone ("21:00 UTC+3"); validated by _kickoff."""
    text = raw.get("time")
    m = _TIME.fullmatch(text.strip()) if isinstance(text, str) else None
    return bool(m and m.group(3))


def _folded(table: Mapping[str, str]) -> dict[str, str]:
    """Key a user-supplied table by fold(name): "Côte d'Ivoire" and "Cote d'Ivoire" agree."""
    return {fold(k): v for k, v in table.items()}


def _lookup(folded: Mapping[str, str], *names: str | None) -> str | None:
    return next((folded[fold(n)] for n in names if n and fold(n) in folded), None)


@dataclass
class _Options:
    source: str
    slug: str
    competition: str
    default_zone: str | None
    team_codes: dict[str, str]  # folded keys
    stadium_zones: dict[str, str]  # folded keys
    scope: str | None = None  # where a team name is one team (feeds/zones.py scope_of)
    default_zone_used: bool = False


def _match(raw: object, number: int, stage: str | None, opts: _Options) -> MatchState:
    """One match of either format; `stage` is the legacy round name (None for flat)."""
    where = _Where(opts.source, number)
    if not isinstance(raw, Mapping):
        raise where.fail(f"not an object but {type(raw).__name__}")
    home, home_code = _team(raw.get("team1"), "team1", where)
    away, away_code = _team(raw.get("team2"), "team2", where)
    where.label = f"{home} v {away}"
    legacy = stage is not None
    stage_name = stage if stage is not None else _opt_str(raw, "round", where) or ""

    # Venue and the names a stadium_zones table may be keyed by.
    if legacy:
        stadium = raw.get("stadium")
        stadium_name = stadium.get("name") if isinstance(stadium, Mapping) else stadium
        if stadium_name is not None and not isinstance(stadium_name, str):
            raise where.fail("'stadium' name must be a string")
        stadium_name = stadium_name.strip() if stadium_name else None
        city = _opt_str(raw, "city", where)
        venue = ", ".join(p for p in (stadium_name, city) if p) or None
        places = [city, stadium_name, venue]
        zone_hint = _opt_str(raw, "timezone", where)
    else:
        venue = _opt_str(raw, "ground", where)
        city = venue.rsplit(",", 1)[-1].strip() if venue else None
        places = [city, venue.split(",", 1)[0].strip() if venue else None, venue]
        zone_hint = None
    zone_hint = zone_hint or _lookup(opts.stadium_zones, *places)
    kickoff = _kickoff(raw, where, zone_hint, opts.default_zone)
    if not zone_hint and not _has_offset(raw):
        opts.default_zone_used = True

    if legacy:
        ft, ht = _legacy_pair(raw, "", where), _legacy_pair(raw, "i", where)
        et, pens = _legacy_pair(raw, "et", where), _legacy_pair(raw, "p", where)
    else:
        score = raw.get("score")
        if score is None:
            score = {}
        if not isinstance(score, Mapping):
            raise where.fail(f"'score' must be an object like {{\"ft\": [1, 0]}}, not {score!r}")
        ft, ht, et, pens = (_pair(score.get(k), k, where) for k in ("ft", "ht", "et", "p"))

    played = ft is not None or et is not None
    status = Status.FINISHED if played else Status.SCHEDULED
    if (text := _opt_str(raw, "status", where)) and text.casefold() in _STATUSES:
        status = _STATUSES[text.casefold()]
    # Stable sort: files are not always in minute order, ties keep the file order.
    goals = sorted(_goals(raw, 1, where) + _goals(raw, 2, where), key=lambda g: g.sort_key)
    local_date = str(raw["date"]).strip()  # validated by _kickoff
    return MatchState(
        key=f"{opts.slug}:{local_date}:{fold(home)}-{fold(away)}",
        competition=opts.competition,
        stage=stage_name,
        kickoff=kickoff,
        home=TeamRef(home, home_code or _lookup(opts.team_codes, home), scope=opts.scope),
        away=TeamRef(away, away_code or _lookup(opts.team_codes, away), scope=opts.scope),
        status=status,
        group=_opt_str(raw, "group", where),
        venue=venue,
        score=(et or ft) if played else None,
        half_time=ht if played else None,
        full_time=ft if et else None,
        extra_time=et,
        penalties=pens if played else None,
        goals=tuple(goals) if played else (),
    )


def parse_openfootball(
    data: object,
    *,
    source: str,
    default_zone: str | None = None,
    team_codes: Mapping[str, str] | None = None,
    stadium_zones: Mapping[str, str] | None = None,
) -> Competition:
    """Decoded openfootball JSON -> Competition; any malformed input raises FeedDataError.

    `default_zone` (IANA name) places times written without an offset; `team_codes` maps team
    names to codes and `stadium_zones` maps a city or stadium to a zone, both optional.
    """
    where = _Where(source)
    try:
        return _parse(data, where, default_zone, team_codes or {}, stadium_zones or {})
    except FeedDataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        # Belt and braces: the validation above should make this unreachable.
        raise where.fail(f"unreadable data ({exc!r})") from exc


def _parse(
    data: object,
    where: _Where,
    default_zone: str | None,
    team_codes: Mapping[str, str],
    stadium_zones: Mapping[str, str],
) -> Competition:
    if not isinstance(data, Mapping):
        raise where.fail(f"expected a JSON object with 'matches', got {type(data).__name__}")
    name = data.get("name")
    if name is None:  # fall back to the file name: "en.1-2024-25.json" -> "en.1-2024-25"
        name = where.source.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")
    if not isinstance(name, str) or not fold(name):
        raise where.fail(f"'name' must be a non-empty string, not {name!r}")
    if default_zone is not None and _zone(default_zone) is None:
        raise where.fail(f"unknown default time zone {default_zone!r}")
    opts = _Options(
        where.source,
        fold(name),
        name.strip(),
        default_zone,
        _folded(team_codes),
        _folded(stadium_zones),
        scope_of(where.source, name),
    )

    if isinstance(data.get("matches"), list):
        rounds: list[tuple[str | None, list[object]]] = [(None, data["matches"])]
    elif isinstance(data.get("rounds"), list):
        rounds = []
        for i, rnd in enumerate(data["rounds"], 1):
            if not isinstance(rnd, Mapping) or not isinstance(rnd.get("matches"), list):
                raise where.fail(f"round {i} has no 'matches' list")
            rnd_name = rnd.get("name")
            if not isinstance(rnd_name, str):
                raise where.fail(f"round {i} has no 'name'")
            rounds.append((rnd_name.strip(), rnd["matches"]))
    else:
        raise where.fail("no 'matches' or 'rounds' list")

    matches: list[MatchState] = []
    corrections: list[str] = []
    seen: set[str] = set()
    for stage, items in rounds:
        for raw in items:
            number = len(matches) + 1
            match = _match(raw, number, stage, opts)
            if match.key in seen:
                label = f"{match.home.name} v {match.away.name}"
                message = f"same date and teams as an earlier match ({match.key})"
                raise _Where(where.source, number, label).fail(message)
            seen.add(match.key)
            match, notes = checked(match)
            corrections += notes
            matches.append(match)
    return Competition(
        name=opts.competition,
        slug=opts.slug,
        matches=group_matchdays(matches),
        corrections=tuple(corrections),
        default_zone=default_zone,
        default_zone_used=opts.default_zone_used,
        source=where.source,
    )


def parse_openfootball_bytes(
    raw: bytes, *, source: str, default_zone: str | None = None
) -> Competition:
    """Decode a downloaded/bundled file. Offset-less times are read in `default_zone`, else
    in the zone guessed from the file's name, else in UTC; the Competition says which was
    used, so the importer can tell the user instead of moving kick-offs silently."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise FeedDataError(f"{source}: not valid JSON ({exc})") from None
    if default_zone is None:
        default_zone = guess_zone(source) or "UTC"
    return parse_openfootball(data, source=source, default_zone=default_zone)


@functools.cache
def load_bundled_world_cup_2018() -> Competition:
    """The bundled 2018 World Cup with FIFA codes (cached: the file never changes; callers
    must not mutate the returned list)."""
    folder = resources.files("feeds") / "data"
    teams = json.loads((folder / "worldcup-2018.teams.json").read_bytes())
    codes = {t["name"]: t["code"] for t in teams["teams"]}
    data = json.loads((folder / "worldcup-2018.json").read_bytes())
    return parse_openfootball(data, source="worldcup-2018.json", team_codes=codes)
