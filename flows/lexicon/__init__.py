"""The concept lexicon: which words, in which language, name which topic ("почём" and "cost" are price).

The product ships defaults for topics small businesses get asked about (`concepts.yaml` next to this
file); an owner adds words to a concept, or a concept of their own, under `faq_concepts:` in the
content file. This module only loads and merges the data; the FAQ matcher decides what to do with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

import yaml

EMOJI = "emoji"  # the key of a concept's emoji, next to its languages
# The key of the topics a concept is a case of ("when will it be ready" is a question of duration): a FAQ
# with no entry for the narrow topic answers it with the broader one's.
BROADER = "broader"
_VARIATION_SELECTOR = "\ufe0f"  # Telegram sends "🅿️" as well as "🅿": the emoji is the same

Extra = Mapping[str, Mapping[str, Sequence[str]]]


@dataclass(frozen=True)
class Concept:
    """One topic: its words and phrases per language (normalised, in order, no repeats) and its emoji."""

    id: str
    terms: Mapping[str, tuple[str, ...]] = field(hash=False)
    emoji: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()

    def in_language(self, language: str) -> tuple[str, ...]:
        """The concept's words and phrases in one language (none when the language has none)."""
        return self.terms.get(language, ())

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.terms)


class Lexicon:
    """The concepts the matcher knows: the shipped ones, extended by the owner's."""

    def __init__(self, concepts: Sequence[Concept]) -> None:
        self.concepts: tuple[Concept, ...] = tuple(concepts)
        self._by_id = {concept.id: concept for concept in self.concepts}
        emoji: dict[str, str] = {}
        for concept in self.concepts:
            for symbol in concept.emoji:
                emoji.setdefault(symbol, concept.id)
        self._emoji = MappingProxyType(emoji)

    def concept(self, concept_id: str) -> Concept | None:
        """The concept with this id, if there is one."""
        return self._by_id.get(concept_id)

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language some concept has words in (en, ru, uk, and any an owner added)."""
        return tuple(dict.fromkeys(language for concept in self.concepts for language in concept.terms))

    def phrases(self, language: str) -> Iterator[tuple[str, str]]:
        """Every (word or phrase, concept id) pair of one language, concept by concept."""
        for concept in self.concepts:
            for term in concept.in_language(language):
                yield term, concept.id

    def broader(self) -> dict[str, tuple[str, ...]]:
        """Concept id → the ids of the broader topics it is a case of (only concepts that have some)."""
        return {concept.id: concept.broader for concept in self.concepts if concept.broader}

    def emoji(self) -> dict[str, str]:
        """Emoji → concept id (an emoji listed by two concepts belongs to the first). Keys carry no
        variation selector (U+FE0F): strip it from a message before looking its emoji up."""
        return dict(self._emoji)


def load_lexicon(extra: Extra | None = None) -> Lexicon:
    """The shipped lexicon, with the owner's `faq_concepts` (same shape as the shipped file) merged in:
    words for an existing concept are added after the shipped ones, a new id adds a concept."""
    if not extra:
        return _default_lexicon()
    concepts = {concept.id: concept for concept in _shipped()}
    for concept_id, groups in extra.items():
        base = concepts.get(concept_id, Concept(concept_id, MappingProxyType({})))
        concepts[concept_id] = _merge(base, groups)
    return Lexicon(list(concepts.values()))


@lru_cache(maxsize=1)
def _default_lexicon() -> Lexicon:
    return Lexicon(_shipped())


@lru_cache(maxsize=1)
def _shipped() -> tuple[Concept, ...]:
    text = resources.files(__package__).joinpath("concepts.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError("concepts.yaml: expected a mapping of concept ids")
    return tuple(
        _merge(Concept(str(key), MappingProxyType({})), _groups(key, value)) for key, value in raw.items()
    )


def _groups(concept_id: object, value: object) -> Mapping[str, Sequence[str]]:
    """The shipped file's shape, checked: a mapping of language → list of strings."""
    if not isinstance(value, dict) or not all(
        isinstance(items, list) and all(isinstance(item, str) for item in items) for items in value.values()
    ):
        raise ValueError(f"concepts.yaml: {concept_id}: expected language: [words]")
    return value


def _merge(base: Concept, groups: Mapping[str, Sequence[str]]) -> Concept:
    terms = {language: list(items) for language, items in base.terms.items()}
    emoji = list(base.emoji)
    broader = list(base.broader)
    for language, items in groups.items():
        if language == EMOJI:
            emoji.extend(_normalize_emoji(item) for item in items)
        elif language == BROADER:
            broader.extend(items)
        else:
            terms.setdefault(language, []).extend(_normalize_term(item) for item in items)
    unique = {language: _unique(items) for language, items in terms.items()}
    terms_by_language = MappingProxyType({k: v for k, v in unique.items() if v})
    return Concept(base.id, terms_by_language, _unique(emoji), _unique(broader))


def _normalize_term(text: str) -> str:
    # Case and spacing are the owner's typing, not meaning: "Парковка " is "парковка".
    return " ".join(text.casefold().split())


def _normalize_emoji(text: str) -> str:
    return text.replace(_VARIATION_SELECTOR, "").strip()


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))
