"""Buying intent: phrases from the content file ("want to buy", "хочу записаться") that send a customer
straight to a manager, tolerant of typos and word forms but not of scattered words."""

from __future__ import annotations

from flows.content import Content
from flows.matching import contains_phrase, words


class BuyingIntent:
    def __init__(self, content: Content) -> None:
        # Every language's phrases apply to everyone: people write in the language they think in.
        self._phrases = [
            tuple(words(phrase))
            for phrases in content.handoff.intent_keywords.values()
            for phrase in phrases
            if words(phrase)
        ]

    def found_in(self, text: str) -> bool:
        """True when the text contains one of the buying-intent phrases."""
        text_words = words(text[:500])
        return any(contains_phrase(text_words, phrase) for phrase in self._phrases)
