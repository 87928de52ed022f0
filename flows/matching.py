"""Text normalisation and typo-tolerant phrase spotting (buying intent, grouping the owner's questions).

The FAQ's matcher reads text its own way (flows/faq_text.py: dictionary forms and concepts).

Customers write fast: no punctuation, `е` for `ё`, `г` for `ґ`, a Latin `c` in a Cyrillic word, typos,
another case of the same word. Normalisation removes the harmless differences; stems (Snowball) and
rapidfuzz's similarity measures absorb the rest. No distance code of our own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz
from rapidfuzz.distance import Prefix

from flows.faq_text import FILLER
from flows.lemmas import fix_script, is_cyrillic, is_latin

_APOSTROPHES = re.compile(r"['’ʼ`´‘]")
_NON_WORD = re.compile(r"[^\w]+|_")
_LETTERS = str.maketrans({"ё": "е", "ґ": "г", "ї": "і"})


def normalize(text: str) -> str:
    """Lower-case, unify letters (ё→е, ґ→г, ї→і), drop apostrophes and punctuation, fix mixed-script words."""
    text = _APOSTROPHES.sub("", text.casefold()).translate(_LETTERS)
    words = [fix_script(word) for word in _NON_WORD.split(text) if word]
    return " ".join(words)


@lru_cache(maxsize=4)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(language)


@lru_cache(maxsize=20_000)
def stem(word: str) -> str:
    """The Snowball stem: English for Latin words, Russian for Cyrillic ones (close enough for Ukrainian
    endings, and the fuzzy comparison below catches what it misses)."""
    if is_cyrillic(word):
        return str(_stemmer("russian").stemWord(word))
    if is_latin(word):
        return str(_stemmer("english").stemWord(word))
    return word


def terms(text: str) -> list[str]:
    """The meaningful words of a text as stems, in order, without stop words."""
    words = normalize(text).split()
    return [stem(word) for word in words if word not in FILLER]


def words(text: str) -> list[str]:
    """Every word of a text as a stem, stop words included (for phrases such as "book me")."""
    return [stem(word) for word in normalize(text).split()]


@lru_cache(maxsize=200_000)
def term_similarity(a: str, b: str) -> float:
    """How alike two stems are, 0–1: rapidfuzz's ratio for typos, a long common prefix for other word forms."""
    if a == b:
        return 1.0
    ratio = fuzz.ratio(a, b) / 100
    shorter = min(len(a), len(b))
    common = Prefix.similarity(a, b)
    prefix = 0.0
    if shorter >= 4 and common >= 4 and common >= 0.75 * shorter:
        prefix = 0.85 + 0.1 * common / max(len(a), len(b))
    best = max(ratio, prefix)
    return best if best >= 0.78 else 0.0


PHRASE_SIMILARITY = 0.8  # how alike each of a phrase's terms and the text's word must be


def contains_phrase(text_terms: Sequence[str], phrase_terms: Sequence[str]) -> bool:
    """True when the phrase's terms appear in order, side by side, in the text (each tolerating typos
    and word forms): "хочу купить" is in "я очень хочу купитЬ абонемент"."""
    size = len(phrase_terms)
    if not size or size > len(text_terms):
        return False
    for start in range(len(text_terms) - size + 1):
        window = text_terms[start : start + size]
        if all(term_similarity(a, b) >= PHRASE_SIMILARITY for a, b in zip(window, phrase_terms, strict=True)):
            return True
    return False
