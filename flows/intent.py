"""Buying intent: phrases from the content file ("want to buy", "хочу записаться") that send a customer
straight to a manager, tolerant of typos and word forms but not of scattered words."""

from __future__ import annotations

from flows.content import Content
from flows.matching import PHRASE_SIMILARITY, term_similarity, words

NEAR_CACHE = 20_000  # words remembered with the phrase terms they are close to


class BuyingIntent:
    def __init__(self, content: Content) -> None:
        # Every language's phrases apply to everyone: people write in the language they think in.
        self._phrases = [
            tuple(words(phrase))
            for phrases in content.handoff.intent_keywords.values()
            for phrase in phrases
            if words(phrase)
        ]
        self._near: dict[str, frozenset[tuple[int, int]]] = {}

    def found_in(self, text: str) -> bool:
        """True when the text contains one of the buying-intent phrases: its terms in order, side by side,
        each close to the text's word there (`flows.matching.contains_phrase`).

        Every text is checked on every message, so each of its words is looked up once, in a table of the
        phrase terms it is close to, instead of comparing every window of the text with every phrase."""
        near = [self._near_of(word) for word in words(text[:500])]
        return any(
            position == 0 and self._phrase_at(phrase, start, near)
            for start, here in enumerate(near)
            for phrase, position in here
        )

    def _phrase_at(self, phrase: int, start: int, near: list[frozenset[tuple[int, int]]]) -> bool:
        """The phrase's every term close to the text's word at its place, from `start` on."""
        size = len(self._phrases[phrase])
        return start + size <= len(near) and all((phrase, k) in near[start + k] for k in range(1, size))

    def _near_of(self, word: str) -> frozenset[tuple[int, int]]:
        """(phrase, position) of every phrase term close enough to `word`."""
        found = self._near.get(word)
        if found is None:
            found = frozenset(
                (phrase, position)
                for phrase, terms in enumerate(self._phrases)
                for position, term in enumerate(terms)
                if term_similarity(word, term) >= PHRASE_SIMILARITY
            )
            if len(self._near) >= NEAR_CACHE:  # a bounded memory: start again rather than grow
                self._near.clear()
            self._near[word] = found
        return found
