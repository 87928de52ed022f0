"""Telegram's HTML subset: read as Telegram reads it, checked before a text is stored, shown in a browser.

Messages go out with `parse_mode=HTML`, and Telegram refuses the whole message for an unknown tag or one
left open. One reader (`read`) walks a text the way Telegram will and gives, at once:
- the markup rebuilt from what it understood, for Telegram (every tag from the list, every attribute
  and every piece of text escaped anew);
- the same for a web page, as a chat shows it (links open in a new tab, spoilers are spans);
- the visible text, whose length Telegram limits (4096 characters, 1024 under a photo);
- the problems, each a `MarkupError` with a code and the values a sentence needs.

`check_markup` (a broadcast's text) raises the first problem, and also refuses empty and too long
texts; `problems` (the content model) lists them in English; `render` (the console's previews) always
gives safe HTML. A lone `<` or `&` that starts no tag or entity is taken as the character itself
(people type "2 < 3" and "Tom & Jerry").
"""

from __future__ import annotations

import html as _stdlib_html
import re
from dataclasses import dataclass, field

from flows.i18n import N_
from flows.markup import Html, html, trusted
from flows.team_text import TeamText

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
    "tg-emoji": "tg-emoji",  # only with emoji-id; a chat shows its fallback emoji (the text inside)
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
        self.code = code  # unknown_tag | unclosed | unexpected_end | mismatched | inside_code | bad_link | empty | too_long
        self.values = values

    def plain(self) -> str:
        """The problem in English (the content file's checks)."""
        return str(self.said())

    def said(self) -> TeamText:
        """The problem as the content's checks word it, translated where it is shown."""
        return TeamText(PLAIN[self.code], **self.values)


PLAIN = {
    "unknown_tag": N_("{tag} is not a tag Telegram shows (use b, i, u, s, a, code, pre, blockquote)"),
    "unclosed": N_("{tag} is not closed"),
    "unexpected_end": N_("{tag} closes a tag that is not open"),
    "mismatched": N_("{tag} closes a tag that is not open ({expected} is)"),
    "inside_code": N_("{tag} cannot be inside code: Telegram shows code as it is"),
    "bad_link": N_("a link needs href starting with https://"),
    "empty": N_("the text is empty"),
    "too_long": N_("the text is {length} characters; Telegram allows {limit} here"),
}


@dataclass(frozen=True)
class Checked:
    """A message that passed: its markup (safe to send and to show) and what a reader sees."""

    markup: Html
    visible: str
    length: int  # in Telegram's units


@dataclass(frozen=True)
class Rendered:
    """A text as a chat shows it, as browser HTML (safe to put into a page; line breaks kept by CSS)."""

    html: str
    problems: list[str]


@dataclass
class Reading:
    """One pass over a text: both rebuilt markups, what a reader sees, and what Telegram would refuse."""

    telegram: list[str] = field(default_factory=list)
    web: list[str] = field(default_factory=list)
    visible: list[str] = field(default_factory=list)
    problems: list[MarkupError] = field(default_factory=list)
    stack: list[_Open] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)  # unknown tags opened (their ends are not problems again)

    def text(self, chunk: str) -> None:
        escaped = _stdlib_html.escape(chunk, quote=False)
        self.telegram.append(escaped)
        self.web.append(escaped)
        self.visible.append(chunk)

    def tag(self, telegram: str, web: str) -> None:
        self.telegram.append(telegram)
        self.web.append(web)


@dataclass
class _Open:
    name: str  # as written after the check
    typed: str  # as the owner typed it (for the error message)
    web_end: str = ""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): an emoji is often two."""
    return len(text.encode("utf-16-le")) // 2


def read(text: str) -> Reading:
    """Walk `text` as Telegram's HTML; never raises (the problems are in the result)."""
    reading = Reading()
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            i = _entity(text, i, reading)
        elif char == "<" and (close := _CLOSE.match(text, i)):
            _close(close.group(1).lower(), reading)
            i = close.end()
        elif char == "<" and (opened := _OPEN.match(text, i)):
            _open(opened.group(1), opened.group(2), reading)
            i = opened.end()
        elif char == "<" and re.match(r"</?[a-zA-Z]", text[i : i + 3]):
            reading.problems.append(MarkupError("unclosed", tag=text[i : i + 20].split()[0]))
            reading.text(text[i])
            i += 1
        else:
            j = i + 1
            while j < n and text[j] not in "<&":
                j += 1
            reading.text(text[i:j])
            i = j
    for left in reversed(reading.stack):  # closed for the page; a problem for Telegram
        reading.problems.append(MarkupError("unclosed", tag=f"<{left.typed}>"))
        reading.tag(html("</{}>", left.name), left.web_end)
    return reading


def check_markup(text: str, *, limit: int = TEXT_LIMIT, required: bool = True) -> Checked:
    """Read `text` as Telegram HTML; the rebuilt markup, or `MarkupError` (unknown tag, unbalanced, bad
    link, empty when `required`, longer than `limit` visible characters)."""
    reading = read(text)
    if reading.problems:
        raise reading.problems[0]
    shown = "".join(reading.visible).strip()
    if required and not shown:
        raise MarkupError("empty")
    length = utf16_len(shown)
    if length > limit:
        raise MarkupError("too_long", length=length, limit=limit)
    return Checked(trusted("".join(reading.telegram).strip()), shown, length)


def problems(markup: str) -> list[str]:
    """Why Telegram would refuse this text as HTML, in English (empty when it would not)."""
    return [problem.plain() for problem in read(markup).problems]


def render(markup: str) -> Rendered:
    """The text as a chat shows it, as browser HTML: only the tags a chat shows, every text escaped, links
    only to addresses a chat would open; with what Telegram would refuse."""
    reading = read(markup)
    return Rendered("".join(reading.web), [problem.plain() for problem in reading.problems])


def sanitize(markup: str) -> Html:
    """Markup stored earlier (e.g. by the Telegram wizard), made safe to show in a web page."""
    return trusted(render(markup).html)


def _entity(text: str, i: int, reading: Reading) -> int:
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
        reading.text("&")
        return i + 1
    reading.text(char)
    return match.end()


def _open(typed: str, attributes: str, reading: Reading) -> None:
    name = TAGS.get(typed.lower())
    stack = reading.stack
    if name is None:
        reading.unknown.add(typed.lower())
        reading.problems.append(MarkupError("unknown_tag", tag=f"<{typed}>"))
        return  # dropped: its text stays
    if stack and stack[-1].name in ("pre", "code") and not (stack[-1].name == "pre" and name == "code"):
        reading.problems.append(MarkupError("inside_code", tag=f"<{typed}>"))
    attrs = {m.group(1).lower(): _value(m) for m in _ATTR.finditer(attributes)}
    if typed.lower() == "span" and attrs.get("class") != "tg-spoiler":
        reading.problems.append(MarkupError("unknown_tag", tag='<span> (only <span class="tg-spoiler">)'))
    web_end: str = html("</{}>", name)
    if name == "a":
        href = attrs.get("href", "").strip()
        if href.lower().startswith(LINK_SCHEMES):
            reading.tag(
                html('<a href="{}">', href), html('<a href="{}" rel="noopener noreferrer" target="_blank">', href)
            )
        else:
            reading.problems.append(MarkupError("bad_link", href=href[:80]))
            reading.tag("<a>", '<a class="tg-link">')
    elif name == "code" and attrs.get("class", "").startswith("language-"):
        language = re.sub(r"[^a-zA-Z0-9_+-]", "", attrs["class"].removeprefix("language-"))[:32]
        reading.tag(html('<code class="language-{}">', language), "<code>")
    elif name == "blockquote":
        reading.tag("<blockquote expandable>" if "expandable" in attrs else "<blockquote>", "<blockquote>")
    elif name == "tg-spoiler":
        reading.tag("<tg-spoiler>", '<span class="tg-spoiler">')
        web_end = "</span>"
    elif name == "tg-emoji":
        if not re.fullmatch(r"\d{1,24}", attrs.get("emoji-id", "")):
            reading.problems.append(MarkupError("unknown_tag", tag="<tg-emoji> (only with emoji-id)"))
        reading.tag(html('<tg-emoji emoji-id="{}">', attrs.get("emoji-id", "")), "<span>")
        web_end = "</span>"
    else:
        reading.tag(html("<{}>", name), html("<{}>", name))  # a name from TAGS
    stack.append(_Open(name, typed, web_end))


def _value(match: re.Match[str]) -> str:
    raw = next((v for v in match.groups()[1:] if v is not None), "")
    return _stdlib_html.unescape(raw)


def _close(typed: str, reading: Reading) -> None:
    name = TAGS.get(typed)
    stack = reading.stack
    if name is None:
        if typed not in reading.unknown:  # an unknown tag's end is reported where it opened
            reading.problems.append(MarkupError("unknown_tag", tag=f"</{typed}>"))
        return
    if name not in {o.name for o in stack}:
        reading.problems.append(MarkupError("unexpected_end", tag=f"</{typed}>"))
        return
    if name != stack[-1].name:
        reading.problems.append(MarkupError("mismatched", tag=f"</{typed}>", expected=f"</{stack[-1].typed}>"))
        while stack and stack[-1].name != name:  # the page closes what it must to stay well formed
            left = stack.pop()
            reading.tag(html("</{}>", left.name), left.web_end)
        if not stack:
            return
    closed = stack.pop()
    reading.tag(html("</{}>", closed.name), closed.web_end)
