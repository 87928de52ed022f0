"""Translations for the console, until `flows/i18n.py` (the shared catalogue reader) lands on main.

Same interface as that module: `translator(language)` gives `gettext`, `ngettext` and `pgettext`; `N_`
marks a string for extraction only. Reads every `flows/locales/<language>/LC_MESSAGES/*.po`; English is
the msgid itself.
"""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent.parent / "flows" / "locales"
LANGUAGES = ("en", "ru", "uk")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Translator:
    language: str
    _messages: dict[tuple[str | None, str], str | tuple[str, ...]] = field(repr=False)
    _plural: object = field(repr=False, default=None)

    def gettext(self, message: str) -> str:
        found = self._messages.get((None, message))
        return found if isinstance(found, str) and found else message

    def pgettext(self, context: str, message: str) -> str:
        found = self._messages.get((context, message))
        return found if isinstance(found, str) and found else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = self._messages.get((None, singular))
        if isinstance(found, tuple) and callable(self._plural):
            index = self._plural(n)
            if 0 <= index < len(found) and found[index]:
                return found[index]
        return singular if n == 1 else plural


@functools.cache
def translator(language: str) -> Translator:
    """The translations for one language (English and unknown languages: the messages themselves)."""
    messages: dict[tuple[str | None, str], str | tuple[str, ...]] = {}
    plural = None
    folder = LOCALES / language / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")) if language != "en" else ():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        plural = catalog.plural_expr and _plural_function(catalog.plural_expr)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            key = str(message.id[0] if isinstance(message.id, tuple | list) else message.id)
            string = message.string
            value = tuple(string) if isinstance(string, tuple | list) else str(string or "")
            messages[(message.context, key)] = value
    return Translator(language, messages, plural)


def _plural_function(expression: str) -> object:
    return gettext.c2py(expression)  # the catalogue's own Plural-Forms rule, as gettext reads it
