"""/score, /scorers, /next, /fixtures, /results and /live."""

from __future__ import annotations

from feeds.model import MatchState, fold
from handlers.base import Reply, Request
from handlers.lookup import find_pair, find_team, split_pair, team_targets
from handlers.names import Target, resolve
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
        results = await req.store.results(req.clock.now(), limit=LIST_LENGTH)
        if not results:
            return Reply("No match has been played yet. See what is coming with /fixtures.")
        return Reply(
            clip("<b>Latest results</b>\n" + "\n".join(result_line(m, zone) for m in results))
        )
    found = await _played(req)
    if isinstance(found, Reply):
        return found
    return Reply(match_card(found, zone))


async def scorers(req: Request) -> Reply:
    """Who scored in a team's live or latest match, in minute order."""
    if not req.args.strip():
        return Reply("Whose goals? Name a team, e.g. <code>/scorers Belgium</code>.")
    match = await _played(req)
    if isinstance(match, Reply):
        return match
    head = f"<b>{scoreline(match)}</b> · {esc(match.stage)}"
    if match.score in (None, (0, 0)):
        return Reply(f"{head}\nNo goals.")
    # A goal without a scorer was inferred from the score (the source gives no details).
    # Watched live, its minute is when the bot saw the score change; from an imported file
    # it would be invented (a whole match arrives at once), so none is shown.
    known = sorted((g for g in match.goals if g.scorer), key=lambda g: g.sort_key)
    if not known:
        if match.goals and not await req.store.from_source(match.key):
            seen = ", ".join(
                f"{g.clock} ({esc(match.home.name if g.side == 1 else match.away.name)})"
                for g in sorted(match.goals, key=lambda g: g.sort_key)
            )
            return Reply(f"{head}\nScorers are not in this feed. Goals: {seen}.")
        return Reply(f"{head}\nGoal details aren't available for this match: the source "
                     "gives only the score.")  # fmt: skip
    lines = [head, *(goal_line(g, match) for g in known)]
    if (missing := sum(match.score) - len(known)) > 0:
        lines.append(f"(and {missing} more without details)")
    return Reply(clip("\n".join(lines)))


async def _played(req: Request) -> MatchState | Reply:
    """The match a /score or /scorers argument means as of the clock: "A v B" is those two
    teams' match in play or latest result; a team is its match in play or latest result."""
    now, zone = req.clock.now(), req.chat.zone
    pair = await _pair(req)
    if isinstance(pair, Reply):
        return pair
    if pair is not None:
        first, second = pair
        match = await req.store.match_between(first.id, second.id, now)
        if match is not None:
            return match
        upcoming = await req.store.match_between(first.id, second.id, now, upcoming=True)
        tail = f"\nNext: {fixture_line(upcoming, zone)}" if upcoming else ""
        return Reply(f"{esc(first.name)} and {esc(second.name)} have not played each other "
                     f"yet.{tail}")  # fmt: skip
    team = await find_team(req)
    if isinstance(team, Reply):
        return team
    match = await req.store.current_match(team.id, now)
    if match is None:
        upcoming_list = await req.store.fixtures(now, team_id=team.id, limit=1)
        tail = f"\nNext: {fixture_line(upcoming_list[0], zone)}" if upcoming_list else ""
        return Reply(f"{esc(team.name)} have not played yet.{tail}")
    return match


async def _pair(req: Request) -> tuple[Target, Target] | Reply | None:
    """"A v B" as two teams, unless the whole argument is itself one team's name."""
    if split_pair(req.args) is None:
        return None
    # Not resolve_team: a miss here must not load every locale's names (a pair is likelier).
    whole = resolve(req.args, await team_targets(req))
    if whole.found is not None and whole.found.folded == fold(req.args):
        return None
    return await find_pair(req)


async def _upcoming(req: Request, limit: int) -> tuple[str, list[MatchState]] | Reply:
    team_id, label = None, "Next"
    if req.args.strip():
        team = await find_team(req)
        if isinstance(team, Reply):
            return team
        team_id, label = team.id, esc(team.name)
    return label, await req.store.fixtures(req.clock.now(), team_id=team_id, limit=limit)


async def next_match(req: Request) -> Reply:
    """A team's next match (or the next of "A v B"): date, local time and venue."""
    pair = await _pair(req)
    if isinstance(pair, Reply):
        return pair
    if pair is not None:
        first, second = pair
        match = await req.store.match_between(first.id, second.id, req.clock.now(), upcoming=True)
        if match is None:
            return Reply(f"No upcoming match between {esc(first.name)} and {esc(second.name)}.")
        return Reply(match_card(match, req.chat.zone))
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
    matches = await req.store.results(req.clock.now(), team_id=team_id, limit=LIST_LENGTH)
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
