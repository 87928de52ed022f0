"""Topics of the shipped lexicon as the FAQ reads them: a narrow topic no entry names answered by the
broader one it is a case of, and Ukrainian words of the lexicon read as Ukrainian."""

from __future__ import annotations

import pytest

from flows.faq_index import FaqIndex
from flows.faq_setup import faq_concepts
from flows.lexicon import load_lexicon
from tests.faq_helpers import faq_entry

SERVICE = [
    faq_entry("duration", "How long does it take?", "Сколько времени это займёт?", "Скільки часу це займе?"),
    faq_entry("tyres", "tyre fitting price", "шиномонтаж цена", "шиномонтаж ціна"),
    faq_entry("oil", "oil change price", "замена масла цена", "заміна оливи ціна"),
    faq_entry("address", "where are you located", "где вы находитесь", "де ви знаходитесь"),
    faq_entry("booking", "How do I book?", "Как записаться?", "Як записатися?"),
]
READY = faq_entry("ready", "When can I collect it?", "Когда можно забрать?", "Коли можна забрати?")


@pytest.fixture(scope="module")
def service() -> FaqIndex:
    return FaqIndex(SERVICE, concepts=faq_concepts(None))


def test_the_shipped_lexicon_says_which_topic_is_a_case_of_which() -> None:
    assert load_lexicon().broader()["ready_time"] == ("duration",)


@pytest.mark.parametrize(
    "question",
    [
        "Will it be ready by tonight?",  # en
        "К вечеру будет готово?",  # ru
        "До обіду буде готово?",  # uk
    ],
)
def test_a_narrow_topic_no_entry_names_is_answered_by_its_broader_one(service: FaqIndex, question: str) -> None:
    verdict = service.judge(question)
    assert (verdict.kind, verdict.entry) == ("answer", "duration")


def test_an_entry_of_the_narrow_topic_keeps_its_questions() -> None:
    index = FaqIndex([*SERVICE, READY], concepts=faq_concepts(None))
    verdict = index.judge("К вечеру будет готово?")
    assert (verdict.kind, verdict.entry) == ("answer", "ready")


@pytest.mark.parametrize(
    "question",
    [
        "Скільки за заміну гуми?",  # uk: "гума" is tyres, though the Russian dictionary reads it first
        "Переобуть резину сколько?",  # ru
        "How much to swap my tires?",  # en
    ],
)
def test_lexicon_words_of_one_language_meet_the_same_words_in_questions(service: FaqIndex, question: str) -> None:
    verdict = service.judge(question)
    assert (verdict.kind, verdict.entry) == ("answer", "tyres")


PARTS = faq_entry(
    "own_parts", "Can I bring my own parts?", "Можно со своими запчастями?", "Можна зі своїми запчастинами?"
)


@pytest.mark.parametrize(
    "question",
    [
        "I bought the pads myself, will you fit them?",  # en: "bought myself" with a word between
        "Купила колодки сама, поставите?",  # ru: "купил сам"
        "Купив колодки сам, поставите?",  # uk: "купив сам"
    ],
)
def test_a_two_word_phrase_is_found_with_a_word_between(question: str) -> None:
    index = FaqIndex([*SERVICE, PARTS], concepts=faq_concepts(None))
    verdict = index.judge(question)
    assert (verdict.kind, verdict.entry) == ("answer", "own_parts")


def test_a_phrase_read_backwards_is_not_the_phrase() -> None:
    # "стати машиною" is parking; "машина стала" is a car that broke down
    found = faq_concepts(None).found_in(["машина", "стати", "забрати"], "", with_emoji=False)
    assert "#parking" not in found


def test_a_car_emoji_is_not_a_question_about_parking() -> None:
    assert "🚗" not in load_lexicon().emoji()


CAFE = [
    faq_entry("menu", "Can I see the menu?", "Можно посмотреть меню?", "Можна подивитися меню?"),
    faq_entry("breakfast", "Do you serve breakfast?", "У вас есть завтраки?", "У вас є сніданки?"),
    faq_entry(
        "cakes",
        "Do you make birthday cakes?",
        "Делаете торты на день рождения?",
        "Робите торти на день народження?",
    ),
    faq_entry("address", "where are you located", "где вы находитесь", "де ви знаходитесь"),
]


@pytest.fixture(scope="module")
def cafe() -> FaqIndex:
    return FaqIndex(CAFE, concepts=faq_concepts(None))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Do you do brunch?", "breakfast"),  # en: a kind of food is its own topic ...
        ("Бранч у вас есть?", "breakfast"),  # ru
        ("А що на сніданок?", "breakfast"),  # uk
        ("Pastries or desserts, anything sweet?", "cakes"),  # ... not the menu's, nor every food entry's
        ("Десерты какие-нибудь есть?", "cakes"),
        ("Які є десерти?", "cakes"),
    ],
)
def test_kinds_of_food_find_their_own_entry(cafe: FaqIndex, question: str, expected: str) -> None:
    verdict = cafe.judge(question)
    assert (verdict.kind, verdict.entry) == ("answer", expected)


@pytest.mark.parametrize("question", ["What teas do you have?", "Какие напитки есть?", "Які у вас напої?"])
def test_a_kind_of_food_no_entry_names_is_the_menus(cafe: FaqIndex, question: str) -> None:
    verdict = cafe.judge(question)
    assert (verdict.kind, verdict.entry) == ("answer", "menu")
    # ... standing in for drinks: not the question naming the menu's own topic (that needs a word of its)
    assert cafe.reading(question).broadened == {"#menu"}
