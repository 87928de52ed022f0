"""Words the FAQ does not use, taken as ones it does: a typo ("расписане" → "расписание") or another word
of the same family ("доставляете" → "доставка", "записаться" → "запись").

Typos are corrected against the FAQ's words and the concept lexicon's (so a misspelt topic word still
names its topic); family members only against the FAQ's own words. Both bounded, both cached.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Prefix

SHORT_WORD_CUTOFF = 88  # one wrong letter in four is a different word ("hall", "halal"), not a typo
FAMILY_PREFIX = 5  # words of one family share at least this beginning ...
FAMILY_SHARE = 0.7  # ... and this share of the shorter word
CACHE_LIMIT = 50_000  # questions are endless, memory is not
# Diminutives: "тортик" is a small "торт", "годик" a "год", "сыночек" a "сын". Only a stem the FAQ uses
# itself, and at least three letters long, so that "урок" or "сок" stay what they are.
DIMINUTIVES = ("очок", "ечок", "очек", "ечек", "ичек", "чик", "ик", "ок", "ек")
DIMINUTIVE_STEM = 3


class Snapper:
    """Maps a word onto the FAQ's vocabulary (see the module's docstring)."""

    def __init__(
        self,
        faq_words: Collection[str],
        lexicon_words: Iterable[str],
        cutoff: float,
        named: Collection[str] = frozenset(),
    ) -> None:
        """`named`: the words of the FAQ's phrasings and titles, the first choice among a word's readings."""
        self._faq = faq_words
        self._named = named
        self._known = frozenset({*faq_words, *lexicon_words})
        self._cutoff = cutoff
        self._by_initial: dict[str, list[str]] = {}
        for word in sorted(self._known):
            self._by_initial.setdefault(word[0], []).append(word)
        self._by_start: dict[str, list[str]] = {}
        for word in faq_words:
            if len(word) >= FAMILY_PREFIX:
                self._by_start.setdefault(word[:FAMILY_PREFIX], []).append(word)
        self._lexicon_by_start: dict[str, list[str]] = {}
        for word in sorted(self._known - frozenset(faq_words)):
            if len(word) >= FAMILY_PREFIX:
                self._lexicon_by_start.setdefault(word[:FAMILY_PREFIX], []).append(word)
        self._cache: dict[tuple[str, bool], str] = {}

    def __call__(self, word: str, known: bool = False) -> str:
        """`word` as one of the FAQ's: its family member if a dictionary `known` it, else its closest
        spelling; itself when there is none, or when it is short or the FAQ's already."""
        if word in self._faq or len(word) < 4:
            return word
        found = self._cache.get((word, known))
        if found is None:
            found = (self._family(word) or word) if known else self._closest(word)
            if len(self._cache) > CACHE_LIMIT:
                self._cache.clear()
            self._cache[(word, known)] = found
        return found

    def knows(self, word: str) -> bool:
        """Whether the FAQ or the concept lexicon uses this word (a dictionary form)."""
        return word in self._known

    def named(self, word: str) -> bool:
        """Whether the FAQ's phrasings or titles use this word."""
        return word in self._named

    def pick(self, options: Sequence[str]) -> str:
        """Of the dictionary forms a word may have (`lemma_options`, likeliest first), the first that the
        FAQ's phrasings use, else the first the FAQ or the lexicon uses: "тортов" is "торт" to a FAQ about
        cakes, though the dictionary's likeliest reading is an adjective. The likeliest when none is."""
        if len(options) == 1:
            return options[0]
        for vocabulary in (self._named, self._known):
            found = next((option for option in options if option in vocabulary), None)
            if found is not None:
                return found
        return options[0]

    def _closest(self, word: str) -> str:
        # A typo keeps the first letter and adds or drops a letter or two, not a syllable ("script" is
        # not a misspelt "subscript").
        cutoff = max(self._cutoff, SHORT_WORD_CUTOFF if len(word) <= 5 else 0)
        same_start = self._by_initial.get(word[0], ())
        found = process.extract(word, same_start, scorer=fuzz.ratio, score_cutoff=cutoff, limit=3)
        return next((other for other, _, _ in found if abs(len(other) - len(word)) <= 2), word)

    def lexicon_family(self, word: str) -> str:
        """A word (a dictionary form, or an English stem) neither the FAQ nor the lexicon uses, as the
        lexicon's word of its family, so that it names that word's topic ("копиться" → "копить",
        "children" → "child"); itself when there is none."""
        if word in self._known or len(word) < FAMILY_PREFIX:
            return word
        return self._family(word, self._lexicon_by_start, diminutives=False) or word

    def _family(
        self, word: str, by_start: dict[str, list[str]] | None = None, *, diminutives: bool = True
    ) -> str | None:
        """The FAQ's word this one is a diminutive of, else the one sharing the longest beginning with it,
        if long enough to be its family."""
        for suffix in DIMINUTIVES if diminutives else ():
            stem = word.removesuffix(suffix)
            if stem != word and len(stem) >= DIMINUTIVE_STEM and stem in self._faq:
                return stem
        best, best_common = None, 0
        for other in (self._by_start if by_start is None else by_start).get(word[:FAMILY_PREFIX], ()):
            common = Prefix.similarity(word, other)  # the length of their common beginning
            if common >= FAMILY_SHARE * min(len(word), len(other)) and common > best_common:
                best, best_common = other, common
        return best
