"""Which FAQ entry a question is about: confident, a close call between a few, or none.

Every phrasing of every entry in every language is compared with the question, so a Russian question
from a customer whose Telegram is in English still finds its answer, and so does a mixed-language one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from flows.content import FaqEntry
from flows.matching import Phrasing, TermWeights, coverage, normalize, similarity, terms

# Tuned on the evaluation set in tests/test_faq_eval.py; a wrong confident answer is worse than a
# question back, so "confident" needs both a high score and a clear lead over the next entry.
CONFIDENT = 0.55
MARGIN = 0.05
CLOSE = 0.40
SUGGESTIONS = 3
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Taught:
    """A phrasing learned after the content file was written: the owner said this question means
    `entry`, or (entry None) that it is not the FAQ's topic, which makes similar questions declined."""

    text: str
    entry: str | None


OUT_OF_SCOPE = "\x00out-of-scope"  # the pseudo-entry of "not our topic" examples; never shown


@dataclass(frozen=True)
class Match:
    entry: str
    score: float


@dataclass(frozen=True)
class Verdict:
    kind: Literal["answer", "suggest", "none", "chatter"]  # chatter: no meaningful word ("hi", "ok thanks")
    entry: str | None = None  # the answer, when confident
    candidates: tuple[str, ...] = ()  # entries to offer, best first, when it is a close call
    score: float = 0.0


def _plain(html_text: str) -> str:
    return _TAGS.sub(" ", html_text)


class FaqIndex:
    """The FAQ prepared for matching (built once per content file)."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        *,
        taught: Sequence[Taught] = (),
        confident: float = CONFIDENT,
        margin: float = MARGIN,
        close: float = CLOSE,
    ) -> None:
        self._phrasings = [
            Phrasing(entry.id, language, text, normalize(text), tuple(terms(text)))
            for entry in entries
            for language, texts in entry.questions.items()
            for text in texts
        ]
        known = {entry.id for entry in entries}
        self._phrasings += [
            Phrasing(t.entry or OUT_OF_SCOPE, "taught", t.text, normalize(t.text), tuple(terms(t.text)))
            for t in taught
            if t.entry is None or t.entry in known  # a phrasing of an entry since removed is ignored
        ]
        self._weights = TermWeights(self._phrasings)
        # The words an entry is known by: its phrasings' and its answer's ("do you give towels?" is
        # answered by the entry whose answer says "towels are ours", even if no phrasing mentions them).
        self._vocabulary: dict[str, tuple[str, ...]] = {}
        self._vocabulary[OUT_OF_SCOPE] = tuple(
            t for p in self._phrasings if p.key == OUT_OF_SCOPE for t in p.terms
        )
        for entry in entries:
            found = [*(t for p in self._phrasings if p.key == entry.id for t in p.terms)]
            found += [t for text in entry.answer.values() for t in terms(_plain(text))]
            self._vocabulary[entry.id] = tuple(dict.fromkeys(found))
        self.confident, self.margin, self.close = confident, margin, close

    def rank(self, question: str) -> list[Match]:
        """Every entry with its best phrasing's score, best first."""
        query_terms, query_normalized = terms(question), normalize(question)
        best: dict[str, float] = {}
        for phrasing in self._phrasings:
            score = similarity(query_terms, query_normalized, phrasing, self._weights)
            if score > best.get(phrasing.key, -1.0):
                best[phrasing.key] = score
        # Half the closest phrasing, half how much of the question the entry's words cover at all: one
        # catches a near-verbatim question, the other a question that mixes words of several phrasings.
        scored = [
            Match(key, 0.5 * score + 0.5 * coverage(query_terms, self._vocabulary[key], self._weights))
            for key, score in best.items()
        ]
        return sorted(scored, key=lambda m: -m.score)

    def judge(self, question: str) -> Verdict:
        """Answer when sure, offer up to three entries when it is a close call, else admit there is none."""
        if not terms(question):
            return Verdict("chatter")
        ranked = self.rank(question)
        if not ranked or ranked[0].score < self.close:
            return Verdict("none", score=ranked[0].score if ranked else 0.0)
        top = ranked[0]
        if top.entry == OUT_OF_SCOPE:  # closest to what the owner said is not our topic
            return Verdict("none", score=top.score)
        ranked = [m for m in ranked if m.entry != OUT_OF_SCOPE]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        if top.score >= self.confident and top.score - runner_up >= self.margin:
            return Verdict("answer", entry=top.entry, score=top.score)
        floor = max(self.close, top.score - 0.15)
        candidates = tuple(m.entry for m in ranked[:SUGGESTIONS] if m.score >= floor)
        return Verdict("suggest", candidates=candidates, score=top.score)
