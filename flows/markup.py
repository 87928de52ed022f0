"""HTML for Telegram messages, safe by construction: the one way the bot builds text it sends as HTML.

Every message goes out with `parse_mode=HTML`, so a person's `<`, `>` or `&` must never reach Telegram
raw: a name like `Eve <script>` makes the call fail, and a name that is an `<a href=…>` tag becomes a
link the bot never wrote. `Html` is a `str` (so it passes wherever text goes) whose ways in all escape:

    Html(name)                          # plain text → escaped
    html("✅ <b>{}</b> paid {} points", name, count)   # template is markup, every value escaped
    Html("\\n").join(lines)              # parts that are not Html are escaped
    heading + name                      # concatenation escapes the plain side

A value that is already `Html` is put in as is, so nothing is escaped twice. The template of `html()`
is trusted markup: a string literal in the code or a text from the owner's content file, never a
person's text. `trusted()` wraps markup the bot itself rendered earlier (read back from the outbox).
Functions that render or send messages take and return `Html`, so mypy points at an f-string or a raw
`str` handed to them; `tests/test_markup_lint.py` forbids f-strings with tags and f-strings at reply
calls, where the types cannot reach (aiogram's methods accept any `str`).
"""

from __future__ import annotations

import html as _stdlib_html
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any, SupportsIndex

__all__ = ["Html", "bold", "code", "html", "html_map", "italic", "trusted", "visible_text"]

_TAG = re.compile(r"<[^>]*>")


def _escape(value: object) -> str:
    # quote=True: a value may land inside an attribute (`<a href="{}">`); Telegram decodes &quot; and &#x27;.
    return value if isinstance(value, Html) else _stdlib_html.escape(str(value), quote=True)


class Html(str):
    """Markup safe to send as Telegram HTML. `Html(text)` escapes plain text; an `Html` stays as it is."""

    __slots__ = ()

    def __new__(cls, text: object = "") -> Html:
        return str.__new__(cls, _escape(text))

    def __add__(self, other: str) -> Html:
        return trusted(str.__add__(self, _escape(other)))

    def __radd__(self, other: str) -> Html:
        return trusted(_escape(other) + str(self))

    def __mod__(self, values: Any) -> Html:
        if isinstance(values, tuple):
            return trusted(str.__mod__(self, tuple(_arg(v) for v in values)))
        if isinstance(values, Mapping):
            return trusted(str.__mod__(self, {k: _arg(v) for k, v in values.items()}))
        return trusted(str.__mod__(self, _arg(values)))

    def join(self, parts: Iterable[str]) -> Html:
        return trusted(str.join(self, (_escape(part) for part in parts)))

    def format(self, *args: object, **kwargs: object) -> Html:
        return trusted(_FORMATTER.vformat(self, args, kwargs))

    def replace(self, old: str, new: str, count: SupportsIndex = -1) -> Html:
        return trusted(str.replace(self, old, _escape(new), count))

    def strip(self, chars: str | None = None) -> Html:
        return trusted(str.strip(self, chars))


def _arg(value: object) -> object:
    """A value for `%` formatting: numbers stay numbers (for `%d`), anything else is escaped text."""
    return value if isinstance(value, int | float) else _escape(value)


def trusted(markup: str) -> Html:
    """Markup the bot itself wrote (e.g. an outbox payload read back): wrapped without escaping.

    Never call it on a person's text; that is what `Html(text)` is for.
    """
    return str.__new__(Html, markup)


class _SafeFormatter(string.Formatter):
    """`str.format` whose substituted values are escaped unless they are already `Html`."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Html) and not format_spec:
            return value
        return _escape(format(value, format_spec))

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return value if conversion is None else super().convert_field(value, conversion)


class _DefaultingFormatter(_SafeFormatter):
    """Missing placeholders render empty (a content text may leave out a value the code passes)."""

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str):
            return kwargs.get(key, "")
        return super().get_value(key, args, kwargs)


_FORMATTER = _SafeFormatter()
_DEFAULTING = _DefaultingFormatter()


def html(template: str, /, *args: object, **values: object) -> Html:
    """Fill a markup template (a literal in the code) with values, each escaped unless already `Html`."""
    return trusted(_FORMATTER.vformat(template, args, values))


def html_map(template: str, values: Mapping[str, object]) -> Html:
    """Fill an owner's content-file text: values escaped once, unknown or missing placeholders empty."""
    return trusted(_DEFAULTING.vformat(template, (), values))


def bold(value: object) -> Html:
    return html("<b>{}</b>", value)


def italic(value: object) -> Html:
    return html("<i>{}</i>", value)


def code(value: object) -> Html:
    return html("<code>{}</code>", value)


def visible_text(markup: str) -> str:
    """What a reader sees of Telegram HTML: the tags dropped, the entities (&amp;) turned back into text."""
    return _stdlib_html.unescape(_TAG.sub("", markup))
