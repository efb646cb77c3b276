"""Turning a command's argument into a team or competition, or into a helpful reply."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from feeds.model import fold
from handlers.base import MAX_ARGS, Button, Reply, Request
from handlers.countries import every_loaded, generation, loaded, names_of, territory_of
from handlers.names import Resolution, Target, resolve
from handlers.render import quote_arg
from storage.store import Competition, Store, Team
from storage.teams import NATIONAL

_targets: dict[str, tuple[object, list[Target], int]] = {}


def _memo(
    kind: str,
    source: Sequence[Team] | Sequence[Competition],
    build: Callable[[Sequence[Any]], list[Target]],
) -> list[Target]:
    """Targets for the store's cached list, rebuilt only when the store rebuilds that list."""
    cached = _targets.get(kind)
    if cached is None or cached[0] is not source or cached[2] != generation():
        cached = _targets[kind] = (source, build(source), generation())
    return cached[1]


def _team_targets(teams: Sequence[Team]) -> list[Target]:
    """Each team by its own name, the other names sources gave it, and — for a national
    team — its country's name in every CLDR locale (handlers/countries.py)."""
    targets: list[Target] = []
    for team in teams:
        own = [team.name, *team.aliases]
        territory = None
        if team.scope in (NATIONAL, ""):
            territory = next((t for n in own if (t := territory_of(n))), None)
        targets.append(
            Target("team", team.id, team.name, team.code, team.folded, territory=territory)
        )
        known = {team.folded}
        fluent, every = names_of(territory) if territory else ({}, {})
        for tier, folded_names in ((1, [fold(n) for n in team.aliases]), (1, fluent), (2, every)):
            for folded in folded_names:
                if folded not in known:
                    known.add(folded)
                    targets.append(Target("team", team.id, team.name, team.code, folded,
                                          tier=tier, territory=territory))  # fmt: skip
    return targets


def _competition_targets(competitions: Sequence[Competition]) -> list[Target]:
    return [Target("competition", c.id, c.name, None, c.folded) for c in competitions]


async def teams_of(store: Store) -> list[Target]:
    await loaded()  # country names, loaded off the event loop
    return _memo("team", await store.teams(), _team_targets)


async def competitions_of(store: Store) -> list[Target]:
    return _memo("competition", await store.competitions(), _competition_targets)


async def team_targets(req: Request) -> list[Target]:
    return await teams_of(req.store)


async def competition_targets(req: Request) -> list[Target]:
    return await competitions_of(req.store)


# What each command takes, as an example that works (a hint says what the command takes,
# not "try /table Belgium" to someone who just typed it).
_EXAMPLES = {
    "table": "<code>/table Group B</code> or <code>/table World Cup 2018</code>",
    "topscorers": "<code>/topscorers World Cup 2018</code>",
    "follow": "<code>/follow Belgium</code> or <code>/follow World Cup 2018</code>",
    "unfollow": "<code>/unfollow Belgium</code> (see /following)",
}


def example(command: str) -> str:
    """A working example of `command`'s argument."""
    return _EXAMPLES.get(
        command, f"<code>/{command} Belgium</code> or <code>/{command} BEL</code>"
    )


def too_long(req: Request) -> Reply | None:
    if len(req.args) > MAX_ARGS:
        return Reply(
            f"That is too long for a name ({len(req.args)} characters). "
            f"Try e.g. {example(req.command)}."
        )
    return None


def not_found(req: Request, what: str, resolution: Resolution) -> Reply:
    """Say the name is unknown or ambiguous, offering the closest names as buttons."""
    asked = quote_arg(req.args)
    buttons = tuple((Button(t.name, f"/{req.command} {t.name}"),) for t in resolution.choices)
    if resolution.ambiguous:
        several = " or ".join(f"{w}s" for w in what.split(" or "))
        return Reply(f"“{asked}” could be several {several} — which one?", buttons)
    if resolution.choices:
        return Reply(f"I don't know a {what} called “{asked}”. Did you mean:", buttons)
    return Reply(f"I don't know a {what} called “{asked}”. Try e.g. {example(req.command)}.")


async def resolve_team(req: Request, name: str, among: set[int] | None = None) -> Resolution:
    """The team `name` means: among the fluent languages' names first, then — only when
    nothing comes close — every CLDR locale's exact names (loaded then, once)."""

    async def targets() -> list[Target]:
        found = await team_targets(req)
        return found if among is None else [t for t in found if t.id in among]

    resolution = resolve(name, await targets())
    if resolution.found is None and not resolution.choices and await every_loaded():
        resolution = resolve(name, await targets())
    return resolution


async def find_team(req: Request) -> Target | Reply:
    """The team named in the arguments, or the reply that explains why there is none."""
    if (reply := too_long(req)) is not None:
        return reply
    resolution = await resolve_team(req, req.args)
    return resolution.found or not_found(req, "team", resolution)


_VERSUS = re.compile(r"\s+(?:v|vs|vs\.|versus|-|–|—)\s+", re.IGNORECASE)


def split_pair(args: str) -> tuple[str, str] | None:
    """"Belgium v Japan", "Belgium vs Japan", "Belgium - Japan" → the two names; None for
    one name (a dash inside a name, as in Bosnia-Herzegovina, has no spaces around it)."""
    parts = _VERSUS.split(args.strip())
    if len(parts) != 2 or not all(p.strip() for p in parts):
        return None
    return parts[0].strip(), parts[1].strip()


async def find_pair(req: Request) -> tuple[Target, Target] | Reply | None:
    """Both teams of "A v B" (None when the arguments are not two names), or the reply that
    says which side is unknown."""
    pair = split_pair(req.args)
    if pair is None:
        return None
    found = []
    for name in pair:
        resolution = await resolve_team(req, name)
        if resolution.found is None:
            return not_found(replace(req, args=name), "team", resolution)
        found.append(resolution.found)
    return found[0], found[1]
