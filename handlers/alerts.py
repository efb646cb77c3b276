"""The text of every unasked message: reminders and live alerts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from feeds.events import Event, EventKind
from feeds.model import Goal, IncidentKind, MatchState
from handlers.render import dash, duration, esc, goal_line, stage, when

LATE_MINUTES = 2  # a reminder later than this says how soon the match really starts


def _teams(m: MatchState) -> str:
    return f"{esc(m.home.name)} v {esc(m.away.name)}"


def _score(m: MatchState, pair: tuple[int, int] | None) -> str:
    return f"{esc(m.home.name)} {dash(pair or (0, 0))} {esc(m.away.name)}"


def _side(m: MatchState, side: int) -> str:
    return m.home.name if side == 1 else m.away.name


def _var(goal: Goal, m: MatchState) -> str:
    """" by VAR (offside)" when the feed reported the decision that took this goal back."""
    for i in m.incidents:
        gap = (i.minute + i.offset) - (goal.minute + goal.offset)
        if i.kind is IncidentKind.VAR and i.side == goal.side and 0 <= gap <= 5:
            reason = (i.detail or "").partition(" - ")[2].strip()
            return f" by VAR ({esc(reason.lower())})" if reason else " by VAR"
    return ""


def render_alert(event: Event, m: MatchState, zone: ZoneInfo) -> str:
    """One alert in the chat's zone; the ledger stores exactly this text."""
    kind = event.kind
    if kind == EventKind.REMINDER:
        minutes = max(1, round((m.kickoff - event.at).total_seconds() / 60))
        if event.lead_minutes and event.lead_minutes - minutes <= LATE_MINUTES:
            minutes = event.lead_minutes  # on time, give or take a tick: say what was asked
        soon = duration(minutes)
        venue = f" at {esc(m.venue)}" if m.venue else ""
        return (
            f"⏰ <b>{_teams(m)}</b> kicks off in {soon}\n{stage(m)}\n{when(m.kickoff, zone)}{venue}"
        )
    if kind == EventKind.KICKOFF:
        return f"🟢 <b>Kick-off: {_teams(m)}</b>\n{stage(m)}"
    if kind == EventKind.GOAL and event.goal is not None:
        g = event.goal
        if g.scorer is None:
            return f"⚽ <b>GOAL</b> — {_score(m, event.score)}, {g.clock}"
        return f"⚽ <b>GOAL! {_score(m, event.score)}</b>\n{goal_line(g, m)}"
    if kind == EventKind.GOAL_DETAILS and event.goal is not None:
        g = event.goal
        team = m.home.name if g.side == 1 else m.away.name
        tags = "".join([" (pen)" if g.penalty else "", " (og)" if g.own_goal else ""])
        return (
            f"⚽ <b>{esc(g.scorer or '')} {g.clock}</b>{tags} scored {esc(team)}'s goal "
            f"— {_score(m, event.score)}"
        )
    if kind == EventKind.GOAL_CANCELLED and event.goal is not None:
        return (
            f"❌ <b>Goal disallowed{_var(event.goal, m)}</b> — {goal_line(event.goal, m)}\n"
            f"Score: {_score(m, event.score)}"
        )
    if kind == EventKind.RED_CARD and event.incident is not None:
        i = event.incident
        second = " (second yellow)" if "second" in (i.detail or "").casefold() else ""
        return (
            f"🟥 <b>Red card</b> — {esc(i.player or 'a player')} {i.clock}{second}, "
            f"{esc(_side(m, i.side))}\n{_score(m, event.score)}"
        )
    if kind == EventKind.MISSED_PENALTY and event.incident is not None:
        i = event.incident
        return (
            f"🧤 <b>Penalty missed</b> — {esc(i.player or 'a player')} {i.clock}, "
            f"{esc(_side(m, i.side))}\n{_score(m, event.score)}"
        )
    if kind == EventKind.HALF_TIME:
        return f"⏸ <b>Half-time: {_score(m, event.score)}</b>"
    if kind == EventKind.EXTRA_TIME:
        return f"⏱ <b>Extra time: {_score(m, event.score)}</b> after 90 minutes"
    if kind == EventKind.PENALTIES and event.score is not None:
        home, away = event.score
        winner = m.home.name if home > away else m.away.name
        return (
            f"🎯 <b>{esc(winner)} win {max(home, away)}–{min(home, away)} on penalties</b>\n"
            f"{_score(m, m.score)} after extra time"
        )
    if kind == EventKind.FULL_TIME:
        tail = " (after extra time)" if m.extra_time is not None else ""
        return f"🏁 <b>Full time: {_score(m, event.score)}</b>{tail}\n{stage(m)}"
    if kind == EventKind.KICKOFF_MOVED and event.previous_kickoff is not None:
        return (
            f"🕒 <b>Kick-off moved: {_teams(m)}</b>\nNow {when(m.kickoff, zone)} "
            f"(was {when(event.previous_kickoff, zone)})"
        )
    labels = {
        EventKind.POSTPONED: "📅 <b>Postponed</b>",
        EventKind.CANCELLED: "🚫 <b>Cancelled</b>",
        EventKind.SUSPENDED: "⏸ <b>Suspended</b>",
    }
    return f"{labels.get(kind, esc(kind.value))}: {_teams(m)}\n{stage(m)}"
