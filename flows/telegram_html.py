"""Telegram's HTML subset, checked before a message is stored: tags, balance, links and length limits.

An owner writes a broadcast in the console as text with Telegram's formatting tags (`<b>`, `<i>`, `<u>`,
`<s>`, `<a href>`, `<code>`, `<pre>`, `<blockquote>`, `<tg-spoiler>`). `check_markup` reads it the way
Telegram will, and either returns the markup rebuilt from what it understood — every tag from the list,
every attribute and every piece of text escaped anew — or raises `MarkupError` saying what is wrong and
where. A lone `<` or `&` that starts no tag or entity is taken as the character itself (people type
"2 < 3" and "Tom & Jerry"); an unknown or unbalanced tag is an error, since Telegram would refuse it.

The rebuilt markup is safe in a web page too (only the listed tags, links only to http(s), tg and
mailto), which is how the console shows its preview "as Telegram will".
"""

from __future__ import annotations

import html as _stdlib_html
import re
from dataclasses import dataclass

from flows.markup import Html, html, trusted

TEXT_LIMIT = 4096  # a message's visible characters (UTF-16 code units, as Telegram counts)
CAPTION_LIMIT = 1024  # a photo's or video's caption
# Tag → the tag it is written as after the check (Telegram's synonyms kept as the short form).
TAGS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "a": "a",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "tg-spoiler",
    "span": "tg-spoiler",  # only as <span class="tg-spoiler">
    "blockquote": "blockquote",
}
LINK_SCHEMES = ("https://", "http://", "tg://", "mailto:")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'", "nbsp": "\u00a0"}
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]{2,8}));")
_OPEN = re.compile(
    r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_CLOSE = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")
_ATTR = re.compile(r"""([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


class MarkupError(ValueError):
    """What is wrong with a message's markup: `code` names the problem, `values` fill its sentence."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(code, values)
        self.code = code  # unknown_tag | unclosed | unexpected_end | bad_link | empty | too_long
        self.values = values


@dataclass(frozen=True)
class Checked:
    """A message that passed: its markup (safe to send and to show) and what a reader sees."""

    markup: Html
    visible: str
    length: int  # in Telegram's units


@dataclass
class _Open:
    name: str  # as written after the check
    typed: str  # as the owner typed it (for the error message)
    is_pre: bool = False


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): an emoji is often two."""
    return len(text.encode("utf-16-le")) // 2


def check_markup(text: str, *, limit: int = TEXT_LIMIT, required: bool = True) -> Checked:
    """Read `text` as Telegram HTML; the rebuilt markup, or `MarkupError` (unknown tag, unbalanced, bad
    link, empty when `required`, longer than `limit` visible characters)."""
    out: list[str] = []
    visible: list[str] = []
    stack: list[_Open] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            i = _entity(text, i, out, visible)
        elif char == "<" and (close := _CLOSE.match(text, i)):
            _close(close.group(1).lower(), stack, out)
            i = close.end()
        elif char == "<" and (opened := _OPEN.match(text, i)):
            stack.append(_open(opened.group(1), opened.group(2), stack, out))
            i = opened.end()
        elif char == "<" and re.match(r"</?[a-zA-Z]", text[i : i + 3]):
            raise MarkupError("unclosed", tag=text[i : i + 20].split()[0])
        else:
            j = i + 1
            while j < n and text[j] not in "<&":
                j += 1
            out.append(_stdlib_html.escape(text[i:j], quote=False))
            visible.append(text[i:j])
            i = j
    if stack:
        raise MarkupError("unclosed", tag=f"<{stack[-1].typed}>")
    shown = "".join(visible).strip()
    if required and not shown:
        raise MarkupError("empty")
    length = utf16_len(shown)
    if length > limit:
        raise MarkupError("too_long", length=length, limit=limit)
    return Checked(trusted("".join(out).strip()), shown, length)


def sanitize(markup: str) -> Html:
    """Markup stored earlier (e.g. by the Telegram wizard), made safe to show in a web page: rebuilt when
    it reads, else shown as plain text."""
    try:
        return check_markup(markup, limit=10**9, required=False).markup
    except MarkupError:
        return Html(markup)


def _entity(text: str, i: int, out: list[str], visible: list[str]) -> int:
    match = _ENTITY.match(text, i)
    char = "&"
    if match is not None:
        decimal, hexadecimal, name = match.groups()
        if name is not None:
            char = _NAMED.get(name.lower(), "")
        else:
            code = int(decimal) if decimal is not None else int(hexadecimal, 16)
            char = chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else ""
    if match is None or not char:  # not an entity: the "&" is the character itself
        out.append("&amp;")
        visible.append("&")
        return i + 1
    out.append(_stdlib_html.escape(char, quote=False))
    visible.append(char)
    return match.end()


def _open(typed: str, attributes: str, stack: list[_Open], out: list[str]) -> _Open:
    name = TAGS.get(typed.lower())
    if name is None:
        raise MarkupError("unknown_tag", tag=f"<{typed}>")
    if stack and stack[-1].name in ("pre", "code") and not (stack[-1].name == "pre" and name == "code"):
        raise MarkupError("inside_code", tag=f"<{typed}>")
    attrs = {m.group(1).lower(): _value(m) for m in _ATTR.finditer(attributes)}
    if typed.lower() == "span" and attrs.get("class") != "tg-spoiler":
        raise MarkupError("unknown_tag", tag='<span> (only <span class="tg-spoiler">)')
    if name == "a":
        href = attrs.get("href", "").strip()
        if not href.lower().startswith(LINK_SCHEMES):
            raise MarkupError("bad_link", href=href[:80])
        out.append(html('<a href="{}">', href))
    elif name == "code" and attrs.get("class", "").startswith("language-"):
        language = re.sub(r"[^a-zA-Z0-9_+-]", "", attrs["class"].removeprefix("language-"))[:32]
        out.append(html('<code class="language-{}">', language))
    elif name == "blockquote" and "expandable" in attrs:
        out.append("<blockquote expandable>")
    else:
        out.append(html("<{}>", name))  # a name from TAGS
    return _Open(name, typed)


def _value(match: re.Match[str]) -> str:
    raw = next((v for v in match.groups()[1:] if v is not None), "")
    return _stdlib_html.unescape(raw)


def _close(typed: str, stack: list[_Open], out: list[str]) -> None:
    name = TAGS.get(typed)
    if not stack:
        raise MarkupError("unexpected_end", tag=f"</{typed}>")
    if name != stack[-1].name:
        raise MarkupError("mismatched", tag=f"</{typed}>", expected=f"</{stack[-1].typed}>")
    stack.pop()
    out.append(html("</{}>", name))
