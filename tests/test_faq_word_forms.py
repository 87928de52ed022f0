"""Word forms the dictionaries read one way and the FAQ means another: a word's other dictionary readings,
diminutives, letters stretched for emphasis — each shown on a paraphrase that lands, in every language."""

from __future__ import annotations

import pytest

from flows.faq_index import FaqIndex
from flows.faq_setup import faq_concepts
from flows.faq_snap import Snapper
from flows.faq_text import Concepts
from flows.lemmas import lemma_options, words_of
from tests.faq_helpers import faq_entry


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    entries = [
        faq_entry("cakes", "cake to order", "торт на заказ", "торт на замовлення"),
        faq_entry("kids", "classes for kids", "занятия для детей", "заняття для дітей"),
        faq_entry("address", "where are you located", "где вы находитесь", "де ви знаходитесь"),
        faq_entry("parking", "is there parking", "есть парковка", "чи є парковка"),
    ]
    return FaqIndex(entries, concepts=faq_concepts(None))


def test_a_word_has_every_reading_its_dictionary_offers_the_likeliest_first() -> None:
    assert lemma_options("тортов")[0] == "тортовый"  # the likeliest: a short adjective ...
    assert "торт" in lemma_options("тортов")  # ... but also "торты" in the genitive plural
    assert "син" in lemma_options("синові")  # "son's", or "to the son"
    assert lemma_options("parking") == ("park",)


def test_of_a_words_readings_the_one_the_faq_uses_wins() -> None:
    snap = Snapper({"торт", "тортовый"}, {"вечером"}, cutoff=80, named={"торт"})
    assert snap.pick(("тортовый", "торт")) == "торт"  # the phrasings' word before the answers'
    assert snap.pick(("вечером", "вечер")) == "вечером"  # the lexicon's, when no phrasing has one
    assert snap.pick(("пирог", "пирожок")) == "пирог"  # none known: the likeliest


@pytest.mark.parametrize(
    ("word", "expected"),
    [("тортик", "торт"), ("сыночек", "сын"), ("годик", "год"), ("урок", "урок")],
)
def test_a_diminutive_is_read_as_the_faqs_word(word: str, expected: str) -> None:
    snap = Snapper({"торт", "сын", "год", "ур"}, (), cutoff=80)
    assert snap(word, True) == expected  # "урок": a two-letter stem is no word's diminutive


def test_letters_stretched_for_emphasis_count_once() -> None:
    assert words_of("Гдеее вы?? soooo where") == ["где", "вы", "so", "where"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Тортов на заказ не делаете?", "cakes"),  # ru: genitive plural read as an adjective first
        ("Тортики на заказ бывают?", "cakes"),  # ru: a diminutive
        ("Синові сім років, є заняття?", "kids"),  # uk: "to the son", read as "son's" first
        ("Тортик на замовлення можна?", "cakes"),  # uk: a diminutive
        ("wheeere are you located", "address"),  # en: stretched for emphasis
        ("Гдеее вы находитесь?", "address"),
    ],
)
def test_paraphrases_in_other_word_forms_are_answered(index: FaqIndex, question: str, expected: str) -> None:
    verdict = index.judge(question)
    assert (verdict.kind, verdict.entry) == ("answer", expected)


def test_a_word_of_a_lexicon_words_family_names_its_topic() -> None:
    """ "арендовать" is neither the FAQ's word nor the lexicon's, but "аренда" is the lexicon's: the
    question names the topic *rent* (before: no entry shared a word with it)."""
    concepts = Concepts.build({"rent": {"ru": ["аренда", "снять зал"]}, "parking": {"ru": ["парковка"]}}, {})
    entries = [
        faq_entry("rent", "can i rent the hall", "можно снять зал", "можна винайняти зал"),
        faq_entry("parking", "is there parking", "есть парковка", "чи є парковка"),
    ]
    index = FaqIndex(entries, concepts=concepts)
    verdict = index.judge("можно арендовать?")
    assert (verdict.kind, verdict.entry) == ("answer", "rent")
    assert index.judge("можно покрасить?").kind == "none"  # a word of no family the lexicon has


def test_an_english_word_of_a_lexicon_words_family_names_its_topic() -> None:
    """ "children" is stemmed as it is, no typo of any word, but of the family of the lexicon's "child"."""
    concepts = Concepts.build({"kids": {"en": ["kid", "child"]}, "parking": {"en": ["parking"]}}, {})
    entries = [
        faq_entry("kids", "a group for kids", "группа для малышей", "група для малюків"),
        faq_entry("parking", "is there parking", "есть парковка", "чи є парковка"),
    ]
    verdict = FaqIndex(entries, concepts=concepts).judge("children?")
    assert (verdict.kind, verdict.entry) == ("answer", "kids")
