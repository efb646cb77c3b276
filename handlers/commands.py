"""Every command in one place: its handler, its one-line summary and an example."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from handlers import follow, matches, tables
from handlers.base import Handler, Reply, Request
from handlers.render import clip, esc, quote_arg

log = logging.getLogger("matchday.handlers")


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    summary: str
    example: str = ""
    menu: bool = True  # shown in Telegram's command menu


async def start(req: Request) -> Reply:
    """Greeting plus the command list, so a new chat knows what to type."""
    return Reply(
        "👋 <b>Matchday</b> — football scores, scorers, fixtures and tables, and alerts for the "
        "teams you follow: a reminder before kick-off, then kick-off, every goal, half-time "
        "and full time.\n\n" + _command_list()
    )


async def help_(req: Request) -> Reply:
    """Every command with an example."""
    return Reply(_command_list())


async def stats(req: Request) -> Reply:
    """The alert ledger's counts and last errors, for the bot's operators only."""
    if req.user_id not in req.settings.admins:
        return Reply("/stats is for this bot's operators (MATCHDAY_ADMINS).")
    counts = await req.store.ledger_counts()
    lines = ["<b>Alert ledger</b>"] + [f"{esc(k)}: {v}" for k, v in counts.items()]
    rate = await req.store.sent_per_second(req.clock.now())
    lines.append(f"send rate (last minute): {rate:.1f}/s")
    lines.append(f"settled alerts kept: {req.settings.ledger_days:g} days")
    budget = await req.store.get_meta("feed.budget")  # written by the live engine
    if budget:
        lines.append(f"<b>Feed budget</b>\n{esc(budget)}")
    if problems := req.store.health.lines():
        lines.append("<b>Background errors (restarted)</b>")
        lines += [esc(line) for line in problems]
    errors = await req.store.last_errors()
    if errors:
        lines.append("<b>Last errors</b>")
        lines += [f"chat {chat} {esc(event)}: {esc(error)}" for chat, event, error in errors]
    return Reply(clip("\n".join(lines)))


COMMANDS: tuple[Command, ...] = (
    Command("start", start, "What this bot does", menu=False),
    Command("help", help_, "Every command with an example"),
    Command("score", matches.score, "Live score or latest result", "/score Belgium"),
    Command("scorers", matches.scorers, "Goals of a team's match", "/scorers Belgium"),
    Command("next", matches.next_match, "A team's next match", "/next Belgium"),
    Command("fixtures", matches.fixtures, "The next five matches", "/fixtures Japan"),
    Command("results", matches.results, "The last five results", "/results BRA"),
    Command("live", matches.live, "Every match in play", "/live"),
    Command("table", tables.table, "Group or league standings", "/table Group H"),
    Command("topscorers", tables.topscorers, "Leading scorers", "/topscorers World Cup"),
    Command("follow", follow.follow, "Alerts for a team or competition", "/follow Japan"),
    Command("unfollow", follow.unfollow, "Stop following", "/unfollow Japan"),
    Command("following", follow.following, "What this chat follows", "/following"),
    Command("remind", follow.remind, "Reminder times (minutes before)", "/remind 60 15"),
    Command(
        "timezone", follow.timezone, "The zone times are shown in", "/timezone Europe/Brussels"
    ),
    Command("settings", follow.settings, "This chat's settings", "/settings"),
    Command("stats", stats, "Delivery statistics (operators)", "/stats", menu=False),
)
BY_NAME = {c.name: c for c in COMMANDS}


def _command_list() -> str:
    lines = ["<b>Commands</b>"]
    for c in COMMANDS:
        if c.menu:
            example = f" — <code>{esc(c.example)}</code>" if c.example else ""
            lines.append(f"/{c.name} — {esc(c.summary)}{example}")
    lines.append(
        "\nTeam names are forgiving: <code>belgum</code>, <code>BEL</code> and "
        "<code>bel</code> all find Belgium. In groups, only admins change follows "
        "and settings."
    )
    return "\n".join(lines)


def parse_command(text: str, bot_username: str | None = None) -> tuple[str, str] | None:
    """`/score@matchday_bot Japan` → ("score", "Japan"); None when meant for another bot."""
    # Any whitespace ends the command: Telegram also reads "/score\nBelgium" as /score.
    head, *rest = text.strip().split(maxsplit=1) or [""]
    args = rest[0] if rest else ""
    if not head.startswith("/") or len(head) < 2:
        return None
    name, _, target = head[1:].partition("@")
    if target and bot_username and target.casefold() != bot_username.casefold():
        return None
    return name.casefold(), args.strip()


async def dispatch(req: Request) -> Reply:
    """Run one command; an unknown command or a failing handler still gets a short reply."""
    command = BY_NAME.get(req.command)
    if command is None:
        return Reply(f"I don't know /{quote_arg(req.command, 32)}. Send /help for what I can do.")
    try:
        return await command.handler(req)
    except Exception:
        log.exception("command /%s failed", req.command)
        return Reply("Sorry — something went wrong answering that. Please try again shortly.")
