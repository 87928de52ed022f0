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

_APOSTROPHES = re.compile(r"['’ʼ`´‘]")
_NON_WORD = re.compile(r"[^\w]+|_")
_CYRILLIC = re.compile(r"[а-яіїєґ]")
_LATIN = re.compile(r"[a-z]")
# Latin letters that look like Cyrillic ones: a mixed-script word is almost always a keyboard slip.
_LOOKALIKES = str.maketrans("aceopxyikmtbh", "асеорхуікмтвн")
_LETTERS = str.maketrans({"ё": "е", "ґ": "г", "ї": "і"})

# Function words that say nothing about what is asked. Question words (where, when, how much) stay:
# they tell "where is the studio" from "when is the studio open".
STOPWORDS = frozenset(
    """
    a an the is are am was be do does did i me my you your we our us it its to of in on at for and or
    with can could would will shall should please hi hello hey there this that these those any some
    just also so ok okay thanks thank have has get
    я мне меня мы нас вы вас ты тебя у в во на с со и а но ли бы же это этот эта то там тут есть
    пожалуйста привет здравствуйте подскажите скажите спасибо ну вот а ещё еще мой моя мои ваш ваша ваши о об по к от из за при про можно вам вами нам
    мені мене ми нас ви вас ти тебе й та але чи б це цей ця те там тут є будь ласка вітаю добрий день
    підкажіть скажіть дякую ну ось ще мій моя мої ваш ваша ваші із зі до о об по від при про можна
    """.split()  # noqa: SIM905 -- a word list reads better as text
)


def normalize(text: str) -> str:
    """Lower-case, unify letters (ё→е, ґ→г, ї→і), drop apostrophes and punctuation, fix mixed-script words."""
    text = _APOSTROPHES.sub("", text.casefold()).translate(_LETTERS)
    words = [_fix_script(word) for word in _NON_WORD.split(text) if word]
    return " ".join(words)


def _fix_script(word: str) -> str:
    if _CYRILLIC.search(word) and _LATIN.search(word):
        return word.translate(_LOOKALIKES)
    return word


@lru_cache(maxsize=4)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(language)


@lru_cache(maxsize=20_000)
def stem(word: str) -> str:
    """The Snowball stem: English for Latin words, Russian for Cyrillic ones (close enough for Ukrainian
    endings, and the fuzzy comparison below catches what it misses)."""
    if _CYRILLIC.search(word):
        return str(_stemmer("russian").stemWord(word))
    if _LATIN.search(word):
        return str(_stemmer("english").stemWord(word))
    return word


def terms(text: str) -> list[str]:
    """The meaningful words of a text as stems, in order, without stop words."""
    words = normalize(text).split()
    return [stem(word) for word in words if word not in STOPWORDS]


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


def contains_phrase(text_terms: Sequence[str], phrase_terms: Sequence[str]) -> bool:
    """True when the phrase's terms appear in order, side by side, in the text (each tolerating typos
    and word forms): "хочу купить" is in "я очень хочу купитЬ абонемент"."""
    size = len(phrase_terms)
    if not size or size > len(text_terms):
        return False
    for start in range(len(text_terms) - size + 1):
        window = text_terms[start : start + size]
        if all(term_similarity(a, b) >= 0.8 for a, b in zip(window, phrase_terms, strict=True)):
            return True
    return False
