"""`faq_concepts:` in the content file: the owner's words for the FAQ's topics, added to the shipped lexicon.

    faq_concepts:
      parking: {ru: [паркомат]}            # more words for a shipped concept
      massage: {en: [massage, rub], ru: [массаж]}   # a concept of the business's own

Checked here (shape, sizes); merged with the shipped concepts by `flows.lexicon.load_lexicon`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from flows.content.base import LANGUAGES, invalid, quoted
from flows.i18n import N_

MAX_TERM_CHARS = 60
MAX_TERMS_PER_CONCEPT = 200
_CONCEPT_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
_KEYS = (*LANGUAGES, "emoji")


def _text(value: object) -> object:
    # YAML reads `[2024, yes]` as a number and a boolean: refuse them by name rather than guess.
    if not isinstance(value, str):
        raise invalid(N_("{value} is not a word (put it in quotes if it is meant as one)"), value=quoted(value))
    return value


def _term(text: str) -> str:
    if not text.strip():
        raise invalid(N_("a word is empty"))
    if len(text) > MAX_TERM_CHARS:
        raise invalid(
            N_("{word}… is {length} characters; at most {limit}"),
            word=quoted(text[:20]),
            length=len(text),
            limit=MAX_TERM_CHARS,
        )
    return text


def _concept(groups: dict[str, list[str]]) -> dict[str, list[str]]:
    for key in groups:
        if key not in _KEYS:
            raise invalid(
                N_("{key} is not a language here (write {keys})"), key=quoted(key), keys=", ".join(_KEYS)
            )
    count = sum(len(items) for items in groups.values())
    if count > MAX_TERMS_PER_CONCEPT:
        raise invalid(
            N_("{count} words; at most {limit} for one concept"), count=count, limit=MAX_TERMS_PER_CONCEPT
        )
    return groups


def _concepts(concepts: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
    for concept_id in concepts:
        if not _CONCEPT_ID.match(concept_id):
            raise invalid(
                N_("{name} is not a concept id (lower-case letters, digits, _ and -)"), name=quoted(concept_id)
            )
    return concepts


def _none_is_empty(value: object) -> object:
    # A section left with only its commented example reads as null in YAML: nothing to add.
    return {} if value is None else value


ConceptTerm = Annotated[str, BeforeValidator(_text), AfterValidator(_term)]
ConceptWords = Annotated[dict[str, list[ConceptTerm]], AfterValidator(_concept)]
FaqConcepts = Annotated[dict[str, ConceptWords], BeforeValidator(_none_is_empty), AfterValidator(_concepts)]
