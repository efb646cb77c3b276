"""/score, /scorers, /next, /fixtures, /results and /live."""

from __future__ import annotations

from feeds.model import MatchState
from handlers.base import Reply, Request
from handlers.lookup import find_team
from handlers.render import (
    clip,
    esc,
    fixture_line,
    goal_line,
    match_card,
    result_line,
    scoreline,
)

LIST_LENGTH = 5


async def score(req: Request) -> Reply:
    """The live score or latest result of a team; without a team, what is on now."""
    zone = req.chat.zone
    if not req.args.strip():
        live = await req.store.live_matches()
        if live:
            return Reply(clip("\n\n".join(match_card(m, zone) for m in live)))
        results = await req.store.results(limit=LIST_LENGTH)
        if not results:
            return Reply("No match has been played yet. See what is coming with /fixtures.")
        return Reply(
            clip("<b>Latest results</b>\n" + "\n".join(result_line(m, zone) for m in results))
        )
    team = await find_team(req)
    if isinstance(team, Reply):
        return team
    match = await req.store.current_match(team.id)
    if match is None:
        upcoming = await req.store.fixtures(req.clock.now(), team_id=team.id, limit=1)
        tail = f"\nNext: {fixture_line(upcoming[0], zone)}" if upcoming else ""
        return Reply(f"{esc(team.name)} have not played yet.{tail}")
    return Reply(match_card(match, zone))


async def scorers(req: Request) -> Reply:
    """Who scored in a team's live or latest match, in minute order."""
    if not req.args.strip():
        return Reply("Whose goals? Name a team, e.g. <code>/scorers Belgium</code>.")
    team = await find_team(req)
    if isinstance(team, Reply):
        return team
    match = await req.store.current_match(team.id)
    if match is None:
        return Reply(f"{esc(team.name)} have not played yet.")
    head = f"<b>{scoreline(match)}</b> · {esc(match.stage)}"
    if not match.goals:
        body = "No goals." if match.score in (None, (0, 0)) else "No goal details in this feed."
        return Reply(f"{head}\n{body}")
    ordered = sorted(match.goals, key=lambda g: g.sort_key)
    if all(g.scorer is None for g in ordered):  # a free tier: scores, never names
        known = ", ".join(
            f"{g.clock} ({esc(match.home.name if g.side == 1 else match.away.name)})"
            for g in ordered
        )
        return Reply(f"{head}\nScorers are not in this feed. Goals: {known}.")
    return Reply(clip("\n".join([head, *(goal_line(g, match) for g in ordered)])))


async def _upcoming(req: Request, limit: int) -> tuple[str, list[MatchState]] | Reply:
    team_id, label = None, "Next"
    if req.args.strip():
        team = await find_team(req)
        if isinstance(team, Reply):
            return team
        team_id, label = team.id, esc(team.name)
    return label, await req.store.fixtures(req.clock.now(), team_id=team_id, limit=limit)


async def next_match(req: Request) -> Reply:
    """A team's next match: date, local time and venue."""
    found = await _upcoming(req, 1)
    if isinstance(found, Reply):
        return found
    label, matches = found
    if not matches:
        return Reply(
            f"No upcoming match for {label}." if req.args.strip() else "No match is scheduled."
        )
    return Reply(match_card(matches[0], req.chat.zone))


async def fixtures(req: Request) -> Reply:
    """The next five matches, of a team or of everyone."""
    found = await _upcoming(req, LIST_LENGTH)
    if isinstance(found, Reply):
        return found
    label, matches = found
    if not matches:
        return Reply(
            f"No upcoming matches for {label}." if req.args.strip() else "No match is scheduled."
        )
    title = f"<b>Fixtures — {label}</b>" if req.args.strip() else "<b>Fixtures</b>"
    return Reply(clip("\n".join([title, *(fixture_line(m, req.chat.zone) for m in matches)])))


async def results(req: Request) -> Reply:
    """The last five results, of a team or of everyone."""
    team_id, title = None, "<b>Results</b>"
    if req.args.strip():
        team = await find_team(req)
        if isinstance(team, Reply):
            return team
        team_id, title = team.id, f"<b>Results — {esc(team.name)}</b>"
    matches = await req.store.results(team_id=team_id, limit=LIST_LENGTH)
    if not matches:
        return Reply("No results yet.")
    return Reply(clip("\n".join([title, *(result_line(m, req.chat.zone) for m in matches)])))


async def live(req: Request) -> Reply:
    """Every match in play now."""
    matches = await req.store.live_matches()
    if not matches:
        upcoming = await req.store.fixtures(req.clock.now(), limit=1)
        tail = f"\nNext: {fixture_line(upcoming[0], req.chat.zone)}" if upcoming else ""
        return Reply(f"No match is in play right now.{tail}")
    return Reply(clip("\n\n".join(match_card(m, req.chat.zone) for m in matches)))
