"""/table and /topscorers, computed from the results in the store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from feeds.model import fold
from handlers.base import Reply, Request
from handlers.lookup import competition_targets, not_found, resolve_team, too_long
from handlers.names import Resolution, resolve
from handlers.render import clip, esc
from storage.store import Competition


@dataclass(slots=True)
class Row:
    team: str
    played: int = 0
    won: int = 0
    drawn: int = 0
    lost: int = 0
    goals_for: int = 0
    goals_against: int = 0

    @property
    def goal_difference(self) -> int:
        return self.goals_for - self.goals_against

    @property
    def points(self) -> int:
        return 3 * self.won + self.drawn


def ranked(rows: Iterable[Row]) -> list[Row]:
    """Points, then goal difference, then goals scored, then name (fair play not modelled)."""
    return sorted(rows, key=lambda r: (-r.points, -r.goal_difference, -r.goals_for, r.team))


NAME_WIDTH = 16
_CLUB_WORDS = frozenset({"FC", "AFC", "CF", "SC", "FK", "SK"})


def short_name(name: str, code: str | None, width: int = NAME_WIDTH) -> str:
    """A name that fits the table, never cut mid-word: a national team by its FIFA code
    (Bosnia-Herzegovina → BIH); a club without "FC", then later words by their initials
    (Wolverhampton Wanderers FC → Wolverhampton W.)."""
    if len(name) <= width:
        return name
    if code:
        return code
    words = [w for w in name.split() if w not in _CLUB_WORDS] or name.split()
    for i in range(len(words) - 1, 0, -1):
        if len(" ".join(words)) <= width:
            break
        words[i] = words[i][0] + "."
    text = " ".join(words)
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(title: str, rows: list[Row], codes: dict[str, str | None]) -> str:
    names = [short_name(r.team, codes.get(r.team)) for r in rows]
    width = max((len(n) for n in names), default=4)
    lines = [f"{'#':>2} {'Team':<{width}}  P  W  D  L  GF  GA  GD Pts"]
    for pos, (r, name) in enumerate(zip(rows, names, strict=True), 1):
        gd = f"{r.goal_difference:+d}" if r.goal_difference else "0"
        lines.append(
            f"{pos:>2} {name:<{width}} {r.played:>2} {r.won:>2} {r.drawn:>2} {r.lost:>2}"
            f" {r.goals_for:>3} {r.goals_against:>3} {gd:>3} {r.points:>3}"
        )
    return f"<b>{esc(title)}</b>\n<pre>{esc(chr(10).join(lines))}</pre>"


async def _codes(req: Request) -> dict[str, str | None]:
    return {t.name: t.code for t in await req.store.teams()}


async def _competition(req: Request, query: str) -> Competition | Reply | None:
    """The competition named, else the one in play on the clock, else the latest finished
    (None when the store is empty)."""
    comps = await req.store.competitions()
    if not comps:
        return None
    if not query:
        wanted = await req.store.competition_in_play(req.clock.now())
        return next((c for c in comps if c.name == wanted), comps[-1])
    resolution: Resolution = resolve(query, await competition_targets(req))
    if resolution.found is None:
        return not_found(req, "competition", resolution)
    return next(c for c in comps if c.id == resolution.found.id)


async def table(req: Request) -> Reply:
    """Group or league standings: `/table Group B`, `/table B`, `/table World Cup 2018`."""
    if (reply := too_long(req)) is not None:
        return reply
    query = req.args.strip()
    comps = await req.store.competitions()
    if query and comps and _could_be_group(query):
        # A group name (with or without "Group") is tried in the latest competition first.
        latest = await _competition(req, "")
        assert isinstance(latest, Competition)
        tables = await req.store.standings(latest.id)
        group = _group(query, [g for g in tables if g is not None])
        if group is not None:
            return Reply(clip(_render_group(latest, group, tables[group], await _codes(req))))
    competition = await _competition(req, query)
    if competition is None:
        return Reply("No competition is loaded yet.")
    if isinstance(competition, Reply):
        return await _team_table(req, query) or competition
    tables = await req.store.standings(competition.id)
    codes = await _codes(req)
    groups = sorted(g for g in tables if g is not None)
    if groups:  # a group stage: its tables (knockout ties outside groups have none)
        parts = [_render_group(competition, g, tables[g], codes) for g in groups]
        return Reply(clip("\n".join(parts), limit=4000))
    rows = tables.get(None, [])  # a league
    return Reply(clip(render_table(competition.name, ranked(Row(*r) for r in rows), codes)))


async def _team_table(req: Request, query: str) -> Reply | None:
    """`/table Belgium`: the table Belgium are in (their group, or their league) as of the
    clock; None when the words name no team either."""
    team = (await resolve_team(req, query)).found
    if team is None:
        return None
    now = req.clock.now()
    # The team's latest match, else its next; in a cup, its latest group match.
    played = await req.store.results(now, team_id=team.id, limit=10)
    upcoming = await req.store.fixtures(now, team_id=team.id, limit=3)
    candidates = [*played, *upcoming]
    if not candidates:
        return None
    latest = candidates[0]
    match = next(
        (m for m in candidates if m.competition == latest.competition and m.group), latest
    )
    comps = await req.store.competitions()
    competition = next(c for c in comps if c.name == match.competition)
    codes = await _codes(req)
    tables = await req.store.standings(competition.id)
    rows = tables.get(match.group, [])
    if match.group is None:
        table_text = render_table(competition.name, ranked(Row(*r) for r in rows), codes)
        return Reply(clip(table_text))
    return Reply(clip(_render_group(competition, match.group, rows, codes)))


def _could_be_group(query: str) -> bool:
    """`B`, `H2` or `Group B`: worth looking up among the latest competition's groups."""
    wanted = fold(query)
    return len(wanted) <= 2 or wanted.startswith("group")


def _group(query: str, groups: list[str]) -> str | None:
    wanted = fold(query)
    for g in groups:
        if fold(g) == wanted or fold(g).removeprefix("group-") == wanted:
            return g
    return None


def _render_group(
    competition: Competition,
    group: str,
    rows: list[tuple[str, int, int, int, int, int, int]],
    codes: dict[str, str | None],
) -> str:
    return render_table(f"{competition.name} — {group}", ranked(Row(*r) for r in rows), codes)


def tied_ranks(values: list[int]) -> list[str]:
    """Ranks as fans write them for a sorted list: 5, 4, 4, 3 → "1.", "=2.", "=2.", "4."."""
    return [
        f"{'=' if values.count(v) > 1 else ''}{values.index(v) + 1}." for v in values
    ]


async def topscorers(req: Request) -> Reply:
    """The competition's leading scorers (own goals not counted)."""
    if (reply := too_long(req)) is not None:
        return reply
    competition = await _competition(req, req.args.strip())
    if competition is None:
        return Reply("No competition is loaded yet.")
    if isinstance(competition, Reply):
        return competition
    leaders = await req.store.top_scorers(competition.id)
    if not leaders:
        return Reply(f"No goals recorded in {esc(competition.name)} yet.")
    lines = [f"<b>Top scorers — {esc(competition.name)}</b>"]
    lines += [
        f"{rank} {esc(name)} ({esc(team)}) — {goals}"
        for rank, (name, team, goals) in zip(tied_ranks([g for *_, g in leaders]), leaders,
                                              strict=True)
    ]  # fmt: skip
    return Reply("\n".join(lines))
