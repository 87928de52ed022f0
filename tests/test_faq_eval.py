"""The FAQ matcher against an evaluation set of real-life questions (paraphrased, misspelled, mixed)."""

from __future__ import annotations

import pytest

from flows.content import example_content_path, load_content
from flows.faq_index import FaqIndex, Taught
from flows.faq_setup import index_builder
from flows.matching import contains_phrase, normalize, words
from tests.faq_eval_set import EVAL_SET, HELD_OUT


def example_index(taught: list[Taught] | None = None) -> FaqIndex:
    content = load_content(example_content_path())
    return index_builder(content)(content.faq, taught or [])


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return example_index()


def score(index: FaqIndex, items: list[tuple[str, str | None]]) -> tuple[float, float, list[str]]:
    """(share answered correctly, share answered confidently with a wrong entry, the failures)."""
    correct = wrong = 0
    failures = []
    for question, expected in items:
        verdict = index.judge(question)
        confident = verdict.kind == "answer"
        right = (not confident) if expected is None else (confident and verdict.entry == expected)
        correct += right
        wrong += confident and verdict.entry != expected
        if not right:
            failures.append(
                f"{question!r}: expected {expected}, got {verdict.kind} {verdict.entry or verdict.candidates}"
            )
    return correct / len(items), wrong / len(items), failures


def test_matcher_meets_the_accuracy_bar_on_the_evaluation_set(index: FaqIndex) -> None:
    accuracy, wrong, failures = score(index, EVAL_SET)
    print(f"\nFAQ evaluation ({len(EVAL_SET)} questions): {accuracy:.1%} correct, {wrong:.1%} confidently wrong")
    print("\n".join(failures))
    assert accuracy >= 0.90
    assert wrong <= 0.02


def test_held_out_questions_are_reported(index: FaqIndex) -> None:
    """Questions the matcher was never tuned on: printed for honesty, with a looser floor."""
    accuracy, wrong, failures = score(index, HELD_OUT)
    print(f"\nFAQ held-out ({len(HELD_OUT)} questions): {accuracy:.1%} correct, {wrong:.1%} confidently wrong")
    print("\n".join(failures))
    assert accuracy >= 0.75


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ёлка, ЁЖ!", "елка еж"),
        ("Ґанок", "ганок"),
        ("кав’ярня / кав'ярня", "кавярня кавярня"),
        ("цeна", "цена"),  # a Latin "e" inside a Cyrillic word
        ("  Hello,   world?! ", "hello world"),
    ],
)
def test_normalisation_unifies_harmless_differences(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("text", "phrase", "found"),
    [
        ("Я очень хочу купить абонемент", "хочу купить", True),
        ("хочу купити абонемент", "хочу купити", True),
        ("I want to buy a pass", "want to buy", True),
        ("I want to by a pass", "want to buy", True),  # a typo
        ("how do I book a class", "book me", False),
        ("купить хочу", "хочу купить", False),  # the words must come in order
    ],
)
def test_intent_phrases_tolerate_typos_and_forms_but_not_scattered_words(
    text: str, phrase: str, found: bool
) -> None:
    assert contains_phrase(words(text), words(phrase)) is found


def test_a_greeting_alone_is_chatter_not_a_question(index: FaqIndex) -> None:
    assert index.judge("hello!").kind == "chatter"
    assert index.judge("привет").kind == "chatter"
    assert index.judge("do you have a swimming pool").kind != "answer"


def test_taught_phrasings_answer_and_out_of_scope_examples_decline() -> None:
    question = "can I bring my dog"
    assert example_index().judge(question).kind != "answer"
    taught = example_index([Taught("are pets allowed, can I come with my dog", "what-to-bring")])
    assert taught.judge("can i come with my dog?").entry == "what-to-bring"
    assert example_index().judge("do you sell yoga mats").kind == "answer"  # "mats": what to bring
    declined = example_index([Taught("do you sell yoga mats in the shop", None)])
    verdict = declined.judge("do you sell yoga mats")
    assert verdict.kind == "none" and verdict.outside
