"""Formatting shared by replies and alerts: escaped HTML, scores, kick-off times."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from feeds.model import Goal, MatchState, Status

TELEGRAM_LIMIT = 4096


def esc(text: object) -> str:
    """Every dynamic value goes through here before it meets Telegram's HTML parser."""
    return html.escape(str(text), quote=False)


def quote_arg(text: str, limit: int = 40) -> str:
    """A user's own words echoed back: shortened and escaped."""
    text = " ".join(text.split())
    return esc(text if len(text) <= limit else text[: limit - 1] + "…")


def when(moment: datetime, zone: ZoneInfo, *, date: bool = True) -> str:
    local = moment.astimezone(zone)
    clock = f"{local:%H:%M} {local.tzname()}"
    return f"{local:%a} {local.day} {local:%b %Y}, {clock}" if date else clock


def duration(minutes: int) -> str:
    """60 → "1 hour", 90 → "1 hour 30 minutes", 1440 → "1 day", 15 → "15 minutes"."""
    parts = []
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {unit}" + ("s" if count != 1 else ""))
    return " ".join(parts) or "0 minutes"


def dash(pair: tuple[int, int]) -> str:
    return f"{pair[0]}–{pair[1]}"


def scoreline(m: MatchState) -> str:
    """Belgium 3–2 Japan, or Brazil v Belgium before kick-off."""
    if m.score is None:
        return f"{esc(m.home.name)} v {esc(m.away.name)}"
    return f"{esc(m.home.name)} {dash(m.score)} {esc(m.away.name)}"


def extras(m: MatchState) -> str:
    """After extra time, and who won the shoot-out."""
    parts = []
    if m.extra_time is not None and m.status == Status.FINISHED:
        parts.append("after extra time")
    if m.penalties is not None:
        home, away = m.penalties
        winner = m.home.name if home > away else m.away.name
        parts.append(f"{esc(winner)} win {max(home, away)}–{min(home, away)} on penalties")
    return "; ".join(parts)


STATUS_LABEL = {
    Status.SCHEDULED: "Not started",
    Status.LIVE: "🔴 Live",
    Status.HALF_TIME: "🔴 Half-time",
    Status.EXTRA_TIME: "🔴 Extra time",
    Status.PENALTIES: "🔴 Penalty shoot-out",
    Status.FINISHED: "Full time",
    Status.POSTPONED: "Postponed",
    Status.SUSPENDED: "Suspended",
    Status.CANCELLED: "Cancelled",
}


def status_label(m: MatchState) -> str:
    label = STATUS_LABEL[m.status]
    if m.status == Status.LIVE and m.minute:
        label += f" {m.minute}'"
    return label


def stage(m: MatchState) -> str:
    parts = [m.competition, m.group if m.group and m.group not in m.stage else None, m.stage]
    return " · ".join(esc(p) for p in parts if p)


def goal_line(goal: Goal, m: MatchState) -> str:
    team = m.home.name if goal.side == 1 else m.away.name
    tags = "".join([" (pen)" if goal.penalty else "", " (og)" if goal.own_goal else ""])
    who = esc(goal.scorer) if goal.scorer else "Goal"
    assist = f" (assist {esc(goal.assist)})" if goal.assist else ""
    return f"⚽ {who} {goal.clock}{tags}{assist} — {esc(team)}"


def match_card(m: MatchState, zone: ZoneInfo) -> str:
    """A match in a few lines: score, status, extras, stage, date and venue."""
    lines = [f"<b>{scoreline(m)}</b>", status_label(m)]
    if m.half_time is not None and m.status != Status.SCHEDULED:
        lines[-1] += f" (HT {dash(m.half_time)})"
    if extra := extras(m):
        lines.append(extra)
    lines.append(stage(m))
    place = f" · {esc(m.venue)}" if m.venue else ""
    lines.append(f"{when(m.kickoff, zone)}{place}")
    return "\n".join(lines)


def fixture_line(m: MatchState, zone: ZoneInfo) -> str:
    venue = f" · {esc(m.venue)}" if m.venue else ""
    flag = " (postponed)" if m.status == Status.POSTPONED else ""
    return f"{when(m.kickoff, zone)} — <b>{scoreline(m)}</b>{flag}\n   {stage(m)}{venue}"


def result_line(m: MatchState, zone: ZoneInfo) -> str:
    local = m.kickoff.astimezone(zone)
    extra = extras(m)
    tail = f" ({extra})" if extra else ""
    return f"{local.day} {local:%b}: <b>{scoreline(m)}</b>{tail} · {esc(m.stage)}"


def clip(text: str, limit: int = TELEGRAM_LIMIT - 96) -> str:
    """Keep a reply under Telegram's limit by dropping whole lines or whole <pre> blocks."""
    if len(text) <= limit:
        return text
    units: list[str] = []
    for line in text.split("\n"):
        if units and units[-1].count("<pre>") > units[-1].count("</pre>"):
            units[-1] += "\n" + line  # inside a <pre> block: it stays whole
        else:
            units.append(line)
    kept: list[str] = []
    size = 0
    for unit in units:
        if size + len(unit) + 1 > limit - 2:
            break
        kept.append(unit)
        size += len(unit) + 1
    return "\n".join([*kept, "…"])
