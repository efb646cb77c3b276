"""A `Reply` for Discord: Telegram's HTML subset to Discord markdown, buttons to components.

The handlers write one format (Telegram's HTML subset, every dynamic value escaped); this
module is the one place that turns it into what Discord shows, so both front ends render the
same `Reply`. Plain text is unescaped (`&lt;` → `<`) and then escaped for Discord's markdown,
so a team or a user's own words can never start a heading, a list, bold text or a mention.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import discord

from handlers.base import Button, Reply

DISCORD_LIMIT = 2000  # characters in a message's content
CUSTOM_ID_LIMIT = 100  # characters in a component's custom_id
LABEL_LIMIT = 80  # characters in a button's label
ROW_WIDTH = 5  # buttons in one action row
MAX_ROWS = 5  # action rows in one message
ELLIPSIS = "…"

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_INLINE = {"b": "**", "strong": "**", "i": "*", "em": "*", "u": "__", "ins": "__",
           "s": "~~", "strike": "~~", "del": "~~", "tg-spoiler": "||"}  # fmt: skip
# Characters Discord's markdown reads anywhere in a line (`<` starts mentions and timestamps).
_SPECIAL = re.compile(r"([\\*_~`|\[\]<>])")
# What Discord reads at the start of a line: headings, subtext, lists and quotes.
_LEADING_MARK = re.compile(r"^(\s*)([#>+-])")
_LEADING_NUMBER = re.compile(r"^(\s*\d+)\.(?=\s)")
_CODE_TICK = "ˋ"  # a backtick cannot be escaped inside Discord code: this look-alike stands in


def escape_markdown(text: str, *, line_start: bool = True) -> str:
    """Plain text shown as written: every markdown character of Discord's backslash-escaped."""
    lines = _SPECIAL.sub(r"\\\1", text).split("\n")
    for index, line in enumerate(lines):
        if index or line_start:
            line = _LEADING_MARK.sub(r"\1\\\2", line)
            lines[index] = _LEADING_NUMBER.sub(r"\1\\.", line)
    return "\n".join(lines)


def _href(attrs: str) -> str | None:
    match = _HREF.search(attrs)
    if match is None:
        return None
    url = html.unescape(next(g for g in match.groups() if g is not None)).strip()
    return url.replace(" ", "%20").replace(">", "%3E") or None


class _Markdown:
    """One pass over the HTML subset, writing markdown as it goes."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.open: list[tuple[str, int, str | None]] = []  # tag, where its text began, href
        self.code = 0  # inside <code> or <pre>: text is shown raw
        self.pre = 0

    @property
    def line_start(self) -> bool:
        for part in reversed(self.out):
            if part:
                return part.endswith("\n")
        return True

    def text(self, raw: str) -> None:
        if not raw:
            return
        plain = html.unescape(raw)
        if self.code or self.pre:
            self.out.append(plain.replace("`", _CODE_TICK))
        else:
            self.out.append(escape_markdown(plain, line_start=self.line_start))

    def start(self, tag: str, attrs: str) -> None:
        if tag == "pre":
            if self.pre == 0:
                self.out.append("```\n" if self.line_start else "\n```\n")
            self.pre += 1
        elif tag == "code":
            if self.pre == 0 and self.code == 0:
                self.out.append("`")
            self.code += 1
        elif tag == "a":
            self.out.append("[")
            self.open.append((tag, len(self.out), _href(attrs)))
            return
        elif tag in _INLINE and not self.code and not self.pre:
            self.out.append(_INLINE[tag])
        else:
            return  # an unknown tag: its text is kept, the tag dropped
        self.open.append((tag, len(self.out), None))

    def end(self, tag: str) -> None:
        if not any(t == tag for t, _, _ in self.open):
            return  # a stray closing tag
        while self.open:
            name, begun, href = self.open.pop()
            self._close(name, begun, href)
            if name == tag:
                return

    def _close(self, tag: str, begun: int, href: str | None) -> None:
        inner = "".join(self.out[begun:])
        if tag == "pre":
            self.pre -= 1
            if self.pre == 0:
                self.out.append("```" if inner.endswith("\n") else "\n```")
        elif tag == "code":
            self.code -= 1
            if self.code == 0 and self.pre == 0:
                if inner:
                    self.out.append("`")
                else:
                    self.out.pop()  # `` would show two backticks: drop the empty code
        elif tag == "a":
            plain = html.unescape(inner.replace("\\", ""))
            if href is None or plain == href:
                self.out[begun - 1] = ""  # no link target, or the text is the link itself
                if href is not None:
                    self.out[begun:] = [href]
            else:
                self.out.append(f"](<{href}>)")
        elif tag in _INLINE:
            if inner.strip():
                self.out.append(_INLINE[tag])
            else:
                self.out[begun - 1] = ""  # **** or ** ** would show as stars

    def finish(self) -> str:
        while self.open:
            name, begun, href = self.open.pop()
            self._close(name, begun, href)
        return "".join(self.out)


def to_markdown(text: str) -> str:
    """Telegram's HTML subset (b, i, u, s, code, pre, a href, entities) to Discord markdown."""
    writer = _Markdown()
    pos = 0
    for match in _TAG.finditer(text):
        writer.text(text[pos : match.start()])
        closing, tag, attrs = match.groups()
        if closing:
            writer.end(tag.lower())
        else:
            writer.start(tag.lower(), attrs)
        pos = match.end()
    writer.text(text[pos:])
    return writer.finish()


def clip(text: str, limit: int = DISCORD_LIMIT) -> str:
    """Within Discord's limit by dropping whole lines (whole code blocks where possible)."""
    if len(text) <= limit:
        return text
    budget = limit - len("\n" + ELLIPSIS) - len("\n```")
    lines = text.split("\n")
    kept: list[str] = []
    size = 0
    fenced = False  # inside a ``` block after the kept lines
    block_start = 0  # where the open block began in `kept`
    for line in lines:
        cost = len(line) + (1 if kept else 0)
        if size + cost > budget:
            if not kept:  # one line longer than a whole message
                cut = line[:budget].rstrip("\\")
                kept.append(cut)
                fenced = cut.count("```") % 2 == 1
            break
        kept.append(line)
        size += cost
        if line.count("```") % 2 == 1:
            fenced = not fenced
            if fenced:
                block_start = len(kept) - 1
    if fenced:
        if block_start > 0:
            del kept[block_start:]  # a table cut in half reads worse than no table
        else:
            kept.append("```")
    return "\n".join([*kept, ELLIPSIS])


class CommandButtons(discord.ui.View):
    """Buttons whose custom_id is the command they stand for, e.g. ``/score Belgium``.

    Presses are routed by custom_id in the client's `on_interaction` (so they still work
    after a restart), never through this object: it is never kept in discord.py's view store.
    """

    def __init__(self, buttons: Sequence[Sequence[Button]]) -> None:
        super().__init__(timeout=None)
        seen: set[str] = set()
        rows: list[list[Button]] = []
        for row in buttons:
            usable = []
            for button in row:
                command = button.command.strip()
                if command and len(command) <= CUSTOM_ID_LIMIT and command not in seen:
                    seen.add(command)
                    usable.append(button)
            rows += [usable[i : i + ROW_WIDTH] for i in range(0, len(usable), ROW_WIDTH)]
        if len(rows) > MAX_ROWS:  # reflow many one-button rows rather than drop choices
            flat = [b for row in rows for b in row][: ROW_WIDTH * MAX_ROWS]
            rows = [flat[i : i + ROW_WIDTH] for i in range(0, len(flat), ROW_WIDTH)]
        for index, row in enumerate(rows):
            for button in row:
                label = button.label if len(button.label) <= LABEL_LIMIT else (
                    button.label[: LABEL_LIMIT - 1] + ELLIPSIS)  # fmt: skip
                self.add_item(discord.ui.Button(
                    label=label or button.command[:LABEL_LIMIT],
                    custom_id=button.command.strip(),
                    style=discord.ButtonStyle.secondary,
                    row=index,
                ))  # fmt: skip

    def is_finished(self) -> bool:
        return True  # never stored: see the class docstring


def render(reply: Reply) -> tuple[str, CommandButtons | None]:
    """The message content (markdown, at most 2000 characters) and its buttons, if any."""
    content = clip(to_markdown(reply.text).strip("\n")) or ELLIPSIS
    view = CommandButtons(reply.buttons) if reply.buttons else None
    if view is not None and not view.children:
        view = None
    return content, view


def components(view: discord.ui.View | None) -> list[dict]:
    """The action rows Discord receives for `view` (empty without buttons)."""
    return [] if view is None else view.to_components()
