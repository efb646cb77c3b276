"""Turning a command's argument into a team or competition, or into a helpful reply."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.base import MAX_ARGS, Button, Reply, Request
from handlers.names import Resolution, Target, resolve
from handlers.render import quote_arg
from storage.store import Competition, Store, Team

_targets: dict[str, tuple[object, list[Target]]] = {}


def _memo(kind: str, source: Sequence[Team] | Sequence[Competition]) -> list[Target]:
    """Targets for the store's cached list, rebuilt only when the store rebuilds that list."""
    cached = _targets.get(kind)
    if cached is None or cached[0] is not source:
        targets = [
            Target(kind, item.id, item.name, getattr(item, "code", None), item.folded)
            for item in source
        ]
        cached = _targets[kind] = (source, targets)
    return cached[1]


async def teams_of(store: Store) -> list[Target]:
    return _memo("team", await store.teams())


async def competitions_of(store: Store) -> list[Target]:
    return _memo("competition", await store.competitions())


async def team_targets(req: Request) -> list[Target]:
    return await teams_of(req.store)


async def competition_targets(req: Request) -> list[Target]:
    return await competitions_of(req.store)


def too_long(req: Request) -> Reply | None:
    if len(req.args) > MAX_ARGS:
        return Reply(
            f"That is too long for a name ({len(req.args)} characters). "
            f"Try a team, e.g. <code>/{req.command} Belgium</code>."
        )
    return None


def not_found(req: Request, what: str, resolution: Resolution) -> Reply:
    """Say the name is unknown or ambiguous, offering the closest names as buttons."""
    asked = quote_arg(req.args)
    buttons = tuple((Button(t.name, f"/{req.command} {t.name}"),) for t in resolution.choices)
    if resolution.ambiguous:
        return Reply(f"“{asked}” could be several {what}s — which one?", buttons)
    if resolution.choices:
        return Reply(f"I don't know a {what} called “{asked}”. Did you mean:", buttons)
    return Reply(
        f"I don't know a {what} called “{asked}”. "
        f"Try a name or a FIFA code, e.g. <code>/{req.command} Belgium</code> or "
        f"<code>/{req.command} BEL</code>."
    )


async def find_team(req: Request) -> Target | Reply:
    """The team named in the arguments, or the reply that explains why there is none."""
    if (reply := too_long(req)) is not None:
        return reply
    resolution = resolve(req.args, await team_targets(req))
    return resolution.found or not_found(req, "team", resolution)
