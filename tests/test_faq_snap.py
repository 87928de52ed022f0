"""Taking a word the FAQ does not use as one it does: typos and word families, and what is neither."""

from __future__ import annotations

import pytest

from flows.faq_snap import Snapper

FAQ_WORDS = {"расписание", "доставка", "запись", "schedul", "hall", "parking"}
LEXICON_WORDS = {"subscript", "halal", "абонемент"}


@pytest.mark.parametrize(
    ("word", "known", "expected"),
    [
        ("расписане", False, "расписание"),  # a typo of the FAQ's word
        ("абанемент", False, "абонемент"),  # ... or of the lexicon's, so its topic is still named
        ("shedul", False, "schedul"),
        ("доставлять", True, "доставка"),  # a dictionary word of the same family
        ("записаться", True, "запись"),
        ("script", False, "script"),  # not a misspelt "subscript": a typo keeps the first letter and length
        ("hal", False, "hal"),  # too short to guess
        ("hull", False, "hull"),  # one letter in four: a different word, not "hall"
        ("insurance", False, "insurance"),  # nothing like it: itself
        ("парковать", True, "парковать"),  # a known word with no family in the FAQ stays itself
        ("parking", False, "parking"),  # the FAQ's own word
    ],
)
def test_words_are_snapped_only_onto_what_they_plausibly_mean(word: str, known: bool, expected: str) -> None:
    assert Snapper(FAQ_WORDS, LEXICON_WORDS, cutoff=80)(word, known) == expected
