"""What a text says, as the FAQ index compares it: dictionary forms without filler, and topic concepts.

"Почём абонемент?", "скільки коштує абонемент" and "how much is a pass" share few letters but all name
the concept *price*: the concept lexicon (flows/lexicon, extended by the owner's `faq_concepts`) maps
words and phrases of every language onto one token per topic, `#price`, so languages and paraphrases
meet. Emoji that stand for a topic (💰, 📍) count as its concept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from flows.faq_snap import Snapper
from flows.lemmas import lemma, lemma_options, words_of

CONCEPT = "#"  # concept tokens start with it; no word does
# Concepts that qualify a question rather than name its topic ("on sunday", "in the morning"): a FAQ
# without them can still answer a question that has them.
MODIFIERS = frozenset({CONCEPT + "day_time"})
PAIR_REACH = 2  # a two-word phrase's words may stand this far apart, in either order
MAX_WORDS = 60  # a question is a sentence or two: the rest of an essay is not matched (bounded cost)

# Words that say nothing about what is asked, in any form (they are compared as dictionary forms).
# Question words (where, when, how much) stay: they tell "where is the studio" from "when is it open".
_FILLER = """
    a an the is are am was be been do does did i me my you your we our us it its to of in on at for and or
    with can could would will shall should please hi hello hey there this that these those any some just
    also so ok okay thanks thank have has had get got want wanted like ask wonder know tell let need
    possible guys dear good day question info about if whether i'm im not no don't dont
    by from into as than then
    я мне меня мы нас вы вас ты тебя он она они у в во на с со и а но ли бы же это этот эта то там тут
    есть быть пожалуйста привет здравствуйте здравствуй добрый день вечер утро подсказать сказать спасибо
    ну вот ещё еще мой моя мои ваш ваша ваши о об по к ко от из за при про можно вам вами нам хотеть
    хотелось узнать спросить интересовать вопрос уточнить если подскажите скажите а не нет
    мені мене ми нас ви вас ти тебе він вона вони й та але чи б це цей ця те там тут є бути будь ласка
    вітаю доброго добрий день вечір ранок підказати сказати дякую ну ось ще мій моя мої ваш ваша ваші із
    зі до о об по від при про можна хотіти дізнатися запитати спитати цікавити питання уточнити якщо ні
"""
# Question words say little on their own ("what" starts half the questions), so they weigh less.
_QUESTION_WORDS = """
    what how when where which who why whats what's как какой когда где куда что чем кто зачем почему
    як який яка яке які коли де куди що шо хто чому навіщо
"""


def lemmas_of(text: str, language: str | None = None) -> list[str]:
    """Each word's likeliest dictionary form, filler kept (`language` "uk" for a Ukrainian item)."""
    return [lemma(word, language)[0] for word in words_of(text)]


FILLER = frozenset(_FILLER.split()) | frozenset(lemmas_of(_FILLER))
QUESTION_WORDS = frozenset(lemmas_of(_QUESTION_WORDS))


@dataclass(frozen=True)
class Concepts:
    """The concept lexicon prepared for matching: one-word items by dictionary form, longer ones as
    sequences of dictionary forms, emoji by character."""

    single: Mapping[str, frozenset[str]]
    # (the phrase, the phrase without its filler, the concept): customers put "to you" or "please" in the
    # middle of a phrase, so "как к вам проехать" counts as "как проехать" (when two words or more remain)
    multi: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...]
    emoji: Mapping[str, str]
    by_first: Mapping[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)  # phrases
    core_by_first: Mapping[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)  # cores
    broader: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # concept token → broader ones
    # Two-word cores without a question word, by either word: customers say them in either order and
    # with a word between ("поменять масло" / "масло поменять", "купил сам" / "купил колодки сам").
    pairs: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        phrases: Mapping[str, Mapping[str, Iterable[str]]],
        emoji: Mapping[str, str],
        broader: Mapping[str, Iterable[str]] | None = None,
    ) -> Concepts:
        single: dict[str, set[str]] = {}
        multi: list[tuple[tuple[str, ...], tuple[str, ...], str]] = []
        for concept, languages in phrases.items():
            for language, item in ((lang, item) for lang, items in languages.items() for item in items):
                lemmas = tuple(lemmas_of(item, language))
                if len(lemmas) == 1:
                    single.setdefault(lemmas[0], set()).add(concept)
                elif lemmas:
                    core = tuple(word for word in lemmas if word not in FILLER)
                    multi.append((lemmas, core if len(core) >= 2 else lemmas, concept))
        whole: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        cores: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrase, core, concept in multi:
            whole.setdefault(phrase[0], []).append((phrase, concept))
            cores.setdefault(core[0], []).append((core, concept))
        pairs: dict[str, list[tuple[str, str]]] = {}
        for _, core, concept in multi:
            if len(core) == 2 and core[0] != core[1] and not QUESTION_WORDS & set(core):
                pairs.setdefault(core[0], []).append((core[1], concept))
        wider = {CONCEPT + k: tuple(CONCEPT + b for b in v) for k, v in (broader or {}).items()}
        singles = {k: frozenset(v) for k, v in single.items()}
        return cls(singles, tuple(multi), dict(emoji), whole, cores, wider, pairs)

    def found_in(self, lemmas: list[str], text: str, *, with_emoji: bool) -> set[str]:
        """The concepts a text names, as tokens. Phrases are looked up by their first word, so the cost
        grows with the text's words, not with the size of the lexicon."""
        found: set[str] = set()
        for word in lemmas:
            found |= self.single.get(word, frozenset())
        meaningful = [word for word in lemmas if word not in FILLER]
        for sequence, starting in ((lemmas, self.by_first), (meaningful, self.core_by_first)):
            for i, word in enumerate(sequence):
                for phrase, concept in starting.get(word, ()):
                    if tuple(sequence[i : i + len(phrase)]) == phrase:
                        found.add(concept)
        for i, word in enumerate(meaningful):
            near = meaningful[i + 1 : i + PAIR_REACH + 1]  # "купил колодки сам" is "купил сам"
            found |= {concept for other, concept in self.pairs.get(word, ()) if other in near}
        if with_emoji:
            found |= {concept for char, concept in self.emoji.items() if char in text}
        return {CONCEPT + concept for concept in found}


NO_CONCEPTS = Concepts({}, (), {})


@dataclass(frozen=True)
class Reading:
    """A text as the index sees it: its meaningful dictionary forms and the concepts it names."""

    lemmas: tuple[str, ...]  # meaningful words only, in order, each once
    concepts: frozenset[str]
    broadened: frozenset[str] = frozenset()  # concepts standing in for a narrower one no entry names

    @property
    def tokens(self) -> frozenset[str]:
        return frozenset(self.lemmas) | self.concepts


def read(text: str, concepts: Concepts, *, customer: bool = True, snap: Snapper | None = None) -> Reading:
    """Read a text: words → dictionary forms → concepts; filler dropped. `snap` maps a word the FAQ does
    not use onto one it does: of a word's dictionary forms, the one the FAQ or the lexicon uses; a typo
    before the concepts are found (so a misspelt topic word still names its topic), and a word neither
    uses as the lexicon's word of its family ("копятся" → "копить", "children" → "child"), so that it
    names that word's topic; a word of the FAQ's family after. Only the first MAX_WORDS words count, so
    a 4,000-character message costs what a long sentence does. Emoji count only in what customers write
    (an owner's "💳 Prices" title is decoration)."""
    words = words_of(text[:2000])[:MAX_WORDS]
    analysed = [lemma(word) for word in words]
    if snap is not None:
        analysed = [
            (snap.pick(lemma_options(word)) if known and not _settled(first, snap) else first, known)
            for word, (first, known) in zip(words, analysed, strict=True)
        ]
    if snap is None:
        lemmas = [word for word, _ in analysed]
        found = concepts.found_in(lemmas, text[:2000], with_emoji=customer)
    else:
        analysed = [
            (w if w in FILLER else snap.lexicon_family(w if known else snap(w, False)), known)
            for w, known in analysed
        ]
        found = concepts.found_in([w for w, _ in analysed], text[:2000], with_emoji=customer)
        lemmas = [w if w in FILLER else snap(w, True) for w, _ in analysed]
    meaningful = tuple(dict.fromkeys(word for word in lemmas if word not in FILLER and len(word) > 1))
    return Reading(meaningful, frozenset(found))


def _settled(first: str, snap: Snapper) -> bool:
    """Whether a word's likeliest reading stands: filler ("к" is not an abbreviated "как") or a word of
    the FAQ's phrasings."""
    return first in FILLER or snap.named(first)


def dictionary_share(text: str, known: Callable[[str], bool] = lambda word: False) -> float:
    """The share of a text's words that a dictionary knows, or `known` does (0 for no words): English has
    no dictionary here, so an English reading counts the words the FAQ or its lexicon uses."""
    found = [lemma(word)[1] or known(lemma(word)[0]) for word in words_of(text[:2000])[:MAX_WORDS]]
    return sum(found) / len(found) if found else 0.0
