"""Telegram's HTML subset: checked as Telegram would parse it, and shown in a browser as a chat shows it.

A message goes out with `parse_mode=HTML`; Telegram refuses the whole message for an unknown tag or one
left open, so an answer an owner edits is checked here before it is saved (the content model calls
`problems`), and the console's preview is this module's rendering: every text escaped, only the tags a
chat shows, links only to addresses a chat would open.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Telegram's tags and what a browser shows for each (https://core.telegram.org/bots/api#html-style).
_SHOWN_AS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "tg-spoiler": "span",
    "span": "span",
    "a": "a",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "span",
}
_LINK_SCHEMES = ("https://", "http://", "tg://", "mailto:")


@dataclass
class _Reader(HTMLParser):
    out: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    open_tags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = _SHOWN_AS.get(tag)
        if shown is None:
            self.problems.append(f"<{tag}> is not a tag Telegram shows (use b, i, u, s, a, code, pre, blockquote)")
            return
        values = dict(attrs)
        if tag == "span" and values.get("class") != "tg-spoiler":
            self.problems.append('<span> needs class="tg-spoiler" in Telegram')
        self.open_tags.append(tag)
        if tag == "a":
            href = (values.get("href") or "").strip()
            if not href.startswith(_LINK_SCHEMES):
                self.problems.append("a link needs href starting with https://")
                self.out.append('<a class="tg-link">')
                return
            # Browser HTML for the console's preview (not a Telegram message, so not flows.markup's Html).
            self.out.append(
                '<a href="' + html.escape(href, quote=True) + '" rel="noopener noreferrer" target="_blank">'
            )
        elif shown == "span":
            self.out.append('<span class="tg-spoiler">' if tag != "tg-emoji" else "<span>")
        else:
            self.out.append(f"<{shown}>")

    def handle_endtag(self, tag: str) -> None:
        if tag not in _SHOWN_AS:
            return  # already reported at its start (or a stray end of an unknown tag)
        if not self.open_tags or self.open_tags[-1] != tag:
            self.problems.append(f"</{tag}> closes a tag that is not open")
            return
        self.open_tags.pop()
        self.out.append(f"</{_SHOWN_AS[tag]}>")

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))


@dataclass(frozen=True)
class Rendered:
    html: str  # safe to put into a page as is
    problems: list[str]


def render(markup: str) -> Rendered:
    """The message as a chat shows it, as browser HTML (line breaks kept by the page's CSS)."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    problems = list(reader.problems)
    for tag in reversed(reader.open_tags):
        problems.append(f"<{tag}> is not closed")
        reader.out.append(f"</{_SHOWN_AS[tag]}>")
    return Rendered("".join(reader.out), problems)


def problems(markup: str) -> list[str]:
    """Why Telegram would refuse this text as HTML (empty when it would not)."""
    return render(markup).problems
