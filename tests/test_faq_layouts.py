"""Keyboard-layout slips read back before the words are lemmatised, both ways round: Russian typed on the
English layout, and English typed on a Russian or Ukrainian layout, which no dictionary here checks (the
FAQ's and the lexicon's words do)."""

from __future__ import annotations

import pytest

from flows.faq_index import FaqIndex
from flows.faq_setup import faq_concepts
from flows.typing_slips import layout_variants_of_text
from tests.faq_helpers import faq_entry


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    entries = [
        faq_entry("prices", "how much does a class cost", "сколько стоит занятие", "скільки коштує заняття"),
        faq_entry("parking", "is there parking", "есть парковка", "чи є парковка"),
        faq_entry("menu", "what is on the menu", "что в меню", "що в меню"),
    ]
    return FaqIndex(entries, concepts=faq_concepts(None))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("зфклштп", "parking"),  # "parking" on the Russian layout
        ("вщ нщг рфму зфклштп", "parking"),  # "do you have parking"
        ("рщц ьгср", "prices"),  # "how much"
        ("ьутг?", "menu"),  # "menu?"
    ],
)
def test_english_typed_on_a_cyrillic_layout_is_answered(index: FaqIndex, question: str, expected: str) -> None:
    verdict = index.judge(question)
    assert (verdict.kind, verdict.entry) == ("answer", expected)


def test_cyrillic_gibberish_that_is_no_english_either_is_not_answered(index: FaqIndex) -> None:
    assert index.judge("щзхъжэ").kind == "none"


def test_a_comma_after_a_slipped_word_stays_a_comma() -> None:
    # "привет, сколько стоит" on the English layout: the comma is punctuation, not "б" ("приветб")
    assert layout_variants_of_text("ghbdtn, crjkmrj cnjbn")[0] == "привет, сколько стоит"
    # inside a word it is the letter: "абонемент"
    assert layout_variants_of_text("f,jytvtyn")[0] == "абонемент"


def test_a_greeting_and_a_slipped_question_is_answered(index: FaqIndex) -> None:
    verdict = index.judge("ghbdtn, crjkmrj cnjbn")  # before: "приветб" read as "привезти", a delivery topic
    assert (verdict.kind, verdict.entry) == ("answer", "prices")
