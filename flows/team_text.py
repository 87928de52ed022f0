"""A text for the team that a flow produces but does not show: its English msgid and its values, translated
where it is shown (flows/i18n.py).

A flow that refuses something ("unknown filter `tgs`") does not know who will read the refusal — an owner in
Russian in the bot, a manager in Ukrainian in the console, the log in English — so it raises or returns a
`TeamText` and the edge renders it with the reader's translator:

    raise SegmentError(TeamText(N_("unknown filter `{name}`"), name=word))
    ...
    except SegmentError as exc:
        await message.answer(exc.html(tr))

`str()` of a `TeamText` (and of a `TeamError`) is the English text, so logs, the content-file check and the
command line read as before. The template is trusted markup (it is ours, from the catalogue); every value is
escaped by `html()`, and a value that is itself a `TeamText` is rendered in the same language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from babel.numbers import format_decimal

from flows.i18n import Translator, translator
from flows.markup import Html, html

ENGLISH_CODE = "en"
ENGLISH = translator(ENGLISH_CODE)


class TeamText:
    """An English msgid (marked with `N_` where it is written, or a plural pair) and its values."""

    __slots__ = ("msgid", "n", "plural", "values", "verbatim")

    def __init__(self, msgid: str, /, **values: Any) -> None:
        self.msgid = msgid
        self.plural: str | None = None
        self.n = 0
        self.values: Mapping[str, Any] = values
        self.verbatim = False

    @classmethod
    def ngettext(cls, singular: str, plural: str, n: int, /, **values: Any) -> TeamText:
        """A text whose form follows `n` (named `ngettext` so that babel extracts both forms)."""
        text = cls(singular, n=n, **values) if "n" not in values else cls(singular, **values)
        text.plural, text.n = plural, n
        return text

    @classmethod
    def raw(cls, message: str) -> TeamText:
        """A text that is not ours to translate (a library's error, a name): shown as it is."""
        text = cls(message)
        text.verbatim = True
        return text

    def template(self, tr: Translator) -> str:
        if self.verbatim:
            return self.msgid
        if self.plural is not None:
            return tr.ngettext(self.msgid, self.plural, self.n)
        return tr.gettext(self.msgid)

    def text(self, tr: Translator = ENGLISH) -> str:
        """Plain text in `tr`'s language (for plain-text places: CSV reports, the command line, logs)."""
        if self.verbatim:
            return self.msgid
        return self.template(tr).format(**{k: _value(v, tr, plain=True) for k, v in self.values.items()})

    def html(self, tr: Translator = ENGLISH) -> Html:
        """Telegram HTML in `tr`'s language: the template as markup, the values escaped."""
        if self.verbatim:
            return Html(self.msgid)
        return html(self.template(tr), **{k: _value(v, tr, plain=False) for k, v in self.values.items()})

    def __str__(self) -> str:
        return self.text(ENGLISH)

    def __repr__(self) -> str:
        return f"TeamText({self.msgid!r}, {dict(self.values)!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == (str(other) if isinstance(other, TeamText | str) else None)

    def __hash__(self) -> int:
        return hash(str(self))


def _value(value: Any, tr: Translator, *, plain: bool) -> Any:
    """A value in the reader's language: a nested text translated, a callable given the language, a whole
    number in the locale's digits (`1 500` in Russian, `1500` in English; pass years and codes as strings)."""
    if isinstance(value, TeamText):
        return value.text(tr) if plain else value.html(tr)
    if callable(value):  # a value written in the reader's locale (a date): `lambda language: …`
        return value(tr.language)
    if isinstance(value, int) and not isinstance(value, bool) and tr.language != ENGLISH_CODE:
        # English keeps the code's plain digits, as before; a translator's language is a babel locale
        return format_decimal(value, locale=tr.language)
    return value


def said(message: str | TeamText) -> TeamText:
    """`message` as a `TeamText` (a plain string is shown as it is)."""
    return message if isinstance(message, TeamText) else TeamText.raw(message)


class TeamError(ValueError):
    """A refusal for the person who typed something: `str()` is English, `text(tr)`/`html(tr)` translated."""

    def __init__(self, message: str | TeamText) -> None:
        self.said = said(message)
        super().__init__(str(self.said))

    def text(self, tr: Translator = ENGLISH) -> str:
        return self.said.text(tr)

    def html(self, tr: Translator = ENGLISH) -> Html:
        return self.said.html(tr)


def markup(message: str | TeamText, tr: Translator = ENGLISH) -> Html:
    """Any text a flow hands over for the team, as Telegram HTML in `tr`'s language (a plain string escaped)."""
    return message.html(tr) if isinstance(message, TeamText) else Html(message)
