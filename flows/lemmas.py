"""Words in their dictionary form, so that "занятия", "занятиями" and "заняттям" meet their headwords.

Russian and Ukrainian go through pymorphy3 and its OpenCorpora / VESUM dictionaries; English through the
Snowball stemmer (English inflects little, a stem is enough). A word neither dictionary knows — a typo,
slang, a brand — is kept as written, and the matcher snaps it to the closest word it knows.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pymorphy3
import snowballstemmer

_APOSTROPHES = re.compile(r"['’ʼ`´‘]")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # letters and digits, with an apostrophe inside a word kept
_CYRILLIC = re.compile(r"[а-яёіїєґ]")
_LATIN = re.compile(r"[a-z]")
_UKRAINIAN_ONLY = frozenset("іїєґ")
# Latin letters that look like Cyrillic ones: a mixed-script word is almost always a keyboard slip.
_LOOKALIKES = str.maketrans("aceopxyikmtbh", "асеорхуікмтвн")
# After the dictionaries: spellings that customers mix up freely become one.
_FOLD = str.maketrans({"ё": "е", "ґ": "г", "ї": "і", "'": None})


def words_of(text: str) -> list[str]:
    """The words of a text, lower-cased, apostrophes unified, mixed-script slips fixed ("цeна")."""
    text = _APOSTROPHES.sub("'", text.casefold())
    return [fix_script(word) for word in _WORD.findall(text)]


def fix_script(word: str) -> str:
    """A word mixing Latin and Cyrillic letters in Cyrillic only ("цeна" with a Latin "e")."""
    if _CYRILLIC.search(word) and _LATIN.search(word):
        return word.translate(_LOOKALIKES)
    return word


def is_latin(word: str) -> bool:
    return bool(_LATIN.search(word)) and not _CYRILLIC.search(word)


def is_cyrillic(word: str) -> bool:
    return bool(_CYRILLIC.search(word))


@lru_cache(maxsize=1)
def _russian() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=1)
def _ukrainian() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="uk")


@lru_cache(maxsize=1)
def _english() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


def _cyrillic_lemma(word: str) -> str | None:
    """The headword from the Russian dictionary, else the Ukrainian one; None when neither knows it.
    A word with і, ї, є or ґ can only be Ukrainian."""
    analyzers = (_ukrainian(),) if _UKRAINIAN_ONLY & set(word) else (_russian(), _ukrainian())
    for analyzer in analyzers:
        parse = analyzer.parse(word)[0]
        if parse.is_known:
            return str(parse.normal_form)
    return None


@lru_cache(maxsize=50_000)
def lemma(word: str) -> tuple[str, bool]:
    """(the dictionary form, whether a dictionary knew the word) of one word from `words_of`."""
    if _CYRILLIC.search(word):
        found = _cyrillic_lemma(word)
        return ((found or word).translate(_FOLD), found is not None)
    if _LATIN.search(word):
        return (str(_english().stemWord(word.replace("'", ""))), False)
    return (word, False)
