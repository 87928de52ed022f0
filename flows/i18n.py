"""The team's words in the team's language: gettext catalogues for every owner- and staff-facing text.

Customer texts are the owner's words and live in the content file; what the bot and the console say to
owners, managers and cashiers is ours, and lives here as standard gettext catalogues:
`flows/locales/<language>/LC_MESSAGES/<area>.po`, one file per area of the product (so that the people
working on different areas never edit the same file). English is the source language: the msgid is the
English text, so English needs no catalogue. All the .po files of a language are merged when first used
and compiled in memory (babel writes the .mo, the standard library's gettext reads it): no build step,
and plural forms follow each language's own rule (Russian and Ukrainian have three).

In code, a text is marked by the call that translates it, so that babel's extractor finds it:

    tr = translator(customer.preferred_language)
    tr.gettext("This sale was opened by someone else.")
    tr.ngettext("{n} point", "{n} points", balance).format(n=number(balance, tr.language))

and a module-level constant is marked with `N_` and translated where it is shown. `python -m flows.i18n`
lists every marked text that a language still lacks; the test suite fails on any such text.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "ru", "uk")
SOURCE_LANGUAGE = "en"
LOCALES = Path(__file__).parent / "locales"
# Where marked texts are looked for: the code of both edges and what they share, and the console's templates.
SOURCE_ROOTS = ("bot", "flows", "handlers", "storage", "console")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def N_(message: str) -> str:
    """Mark a text for extraction without translating it (module-level constants; translated when shown)."""
    return message


def language_of(*candidates: str | None) -> str:
    """The first of `candidates` (a chosen language, Telegram's `language_code` …) we have texts in, as its
    two-letter code; English when none is."""
    for candidate in candidates:
        code = (candidate or "").split("-")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return SOURCE_LANGUAGE


@dataclass(frozen=True)
class Translator:
    """One language's texts. The methods carry gettext's names so that babel's extractor finds the texts."""

    language: str
    _catalogue: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self._catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalogue.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self._catalogue.pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self._catalogue.npgettext(context, singular, plural, n)


@functools.cache
def translator(language: str | None) -> Translator:
    """The texts in `language` (a code such as "ru" or "uk-UA"); English when we have no catalogue for it."""
    code = language_of(language)
    if code == SOURCE_LANGUAGE:
        return Translator(code, gettext.NullTranslations())
    return Translator(code, compiled(load_catalogue(code)))


def load_catalogue(language: str, locales: Path = LOCALES) -> Catalog:
    """Every .po file of `language` merged into one catalogue (a msgid in two files must agree)."""
    merged = Catalog(locale=language)
    for path in sorted((locales / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as file:
            part = read_po(file, locale=language)
        for message in part:
            if message.id and merged.get(message.id, message.context) is None:
                merged[message.id] = message
    return merged


def compiled(catalogue: Catalog) -> gettext.GNUTranslations:
    """`catalogue` as the standard library's gettext reads it (plural rule included)."""
    mo = io.BytesIO()
    write_mo(mo, catalogue)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


@dataclass(frozen=True)
class Marked:
    """A text marked for translation in the code, and where."""

    msgid: str | tuple[str, str]
    context: str | None
    where: str


def marked_texts(root: Path) -> Iterator[Marked]:
    """Every text marked for translation under `root`'s source folders (python and Jinja2 templates)."""
    from babel.messages.extract import extract_from_dir

    method_map = [("**.py", "python")]
    if _jinja2_extractor_available():
        method_map.append(("**/templates/**.html", "jinja2"))
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
    for folder in SOURCE_ROOTS:
        if not (root / folder).is_dir():
            continue
        found = extract_from_dir(root / folder, method_map, options_map=options, strip_comment_tags=True)
        for filename, lineno, message, _comments, context in found:
            if isinstance(message, tuple):
                message = (message[0], message[1]) if len(message) > 1 else message[0]
            if message:
                yield Marked(message, context, f"{folder}/{filename}:{lineno}")


def _jinja2_extractor_available() -> bool:
    try:
        import jinja2  # noqa: F401
    except ImportError:
        return False
    return True


def missing(root: Path, languages: Iterable[str] = LANGUAGES[1:]) -> list[str]:
    """What each language lacks: marked texts without a translation (or with a plural form missing), and
    translations whose {placeholders} differ from the English text's. One line per problem."""
    texts = list(marked_texts(root))
    problems: list[str] = []
    for language in languages:
        catalogue = load_catalogue(language)
        for text in texts:
            problem = _problem(catalogue, text)
            if problem:
                problems.append(f"{language}: {text.where}: {problem}: {text.msgid!r}")
    return problems


def _problem(catalogue: Catalog, text: Marked) -> str | None:
    key = text.msgid[0] if isinstance(text.msgid, tuple) else text.msgid
    message = catalogue.get(key, text.context)
    if message is None or message.fuzzy:
        return "no translation"
    raw = message.string
    strings = tuple(str(s or "") for s in raw) if isinstance(raw, (tuple, list)) else (str(raw or ""),)
    wanted = catalogue.num_plurals if isinstance(text.msgid, tuple) else 1
    if len(strings) < wanted or not all(strings):
        return "plural forms missing" if isinstance(text.msgid, tuple) else "no translation"
    sources = text.msgid if isinstance(text.msgid, tuple) else (text.msgid,)
    expected = set(_PLACEHOLDER.findall(sources[-1])) | set(_PLACEHOLDER.findall(sources[0]))
    for string in strings:
        if not set(_PLACEHOLDER.findall(string)) <= expected:
            return f"placeholders differ in {string!r}"
    return None


if __name__ == "__main__":  # python -m flows.i18n: what the catalogues still lack
    lines = missing(Path(__file__).resolve().parent.parent)
    print("\n".join(lines) or "every marked text is translated into " + ", ".join(LANGUAGES[1:]))
    sys.exit(1 if lines else 0)
