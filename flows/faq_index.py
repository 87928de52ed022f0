"""Which FAQ entry a question is about: confident, a close call between a few, or none.

Every phrasing, title and answer of every entry in every language is read into dictionary forms and
topic concepts (flows/faq_text.py), so a Russian question finds an entry the owner phrased in
Ukrainian, and "почём абонемент" finds "How much does a class cost?". Scoring is an inverted index over
those tokens, weighted by how rare each is among the entries: the cost of a question grows with its
words and the entries sharing them, not with the size of the FAQ.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from flows.content import FaqEntry
from flows.faq_snap import Snapper
from flows.faq_text import (
    CONCEPT,
    MODIFIERS,
    NO_CONCEPTS,
    QUESTION_WORDS,
    Concepts,
    Reading,
    dictionary_share,
    read,
)
from flows.lemmas import is_latin, lemma
from flows.markup import visible_text
from flows.typing_slips import layout_variants_of_text, transliteration_variants_of_text

# Tuned on the tuning part of the evaluation (tests/faq_eval, `python -m bench faq`); a wrong confident
# answer is worse than a question back, so "confident" needs a high score, a lead over the next entry,
# and the question naming the entry's topic — or a lead so clear that it needs no topic word.


@dataclass(frozen=True)
class Tuning:
    """The matcher's dials, in one place so that `python -m bench faq` can search them on the tuning part."""

    confident: float = 0.55  # the least score of a confident answer ...
    margin: float = 0.1  # ... that leads the runner-up by this much ...
    clear_lead: float = 0.1  # ... and names the entry's topic, unless it leads by this much
    close: float = 0.3  # the least score worth offering as a suggestion
    answer_credit: float = 0.7  # a word found only in an entry's answer counts this much
    unknown_share: float = 0.6  # a word no entry uses weighs this share of the rarest known word
    best_phrasing: float = 0.5  # the score: this share the closest phrasing, the rest the whole entry
    concept_boost: float = 3.0  # a topic concept weighs this many times its rarity
    question_word: float = 0.5  # "what", "where", "когда" weigh this share of their rarity
    snap_cutoff: float = 80  # rapidfuzz ratio from which an unknown word is taken as a typo of a known one
    missing_topic: float = 1.0  # a concept no entry names ("dog" → pets) weighs this share of the rarest
    missing_blocks: bool = True  # a question naming a topic no entry covers is never answered outright
    owned_topic: float = 0.4  # the least score of an answer when the question names a topic only it has


DEFAULT_TUNING = Tuning()
SLIP_CHARS = 300  # only the start of a message is re-read on another layout or alphabet
SUGGESTIONS = 3
OUT_OF_SCOPE = "\x00out-of-scope"  # the pseudo-entry of "not our topic" examples; never shown


@dataclass(frozen=True)
class Taught:
    """A phrasing learned after the content file was written: the owner said this question means
    `entry`, or (entry None) that it is not the FAQ's topic, which makes similar questions declined."""

    text: str
    entry: str | None


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
    outside: bool = False  # declined because it is like what the owner said is not our topic


@dataclass
class _Entry:
    key: str
    phrasings: list[frozenset[str]] = field(default_factory=list)
    strong: set[str] = field(default_factory=set)  # tokens of its phrasings and title
    weak: set[str] = field(default_factory=set)  # tokens found only in its answer


class FaqIndex:
    """The FAQ prepared for matching (built again whenever the FAQ or what it learned changes)."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        *,
        taught: Sequence[Taught] = (),
        concepts: Concepts = NO_CONCEPTS,
        tuning: Tuning = DEFAULT_TUNING,
    ) -> None:
        self.concepts = concepts
        self.tuning = tuning
        self._entries = {entry.id: self._prepare(entry) for entry in entries}
        outside = _Entry(OUT_OF_SCOPE)
        for lesson in taught:
            target = outside if lesson.entry is None else self._entries.get(lesson.entry)
            if target is not None:  # a phrasing of an entry since removed is ignored
                self._add_phrasing(target, lesson.text)
        if outside.phrasings:
            self._entries[OUT_OF_SCOPE] = outside
        self._postings: dict[str, list[_Entry]] = {}
        for entry in self._entries.values():
            for token in entry.strong | entry.weak:
                self._postings.setdefault(token, []).append(entry)
        self._weights = self._rarity()
        # What each phrasing weighs on its own, which `_closeness` needs for every phrasing it compares.
        self._own = {
            p: sum(self.weight(t) for t in p) for entry in self._entries.values() for p in entry.phrasings
        }
        # Topics only one entry names in its phrasings or title: naming one is a strong sign.
        named: dict[str, list[str]] = {}
        for entry in self._entries.values():
            for token in entry.strong:
                if token.startswith(CONCEPT):
                    named.setdefault(token, []).append(entry.key)
        self._owner_of = {token: keys[0] for token, keys in named.items() if len(keys) == 1}
        self._named_topics = frozenset(named)
        faq_words = {t for t in self._weights if not t.startswith(CONCEPT)}
        lexicon_words = {*concepts.single, *(word for phrase, _, _ in concepts.multi for word in phrase)}
        named_words = {t for entry in self._entries.values() for t in entry.strong if not t.startswith(CONCEPT)}
        self.snap = Snapper(faq_words, lexicon_words, tuning.snap_cutoff, named_words)

    def _prepare(self, entry: FaqEntry) -> _Entry:
        prepared = _Entry(entry.id)
        for texts in entry.questions.values():
            for text in texts:
                self._add_phrasing(prepared, text)
        for title in entry.title.values():
            self._add_phrasing(prepared, title)
        answer = set().union(*(self._read_owner(visible_text(text)).tokens for text in entry.answer.values()))
        prepared.weak = answer - prepared.strong
        return prepared

    def _add_phrasing(self, entry: _Entry, text: str) -> None:
        tokens = self._read_owner(text).tokens
        if tokens:
            entry.phrasings.append(tokens)
            entry.strong |= tokens
            entry.weak -= tokens

    def _read_owner(self, text: str) -> Reading:
        return read(text, self.concepts, customer=False)

    def _rarity(self) -> dict[str, float]:
        """Rare tokens weigh more: "parking" tells more than "price" when five entries mention prices."""
        total = max(len(self._entries), 1)
        named = {token for entry in self._entries.values() for token in entry.strong}
        return {
            token: math.log(1 + total / len(found)) * self._emphasis(token, token in named)
            for token, found in self._postings.items()
        }

    def _emphasis(self, token: str, named: bool = True) -> float:
        if token.startswith(CONCEPT):  # a topic only some answer mentions is no entry's topic
            return self.tuning.concept_boost if named else self.tuning.unknown_share
        return self.tuning.question_word if token in QUESTION_WORDS else 1.0

    def weight(self, token: str) -> float:
        known = self._weights.get(token)
        if known is not None:
            return known
        rarest = math.log(1 + max(len(self._entries), 1))
        if token.startswith(CONCEPT):  # a topic the FAQ has no entry for: a strong sign it cannot answer
            return self.tuning.missing_topic * rarest
        return self.tuning.unknown_share * rarest * self._emphasis(token)

    def reading(self, question: str) -> Reading:
        """The question as the index sees it; typed on the wrong keyboard layout ("crjkmrj cnjbn") or in
        Latin letters ("skolko stoit"), the reading that the FAQ knows best."""
        plain = read(question, self.concepts, snap=self.snap)
        if not self._maybe_slipped(plain):
            return self._generalise(plain)
        best, best_known = plain, self._known(plain)
        head = question[:SLIP_CHARS]
        for variant in (*layout_variants_of_text(head), *transliteration_variants_of_text(head)):
            if dictionary_share(variant, self.snap.knows) < 0.5:  # gibberish in the other alphabet
                continue
            reading = read(variant, self.concepts, snap=self.snap)
            if (known := self._known(reading)) > best_known:
                best, best_known = reading, known
        return self._generalise(best)

    def _generalise(self, reading: Reading) -> Reading:
        """A topic no entry names, read as the broader topic it is a case of when some entry names that:
        "when will my car be ready" is the duration entry's question in a FAQ without a ready-time one.
        A stand-in only scores: it is not the question naming the broader entry's own topic (coffee
        beans to take home are drinks, yet no question about the menu)."""
        wider = self.concepts.broader
        if not any(c in wider and c not in self._named_topics for c in reading.concepts):
            return reading
        concepts: set[str] = set()
        broadened: set[str] = set()
        for concept in reading.concepts:
            named = {b for b in wider.get(concept, ()) if b in self._named_topics}
            if concept in self._named_topics or not named:
                concepts.add(concept)
            else:
                broadened |= named
        return Reading(reading.lemmas, frozenset(concepts | broadened), frozenset(broadened - concepts))

    def _maybe_slipped(self, reading: Reading) -> bool:
        """Latin words the FAQ does not know: perhaps Russian or Ukrainian typed in the wrong letters; or
        Cyrillic ones no dictionary knows either: perhaps English typed on a Cyrillic layout ("зфклштп")."""
        return any(word not in self._weights and (is_latin(word) or not lemma(word)[1]) for word in reading.lemmas)

    def _known(self, reading: Reading) -> int:
        return sum(token in self._weights for token in reading.tokens) + len(reading.concepts)

    def rank(self, question: str) -> list[Match]:
        """The entries sharing a token with the question, with their scores, best first."""
        return self._rank(self.reading(question).tokens)

    def _rank(self, tokens: Iterable[str]) -> list[Match]:
        asked = {token: self.weight(token) for token in tokens}
        total = sum(asked.values())
        if not total:
            return []
        sharing = {id(e): e for token in asked for e in self._postings.get(token, ())}
        scored = [Match(entry.key, self._score(entry, asked, total)) for entry in sharing.values()]
        return sorted(scored, key=lambda m: -m.score)

    def _score(self, entry: _Entry, asked: dict[str, float], total: float) -> float:
        covered = sum(
            w if t in entry.strong else self.tuning.answer_credit * w if t in entry.weak else 0.0
            for t, w in asked.items()
        )
        best = max((self._closeness(asked, total, phrasing) for phrasing in entry.phrasings), default=0.0)
        share = self.tuning.best_phrasing
        return share * best + (1 - share) * covered / total

    def _closeness(self, asked: dict[str, float], total: float, phrasing: frozenset[str]) -> float:
        """Both ways round: how much of the question the phrasing covers, and of the phrasing the question."""
        shared = sum(w for t, w in asked.items() if t in phrasing)
        if not shared:
            return 0.0
        own = self._own.get(phrasing)
        if own is None:
            own = sum(asked.get(t) or self.weight(t) for t in phrasing)
        recall, precision = shared / total, shared / own
        return 2 * recall * precision / (recall + precision)

    def judge(self, question: str) -> Verdict:
        """Answer when sure, offer up to three entries when it is a close call, else admit there is none."""
        reading = self.reading(question)
        if not reading.lemmas and not any(c in self._weights for c in reading.concepts):
            return Verdict("chatter")  # no word, and no emoji of a topic the FAQ has ("🙂👍🎉")
        ranked = self._rank(reading.tokens)
        dials = self.tuning
        if not ranked or ranked[0].score < dials.close:
            return Verdict("none", score=ranked[0].score if ranked else 0.0)
        top = ranked[0]
        if top.entry == OUT_OF_SCOPE:  # closest to what the owner said is not our topic
            return Verdict("none", score=top.score, outside=True)
        ranked = [m for m in ranked if m.entry != OUT_OF_SCOPE]
        if self.tuning.missing_blocks and any(
            c not in self._weights and c not in MODIFIERS for c in reading.concepts
        ):
            # It names a topic no entry covers ("can I bring my dog?"): offer, never assert.
            return self._suggest(ranked)
        if self._sure(reading, ranked):
            return Verdict("answer", entry=top.entry, score=top.score)
        return self._suggest(ranked)

    def _sure(self, reading: Reading, ranked: list[Match]) -> bool:
        """The confidence rule: a high score with a lead and the question naming the entry's own topic;
        or the entry explaining every word of the question when the runner-up does not; or a topic only
        this entry has."""
        dials, top = self.tuning, ranked[0]
        runner_up = ranked[1] if len(ranked) > 1 else None
        lead = top.score - (runner_up.score if runner_up else 0.0)
        names = self._names_topic(reading, top.entry, runner_up)
        if top.score >= dials.confident and lead >= dials.margin and (names or lead >= dials.clear_lead):
            return True
        if top.score >= dials.confident and self._explains_alone(reading, top, runner_up):
            return True
        named = reading.concepts - reading.broadened
        owned = any(self._owner_of.get(token) == top.entry for token in named)
        return owned and top.score >= dials.owned_topic and lead >= dials.margin

    def _explains_alone(self, reading: Reading, top: Match, runner_up: Match | None) -> bool:
        """Every word of the question is one of the top entry's, and the runner-up misses one: "how much
        is a class?" is the prices entry's, not the massage's, however close their scores."""
        own = self._entries[top.entry].strong
        if runner_up is None or not reading.tokens <= own:
            return False
        return not reading.tokens <= self._entries[runner_up.entry].strong

    def _suggest(self, ranked: list[Match]) -> Verdict:
        top = ranked[0]
        floor = max(self.tuning.close, top.score - 0.15)
        candidates = tuple(m.entry for m in ranked[:SUGGESTIONS] if m.score >= floor)
        return Verdict("suggest", candidates=candidates, score=top.score)

    def _names_topic(self, reading: Reading, key: str, runner_up: Match | None) -> bool:
        """The question names something of this entry's own — a concept or a word of its phrasings that
        the runner-up does not have — rather than only words every entry shares."""
        own = self._entries[key].strong
        other = self._entries[runner_up.entry].strong if runner_up else set()
        return any(token in own and token not in other for token in reading.tokens)
