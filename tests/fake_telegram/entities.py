"""Telegram's HTML parse mode: visible text, MessageEntity offsets, and the length limit,
all in UTF-16 code units as Telegram counts them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.fake_telegram.errors import bad_request

JSON = dict[str, Any]
MAX_TEXT_LENGTH = 4096  # UTF-16 code units of the visible text, after entity parsing


class HtmlParseError(ValueError):
    """Text is not valid Telegram HTML (Telegram answers "can't parse entities")."""


_ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "span", "tg-spoiler", "blockquote", "tg-emoji",
    }
)  # fmt: skip
_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "a": "text_link", "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_TAG_NAME_RE = re.compile(r"[a-zA-Z0-9-]*")
_ATTR_NAME_RE = re.compile(r"[a-zA-Z0-9_-]+")
_UNQUOTED_VALUE_RE = re.compile(r"[^\s>]+")
_SPACE = " \t\r\n"


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start16: int
    language: str | None = None


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(match: re.Match[str], byte_offset: int) -> str:
    named, dec, hexa = match.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(dec) if dec else int(hexa, 16)
    if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlParseError(f"Invalid numeric HTML entity at byte offset {byte_offset}")
    return chr(code)


def _decode_attr(raw: str) -> str:
    """Attribute values may contain entities; be lenient there like Telegram."""

    def repl(m: re.Match[str]) -> str:
        try:
            return _decode_entity(m, 0)
        except HtmlParseError:
            return m.group()

    return _ENTITY_RE.sub(repl, raw)


def parse_telegram_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into (visible text, MessageEntity dicts).

    Stricter than Telegram in one way on purpose: a bare ``&`` or ``>`` is rejected, so the bot's
    escaping bugs surface in tests instead of as odd output in production.
    """
    out: list[str] = []
    out16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i, n = 0, len(text)

    def boff(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    def emit(chunk: str) -> None:
        nonlocal out16
        out.append(chunk)
        out16 += utf16_len(chunk)

    def skip_space(pos: int) -> int:
        while pos < n and text[pos] in _SPACE:
            pos += 1
        return pos

    while i < n:
        c = text[i]
        if c == "&":
            m = _ENTITY_RE.match(text, i)
            if m is None:
                raise HtmlParseError(
                    f'Character "&" at byte offset {boff(i)} must be escaped as "&amp;"'
                )
            emit(_decode_entity(m, boff(i)))
            i = m.end()
            continue
        if c == ">":
            raise HtmlParseError(
                f'Character ">" at byte offset {boff(i)} must be escaped as "&gt;"'
            )
        if c != "<":
            j = i + 1
            while j < n and text[j] not in "<>&":
                j += 1
            emit(text[i:j])
            i = j
            continue

        start = i
        if i + 1 < n and text[i + 1] == "/":  # end tag
            m = _TAG_NAME_RE.match(text, i + 2)
            assert m is not None  # the pattern matches the empty string
            name = m.group().lower()
            j = skip_space(m.end())
            if j >= n or text[j] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {boff(start)}")
            if not stack:
                raise HtmlParseError(f'Unexpected end tag "{name}" at byte offset {boff(start)}')
            top = stack.pop()
            if top.name != name:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {boff(start)}, "
                    f'expected "</{top.name}>", found "</{name}>"'
                )
            _close_entity(top, stack, out16, entities)
            i = j + 1
            continue

        m = _TAG_NAME_RE.match(text, i + 1)
        assert m is not None
        name = m.group().lower()
        if name not in _ALLOWED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {boff(start)}')
        j = m.end()
        attrs: dict[str, str] = {}
        while True:
            j = skip_space(j)
            if j >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {boff(start)}")
            if text[j] == ">":
                j += 1
                break
            am = _ATTR_NAME_RE.match(text, j)
            if am is None:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {boff(j)}'
                )
            attr = am.group().lower()
            j = skip_space(am.end())
            value = ""
            if j < n and text[j] == "=":
                j = skip_space(j + 1)
                if j >= n:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {boff(start)}")
                if text[j] in "\"'":
                    end = text.find(text[j], j + 1)
                    if end < 0:
                        raise HtmlParseError(f"Unclosed attribute value at byte offset {boff(j)}")
                    value = _decode_attr(text[j + 1 : end])
                    j = end + 1
                else:
                    vm = _UNQUOTED_VALUE_RE.match(text, j)
                    if vm is None:
                        raise HtmlParseError(f"Expected attribute value at byte offset {boff(j)}")
                    value = _decode_attr(vm.group())
                    j = vm.end()
            attrs[attr] = value
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {boff(start)}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise HtmlParseError(
                f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset {boff(start)}'
            )
        stack.append(_OpenTag(name, attrs, out16))
        i = j

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_entity(top: _OpenTag, stack: list[_OpenTag], out16: int, entities: list[JSON]) -> None:
    """Turn a closed tag into a MessageEntity (if it covers any text)."""
    length = out16 - top.start16
    if top.name == "code" and stack and stack[-1].name == "pre":
        cls = top.attrs.get("class", "")
        if cls.startswith("language-"):
            stack[-1].language = cls.removeprefix("language-")
            return
    if length <= 0:
        return
    entity: JSON = {"type": _ENTITY_TYPES[top.name], "offset": top.start16, "length": length}
    if top.name == "a":
        href = top.attrs.get("href")
        if not href:
            return
        entity["url"] = href
    elif top.name == "pre" and top.language:
        entity["language"] = top.language
    elif top.name == "blockquote" and "expandable" in top.attrs:
        entity["type"] = "expandable_blockquote"
    elif top.name == "tg-emoji":
        entity["custom_emoji_id"] = top.attrs["emoji-id"]
    entities.append(entity)


def strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram trims surrounding whitespace of message texts; shift entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead16 = utf16_len(text[: len(text) - len(text.lstrip())])
    total16 = utf16_len(stripped)
    fixed: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead16)
        end = min(total16, entity["offset"] + entity["length"] - lead16)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return stripped, fixed


def render_text(params: JSON) -> tuple[str, list[JSON]]:
    """Validate text + parse_mode; return visible text and entities."""
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message text is empty")
    parse_mode = params.get("parse_mode")
    mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
    if mode == "html":
        try:
            visible, entities = parse_telegram_html(text)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif mode in ("", "markdown", "markdownv2"):
        visible, entities = text, []  # Markdown is not validated by the fake
    else:
        raise bad_request("unsupported parse_mode")
    visible, entities = strip_text(visible, entities)
    if not visible:
        raise bad_request("text must be non-empty")
    if utf16_len(visible) > MAX_TEXT_LENGTH:  # Telegram counts UTF-16 code units
        raise bad_request("message is too long")
    return visible, entities
