"""Telegram's rules for message content: formatting (parse_mode), length limits, keyboards.

Why this exists: a bot that sends malformed HTML, forgets to escape a ``&`` or builds a
4097-character message works in a naive fake and fails in production with "can't parse
entities" or "message is too long". The emulator parses text the way Telegram does so those
bugs fail a test instead, and so it can apply the length limits to the *visible* text
(tags stripped, entities decoded) and hand aiogram back real ``entities``.

HTML is validated strictly (only Telegram's tags, balanced, valid ``&`` entities).
MarkdownV2 is validated loosely: the common bug (an unescaped reserved character such as
``.`` or ``-``) is caught, formatting markers are stripped, no entities are produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "ContentError",
    "EntityParseError",
    "Formatted",
    "check_caption",
    "check_reply_markup",
    "check_text",
    "format_text",
    "parse_html",
    "parse_markdown_v2",
    "utf16_len",
]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
_INLINE_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


class ContentError(ValueError):
    """Content Telegram rejects; ``str(error)`` is the description after "Bad Request: "."""


class EntityParseError(ValueError):
    """The text does not parse; ``str(error)`` is the part after "can't parse entities: "."""


@dataclass(frozen=True)
class Formatted:
    """Visible text plus MessageEntity dicts (offsets in UTF-16 code units, like the API)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of MessageEntity offsets."""
    return len(text.encode("utf-16-le")) // 2


def format_text(text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None) -> Formatted:
    """Apply ``parse_mode`` (or explicit ``entities``) and trim like Telegram does."""
    mode = (parse_mode or "").lower()
    if entities:
        parsed = Formatted(text, [dict(e) for e in entities])
    elif mode == "html":
        parsed = parse_html(text)
    elif mode == "markdownv2":
        parsed = parse_markdown_v2(text)
    elif mode == "markdown":
        parsed = _parse_legacy_markdown(text)
    elif mode:
        raise EntityParseError(f'Unsupported parse_mode "{parse_mode}"')
    else:
        parsed = Formatted(text)
    return _trim(parsed)


def check_text(text: str | None, parse_mode: str | None, entities: list[Any] | None) -> Formatted:
    """A message text as Telegram accepts it: parses, and is 1-4096 characters once parsed."""
    formatted = _parse(text or "", parse_mode, entities)
    if not formatted.text:
        raise ContentError("message text is empty")
    if len(formatted.text) > TEXT_LIMIT:
        raise ContentError("message is too long")
    return formatted


def check_caption(caption: str | None, parse_mode: str | None, entities: list[Any] | None) -> Formatted | None:
    """A caption (optional) parses and is at most 1024 characters once parsed."""
    if not caption:
        return None
    formatted = _parse(caption, parse_mode, entities)
    if len(formatted.text) > CAPTION_LIMIT:
        raise ContentError("message caption is too long")
    return formatted if formatted.text else None


def _parse(text: str, parse_mode: str | None, entities: list[Any] | None) -> Formatted:
    try:
        return format_text(text, parse_mode, entities)
    except EntityParseError as error:
        raise ContentError(f"can't parse entities: {error}") from None


def check_reply_markup(raw: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate a reply_markup (already JSON-decoded); edits accept only inline keyboards."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, dict):
        raise ContentError("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        _check_inline_keyboard(raw["inline_keyboard"])
        return raw
    if inline_only:
        raise ContentError("inline keyboard expected")
    if "keyboard" in raw:
        _check_keyboard(raw["keyboard"])
        return raw
    if raw.get("remove_keyboard") or raw.get("force_reply"):
        return raw
    raise ContentError("can't parse reply keyboard markup JSON object")


def _rows(rows: Any) -> list[Any]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ContentError("can't parse reply keyboard markup JSON object")
    return [button for row in rows for button in row]


def _check_keyboard(rows: Any) -> None:
    for button in _rows(rows):
        text = button.get("text") if isinstance(button, dict) else button
        if not isinstance(text, str) or not text:
            raise ContentError("can't parse keyboard button: Text must be non-empty")


def _check_inline_keyboard(rows: Any) -> None:
    """One action per button, callback_data of 1-64 bytes (not characters), valid URLs."""
    for button in _rows(rows):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
            raise ContentError("can't parse inline keyboard button: Text must be non-empty")
        if not _INLINE_ACTIONS & button.keys():
            raise ContentError(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise ContentError("BUTTON_DATA_INVALID")
        if "url" in button and not re.fullmatch(r"(https?|tg)://\S+", str(button["url"])):
            raise ContentError("BUTTON_URL_INVALID")


def _trim(parsed: Formatted) -> Formatted:
    """Telegram strips leading/trailing whitespace and shifts entities accordingly."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        return parsed
    start = utf16_len(text[: len(text) - len(text.lstrip())])
    end = start + utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        lo = max(entity["offset"], start)
        hi = min(entity["offset"] + entity["length"], end)
        if hi > lo:
            entities.append({**entity, "offset": lo - start, "length": hi - lo})
    return Formatted(stripped, entities)


# --- HTML -------------------------------------------------------------------------------

_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]*));")
_START_TAG_RE = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_END_TAG_RE = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")
_ATTR_RE = re.compile(r"""\s+([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_TAG_END_RE = re.compile(r"\s*>")


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int  # UTF-16 offset in the visible text
    entity: dict[str, Any] | None = None


def _byte_offset(text: str, index: int) -> int:
    """Telegram reports positions as UTF-8 byte offsets."""
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, i: int) -> tuple[str, int]:
    """Decode the ``&...;`` entity at ``text[i]``; return (character, index after it)."""
    match = _ENTITY_RE.match(text, i)
    if match is None:
        raise EntityParseError(f'Unescaped "&" at byte offset {_byte_offset(text, i)}; use &amp;')
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name.lower() not in _NAMED_ENTITIES:
            raise EntityParseError(f'Unsupported HTML entity "&{name};" at byte offset {_byte_offset(text, i)}')
        return _NAMED_ENTITIES[name.lower()], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise EntityParseError(f"Invalid character entity at byte offset {_byte_offset(text, i)}")
    return chr(code), match.end()


def _decode_attribute(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "&":
            char, i = _decode_entity(value, i)
            out.append(char)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_html(text: str) -> Formatted:
    """Parse Telegram-flavoured HTML into visible text and entities, or raise EntityParseError."""
    out: list[str] = []
    pos = 0  # UTF-16 length of ``out``
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded, i = _decode_entity(text, i)
            out.append(decoded)
            pos += utf16_len(decoded)
        elif char == "<" and text.startswith("</", i):
            i = _close_tag(text, i, stack, pos, entities)
        elif char == "<":
            i, tag = _open_tag(text, i, pos)
            stack.append(tag)
        else:
            j = i + 1
            while j < n and text[j] not in "<&":
                j += 1
            chunk = text[i:j]
            out.append(chunk)
            pos += utf16_len(chunk)
            i = j
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Formatted("".join(out), entities)


def _open_tag(text: str, i: int, pos: int) -> tuple[int, _OpenTag]:
    offset = _byte_offset(text, i)
    match = _START_TAG_RE.match(text, i)
    if match is None:
        raise EntityParseError(f'Unescaped "<" at byte offset {offset}; use &lt;')
    name = match.group(1).lower()
    if name not in _TAG_ENTITY:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
    attrs: dict[str, str] = {}
    j = match.end()
    while (attr := _ATTR_RE.match(text, j)) is not None:
        value = next((v for v in attr.groups()[1:] if v is not None), "")
        attrs[attr.group(1).lower()] = _decode_attribute(value)
        j = attr.end()
    end = _TAG_END_RE.match(text, j)
    if end is None:
        raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "tg-emoji" and not attrs.get("emoji-id"):
        raise EntityParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}')
    return end.end(), _OpenTag(name, attrs, pos)


def _close_tag(text: str, i: int, stack: list[_OpenTag], pos: int, entities: list[dict[str, Any]]) -> int:
    offset = _byte_offset(text, i)
    match = _END_TAG_RE.match(text, i)
    if match is None:
        raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
    name = match.group(1).lower()
    if not stack:
        raise EntityParseError(f'Unexpected end tag "{name}" at byte offset {offset}')
    tag = stack.pop()
    if tag.name != name:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", found "</{name}>"'
        )
    entity = _entity_for(tag, pos, stack)
    if entity is not None and entity["length"] > 0:
        entities.append(entity)
    return match.end()


def _entity_for(tag: _OpenTag, pos: int, stack: list[_OpenTag]) -> dict[str, Any] | None:
    kind = _TAG_ENTITY[tag.name]
    entity: dict[str, Any] = {"type": kind, "offset": tag.start, "length": pos - tag.start}
    if kind == "text_link":
        if not tag.attrs.get("href"):
            return None  # Telegram drops a link without a URL and keeps the text
        entity["url"] = tag.attrs["href"]
    elif kind == "code" and stack and stack[-1].name == "pre" and stack[-1].start == tag.start:
        # <pre><code class="language-x"> is one pre entity with a language. aiogram writes
        # the language into a "language" attribute instead of "class"; accept both.
        language = tag.attrs.get("class") or tag.attrs.get("language") or ""
        if language.startswith("language-"):
            stack[-1].attrs["data-language"] = language.removeprefix("language-")
            return None
    elif kind == "pre" and tag.attrs.get("data-language"):
        entity["language"] = tag.attrs["data-language"]
    elif kind == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    elif kind == "date_time":
        if not tag.attrs.get("unix", "").isdigit():
            return None
        entity["unix_time"] = int(tag.attrs["unix"])
        if tag.attrs.get("format"):
            entity["date_time_format"] = tag.attrs["format"]
    return entity


# --- MarkdownV2 (loose) -----------------------------------------------------------------

_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MARKERS = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}


def parse_markdown_v2(text: str) -> Formatted:
    """Strip MarkdownV2 markup, rejecting unescaped reserved characters like Telegram does."""
    out: list[str] = []
    open_markers: list[tuple[str, int]] = []
    in_link = False
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        line_start = i == 0 or text[i - 1] == "\n"
        if char == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
        elif char == "\r":
            i += 1  # Telegram ignores \r; aiogram uses it to separate "_" from "__"
        elif text.startswith("```", i):
            i = _skip_code(text, i, "```", "PreCode", out)
        elif char == "`":
            i = _skip_code(text, i, "`", "Code", out)
        elif line_start and text.startswith("**>", i):
            i += 3
        elif line_start and char == ">":
            i += 1
        elif text.startswith("||", i) and _ends_expandable_quote(text, i, open_markers):
            i += 2
        elif text.startswith(("__", "||"), i) or char in "*_~":
            marker = text[i : i + 2] if text.startswith(("__", "||"), i) else char
            if open_markers and open_markers[-1][0] == marker:
                open_markers.pop()
            else:
                open_markers.append((marker, i))
            i += len(marker)
        elif (char == "!" and text.startswith("![", i)) or char == "[":
            in_link = True
            i += 2 if char == "!" else 1
        elif char == "]" and in_link:
            in_link = False
            i = _skip_url(text, i)
        elif char in _RESERVED:
            raise EntityParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        else:
            out.append(char)
            i += 1
    if in_link:
        raise EntityParseError("Can't find end of a link")
    if open_markers:
        marker, at = open_markers[-1]
        raise EntityParseError(
            f"Can't find end of {_MARKERS[marker]} entity at byte offset {_byte_offset(text, at)}"
        )
    return Formatted("".join(out))


def _ends_expandable_quote(text: str, i: int, open_markers: list[tuple[str, int]]) -> bool:
    """``||`` at the end of a quoted line closes an expandable blockquote, not a spoiler."""
    at_line_end = i + 2 == len(text) or text[i + 2] == "\n"
    line_start = text.rfind("\n", 0, i) + 1
    quoted = text.startswith((">", "**>"), line_start)
    return at_line_end and quoted and not any(m == "||" for m, _ in open_markers)


def _skip_code(text: str, i: int, fence: str, name: str, out: list[str]) -> int:
    j = i + len(fence)
    if fence == "```":
        newline = text.find("\n", j)
        if newline != -1 and re.fullmatch(r"[\w+#-]*", text[j:newline]):
            j = newline + 1  # the first line names the language
    while j < len(text):
        if text[j] == "\\" and j + 1 < len(text):
            out.append(text[j + 1])
            j += 2
        elif text.startswith(fence, j):
            return j + len(fence)
        else:
            out.append(text[j])
            j += 1
    raise EntityParseError(f"Can't find end of {name} entity at byte offset {_byte_offset(text, i)}")


def _skip_url(text: str, i: int) -> int:
    """Skip ``](url)`` after link text; the URL escapes only ``)`` and ``\\``."""
    if not text.startswith("](", i):
        raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
    j = i + 2
    while j < len(text):
        if text[j] == "\\":
            j += 2
        elif text[j] == ")":
            return j + 1
        else:
            j += 1
    raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")


def _parse_legacy_markdown(text: str) -> Formatted:
    """Legacy "Markdown": accepted loosely, markers stripped."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return Formatted(re.sub(r"(?<!\\)[*_`]", "", text).replace("\\", ""))
