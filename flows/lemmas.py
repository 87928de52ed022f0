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
# A letter typed three times or more is emphasis ("гдеее", "soooo"): no ru/uk/en word has such a run.
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")
# Latin letters that look like Cyrillic ones: a mixed-script word is almost always a keyboard slip.
_LOOKALIKES = str.maketrans("aceopxyikmtbh", "асеорхуікмтвн")
# After the dictionaries: spellings that customers mix up freely become one.
_FOLD = str.maketrans({"ё": "е", "ґ": "г", "ї": "і", "'": None})


def words_of(text: str) -> list[str]:
    """The words of a text, lower-cased, apostrophes unified, mixed-script slips fixed ("цeна"), a letter
    stretched for emphasis typed once ("гдеее" → "где")."""
    text = _STRETCHED.sub(r"\1", _APOSTROPHES.sub("'", text.casefold()))
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


def _cyrillic_lemmas(word: str, language: str | None) -> tuple[str, ...]:
    """The headwords from both dictionaries, the likeliest first: first the Russian dictionary's, then
    the Ukrainian one's — the other way round for a word known to be Ukrainian; none when neither knows
    the word. A word with і, ї, є or ґ can only be Ukrainian. Both, because many words are spelt alike in
    both languages and mean different things ("гуми": Russian gum, Ukrainian tyres)."""
    if _UKRAINIAN_ONLY & set(word):
        analyzers: tuple[pymorphy3.MorphAnalyzer, ...] = (_ukrainian(),)
    elif language == "uk":
        analyzers = (_ukrainian(), _russian())
    else:
        analyzers = (_russian(), _ukrainian())
    forms: list[str] = []
    for analyzer in analyzers:
        forms += (str(p.normal_form).translate(_FOLD) for p in analyzer.parse(word) if p.is_known)
    return tuple(dict.fromkeys(forms))


@lru_cache(maxsize=50_000)
def _analysis(word: str, language: str | None = None) -> tuple[tuple[str, ...], bool]:
    if _CYRILLIC.search(word):
        found = _cyrillic_lemmas(word, language)
        return (found or (word.translate(_FOLD),), bool(found))
    if _LATIN.search(word):
        return ((str(_english().stemWord(word.replace("'", ""))),), False)
    return ((word,), False)


def lemma(word: str, language: str | None = None) -> tuple[str, bool]:
    """(the dictionary form, whether a dictionary knew the word) of one word from `words_of`; `language`
    "uk" when the word is known to be Ukrainian (an item of the lexicon's Ukrainian list)."""
    options, known = _analysis(word, language)
    return (options[0], known)


def lemma_options(word: str) -> tuple[str, ...]:
    """Every dictionary form the dictionaries offer for one word of `words_of`, the likeliest first (that
    is `lemma`'s); the others are what the word may also be ("тортов": a short adjective, or "торт" in
    the genitive plural; "синові": "son's", or "to the son"). Just one for a word they do not know."""
    return _analysis(word)[0]
