"""The FAQ evaluation data of issue 11 is sound: it loads, its expectations name real entries,
and its size and mix are what the evaluation promises. No matcher is involved here."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.faq_eval import BUSINESSES, EvalQuestion, load_business, load_questions

LANGUAGES = ("en", "ru", "uk")


def _all_questions() -> list[EvalQuestion]:
    return load_questions("tune") + load_questions("held_out")


@pytest.mark.parametrize("business", BUSINESSES)
def test_every_entry_has_every_language_with_at_most_two_phrasings(business: str) -> None:
    entries = load_business(business)
    assert 10 <= len(entries) <= 14
    assert len({e.id for e in entries}) == len(entries)
    for entry in entries:
        assert set(entry.questions) == set(LANGUAGES), entry.id
        assert set(entry.answer) == set(LANGUAGES), entry.id
        assert all(1 <= len(entry.questions[lang]) <= 2 for lang in LANGUAGES), entry.id


def test_every_expectation_names_an_entry_of_its_business() -> None:
    ids = {b: {e.id for e in load_business(b)} for b in BUSINESSES}
    for q in _all_questions():
        assert q.expect is None or q.expect in ids[q.business], q
        assert (q.kind == "out_of_scope") == (q.expect is None), q


def test_size_and_balance() -> None:
    questions = _all_questions()
    assert len(questions) >= 300
    per_business: Counter[str] = Counter(q.business for q in questions)
    assert all(per_business[b] >= 80 for b in BUSINESSES), per_business
    per_language: Counter[str] = Counter(q.lang for q in questions)
    assert all(per_language[lang] >= 70 for lang in LANGUAGES), per_language
    out_of_scope = sum(q.expect is None for q in questions) / len(questions)
    assert 0.12 <= out_of_scope <= 0.25


def test_the_split_is_disjoint_and_holds_out_about_a_third() -> None:
    tune = {q.q.lower() for q in load_questions("tune")}
    held_out = {q.q.lower() for q in load_questions("held_out")}
    assert not tune & held_out  # the same text in two businesses would leak too
    total = len(load_questions("tune")) + len(load_questions("held_out"))
    assert 0.30 <= len(load_questions("held_out")) / total <= 0.36


def test_no_question_copies_an_owners_phrasing() -> None:
    phrasings = {
        b: {p.lower() for e in load_business(b) for ps in e.questions.values() for p in ps} for b in BUSINESSES
    }
    copies = [q for q in _all_questions() if q.q.lower() in phrasings[q.business]]
    assert not copies
