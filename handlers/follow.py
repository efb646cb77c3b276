"""/follow, /unfollow, /following, /remind, /timezone and /settings: a chat's own choices."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from feeds.model import fold
from handlers.base import MAX_ARGS, Button, Reply, Request
from handlers.lookup import competition_targets, not_found, resolve_team, too_long
from handlers.names import Resolution, Target, resolve
from handlers.render import duration, esc, quote_arg, when
from handlers.zones import choose_zone, offset_label
from storage.chats import DEFAULT_REMINDERS
from storage.store import MAX_REMINDER_MINUTES

MAX_LEADS = 5


async def _refused(req: Request) -> Reply | None:
    """In groups only administrators change what the group follows or its settings."""
    if req.chat.is_group and not await req.is_admin():
        return Reply(
            "Only this group's administrators can change what it follows and its settings."
        )
    return None


async def _target(req: Request, among: set[tuple[str, int]] | None = None) -> Target | Reply:
    """A team or a competition, whichever the name means more clearly; with `among`, only
    those (what the chat follows: /unfollow offers nothing else)."""
    if (reply := too_long(req)) is not None:
        return reply
    if not req.args.strip():
        return Reply(
            f"Which team? e.g. <code>/{req.command} Belgium</code> or "
            f"<code>/{req.command} World Cup</code>."
        )
    comps = await competition_targets(req)
    if among is not None:
        comps = [c for c in comps if (c.kind, c.id) in among]
    team_ids = None if among is None else {i for kind, i in among if kind == "team"}
    team = await resolve_team(req, req.args, team_ids)
    comp = resolve(req.args, comps)
    exact = [t for t in (team.found, comp.found) if t and t.folded == fold(req.args)]
    if exact:
        return exact[0]
    if team.found and not comp.found:
        return team.found
    if comp.found and not team.found:
        return comp.found
    if team.found and comp.found:
        return not_found(req, "team or competition", Resolution(None, (team.found, comp.found)))
    return not_found(req, "team or competition", Resolution(None, team.choices + comp.choices))


async def follow(req: Request) -> Reply:
    """Follow a team or a whole competition: reminders before kick-off and live alerts."""
    target = await _target(req)
    if isinstance(target, Reply):
        return target
    if (refusal := await _refused(req)) is not None:
        return refusal
    added = await req.store.follow(req.chat.id, target.kind, target.id, req.clock.now())
    if not added:
        return Reply(f"This chat already follows {esc(target.name)}. See /following.")
    leads = _leads_text(req.chat.reminders)
    return Reply(
        f"Following <b>{esc(target.name)}</b>: {leads} and live alerts for kick-off, goals, "
        f"half-time and full time. Stop with <code>/unfollow {esc(target.name)}</code>."
    )


async def unfollow(req: Request) -> Reply:
    """Stop following a team or competition (among what this chat follows), or `all`."""
    if (refusal := await _refused(req)) is not None:
        return refusal
    follows = await req.store.follows(req.chat.id)
    if not follows:
        asked = f"“{quote_arg(req.args)}”" if req.args.strip() else "anything"
        return Reply(f"This chat does not follow {asked}: it follows nothing yet. "
                     "Follow a team with <code>/follow Belgium</code>.")  # fmt: skip
    if fold(req.args) in {"all", "everything"}:
        for f in follows:
            await req.store.unfollow(req.chat.id, f.kind, f.target_id)
        return Reply(f"Stopped following {', '.join(esc(f.name) for f in follows)}.")
    target = await _target(req, {(f.kind, f.target_id) for f in follows})
    if isinstance(target, Reply):
        if target.buttons or not req.args.strip() or len(req.args) > MAX_ARGS:
            return target
        return Reply(f"This chat does not follow “{quote_arg(req.args)}”. See /following, "
                     "or <code>/unfollow all</code>.")  # fmt: skip
    if not await req.store.unfollow(req.chat.id, target.kind, target.id):
        return Reply(f"This chat does not follow {esc(target.name)}. See /following.")
    return Reply(f"Stopped following {esc(target.name)}.")


async def following(req: Request) -> Reply:
    """What this chat follows."""
    follows = await req.store.follows(req.chat.id)
    if not follows:
        return Reply("This chat follows nothing yet. Try <code>/follow Belgium</code>.")
    lines = ["<b>This chat follows</b>"]
    lines += [
        f"• {esc(f.name)}" + (" (all matches)" if f.kind == "competition" else "") for f in follows
    ]
    buttons = tuple((Button(f"Unfollow {f.name}", f"/unfollow {f.name}"),) for f in follows[:5])
    return Reply("\n".join(lines), buttons)


def _leads_text(leads: tuple[int, ...]) -> str:
    """What the chat's reminders are, as one phrase for any sentence."""
    if not leads:
        return "no kick-off reminders"
    return "a reminder " + " and ".join(duration(m) for m in leads) + " before kick-off"


def _reminders(leads: tuple[int, ...]) -> str:
    """The reminders for a list of settings: "1 hour and 15 minutes before kick-off"."""
    if not leads:
        return "off"
    return " and ".join(duration(m) for m in leads) + " before kick-off"


async def remind(req: Request) -> Reply:
    """Set the chat's reminder lead times in minutes: `/remind 60 15`, or `/remind off`."""
    words = req.args.replace(",", " ").split()
    example = "e.g. <code>/remind 60 15</code>, <code>/remind on</code> or <code>/remind off</code>"
    if not words:
        return Reply(f"This chat gets {_leads_text(req.chat.reminders)}. Change with {example}.")
    if [w.casefold() for w in words] == ["on"]:
        words = [str(m) for m in DEFAULT_REMINDERS]
    leads: list[int] = []
    if [w.casefold() for w in words] != ["off"]:
        if len(words) > MAX_LEADS:
            return Reply(f"At most {MAX_LEADS} reminder times, {example}.")
        for word in words:
            # The length check first: int() refuses strings of over 4300 digits.
            if not word.isdecimal() or len(word) > 9 or not 1 <= int(word) <= MAX_REMINDER_MINUTES:
                return Reply(
                    f"“{quote_arg(word)}” is not a number of minutes from 1 to "
                    f"{MAX_REMINDER_MINUTES} (a week) — {example}."
                )
            leads.append(int(word))
    if (refusal := await _refused(req)) is not None:
        return refusal
    await req.store.set_reminders(req.chat.id, leads)
    if not leads:
        return Reply("Done: no kick-off reminders. Turn them back on with <code>/remind on</code>.")
    return Reply(f"Done: {_leads_text(tuple(sorted(set(leads), reverse=True)))}.")


async def timezone(req: Request) -> Reply:
    """Set the zone this chat reads times in: `/timezone Europe/Brussels`."""
    wanted = req.args.strip()
    if not wanted:
        return Reply(
            f"Times here are in <b>{esc(req.chat.timezone)}</b>. Change with e.g. "
            "<code>/timezone Europe/Brussels</code>."
        )
    if (reply := too_long(req)) is not None:
        return reply
    choice = choose_zone(wanted, req.clock.now())
    if choice.found is None:
        return Reply(
            f"“{quote_arg(wanted)}”: {esc(choice.problem)}. Use a city or an IANA name such as "
            "<code>/timezone Europe/Brussels</code>, or an offset such as "
            "<code>/timezone UTC+2</code>.",
            tuple((Button(name, f"/timezone {name}"),) for name in choice.suggestions),
        )
    if (refusal := await _refused(req)) is not None:
        return refusal
    await req.store.set_timezone(req.chat.id, choice.found)
    return Reply(f"Times in this chat are now in {_zone_text(choice.found, req.clock.now())}.")


def _zone_text(zone: str, now: datetime) -> str:
    """`<b>Europe/Brussels</b> — now Tue 3 Jul 2018, 14:00 CEST, UTC+02:00`.

    The offset is spelled out because IANA's fixed zones count backwards (Etc/GMT-2 is
    UTC+2); those are shown by their UTC name first.
    """
    offset = now.astimezone(ZoneInfo(zone)).strftime("%z")
    label = offset_label(zone)
    name = f"<b>{esc(label)}</b> ({esc(zone)}, no summer time)" if label else f"<b>{esc(zone)}</b>"
    return f"{name} — now {when(now, ZoneInfo(zone))}, UTC{offset[:3]}:{offset[3:]}"


async def settings(req: Request) -> Reply:
    """This chat's reminder times and time zone."""
    follows = await req.store.follows(req.chat.id)
    names = ", ".join(esc(f.name) for f in follows) or "nothing yet"
    zone = esc(req.chat.timezone)
    if req.chat.zone.key != req.chat.timezone:  # stored long ago, and no longer loads
        zone += " — not a zone this bot can load any more, so times are shown in UTC"
    return Reply(
        "<b>Settings for this chat</b>\n"
        f"Time zone: {zone} (change with /timezone)\n"
        f"Reminders: {_reminders(req.chat.reminders)} (change with /remind)\n"
        f"Following: {names}"
    )
