"""The shipped concept lexicon: its data keeps the rules it is written by, and owners extend it."""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

import pytest
import yaml

from flows.content import ContentError, example_content_path, load_content
from flows.lexicon import load_lexicon

LANGUAGES = ("en", "ru", "uk")


def test_every_concept_has_english_russian_and_ukrainian_words() -> None:
    lexicon = load_lexicon()
    assert len(lexicon.concepts) >= 40
    for concept in lexicon.concepts:
        for language in LANGUAGES:
            assert len(concept.in_language(language)) >= 5, (concept.id, language)


def test_items_are_lower_case_short_and_not_repeated() -> None:
    for concept in load_lexicon().concepts:
        for language in LANGUAGES:
            items = concept.in_language(language)
            repeated = [item for item, count in Counter(items).items() if count > 1]
            assert not repeated, (concept.id, language, repeated)
            for item in items:
                assert item and item == item.lower() == item.strip(), (concept.id, item)
                assert 1 <= len(item.split()) <= 4, (concept.id, item)


def test_the_shipped_file_has_no_repeats_the_loader_would_hide() -> None:
    # The loader drops repeats; the file itself should have none either.
    raw = yaml.safe_load(resources.files("flows.lexicon").joinpath("concepts.yaml").read_text("utf-8"))
    for concept_id, groups in raw.items():
        for language, items in groups.items():
            assert len(items) == len(set(items)), (concept_id, language)


def test_a_word_names_at_most_two_concepts() -> None:
    # A word in several concepts signals none of them; two is allowed where customers use it both ways.
    lexicon = load_lexicon()
    for language in LANGUAGES:
        owners = Counter(phrase for phrase, _ in lexicon.phrases(language))
        assert max(owners.values()) <= 2, [p for p, n in owners.items() if n > 2]


def test_phrases_and_emoji_point_at_their_concept() -> None:
    lexicon = load_lexicon()
    assert ("почем", "price") in set(lexicon.phrases("ru"))
    assert ("скільки коштує", "price") in set(lexicon.phrases("uk"))
    assert ("how much", "price") in set(lexicon.phrases("en"))
    assert lexicon.emoji()["🅿"] == "parking"
    assert lexicon.languages == LANGUAGES
    symbols = [symbol for concept in lexicon.concepts for symbol in concept.emoji]
    assert len(symbols) == len(set(symbols)), "an emoji in two shipped concepts"


def _content_with(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "content.yaml"
    path.write_text(example_content_path().read_text("utf-8") + "\n" + section, "utf-8")
    return path


def test_owner_extends_a_concept_and_adds_one_in_the_content_file(tmp_path: Path) -> None:
    section = (
        "faq_concepts:\n"
        "  parking:\n"
        "    ru: [Паркомат, парковка]\n"
        "    emoji: ['🚙']\n"
        "  massage:\n"
        "    en: [massage, back rub]\n"
        "    uk: [масаж]\n"
    )
    content = load_content(_content_with(tmp_path, section))
    lexicon = load_lexicon(content.faq_concepts)

    parking = lexicon.concept("parking")
    assert parking is not None
    shipped = load_lexicon().concept("parking")
    assert shipped is not None
    # the owner's word comes after the shipped ones, normalised; a repeat of a shipped word is not doubled
    assert parking.in_language("ru") == (*shipped.in_language("ru"), "паркомат")
    assert lexicon.emoji()["🚙"] == "parking"
    assert ("back rub", "massage") in set(lexicon.phrases("en"))
    assert ("масаж", "massage") in set(lexicon.phrases("uk"))
    assert len(lexicon.concepts) == len(load_lexicon().concepts) + 1
    # the defaults are untouched for a business that adds nothing
    assert "паркомат" not in shipped.in_language("ru")


def test_an_empty_section_adds_nothing(tmp_path: Path) -> None:
    content = load_content(_content_with(tmp_path, "faq_concepts:\n"))
    assert content.faq_concepts == {}
    assert load_lexicon(content.faq_concepts).concepts == load_lexicon().concepts


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("faq_concepts:\n  price: {en: [2024]}\n", r"faq_concepts\.price\.en\[1\]: 2024 is not a word"),
        ("faq_concepts:\n  price: {ru: [цена, '  ']}\n", r"faq_concepts\.price\.ru\[2\]: a word is empty"),
        ("faq_concepts:\n  price: {en: [" + "x" * 61 + "]}\n", r"faq_concepts\.price\.en\[1\]: .*at most 60"),
        ("faq_concepts:\n  price: {de: [preis]}\n", r"faq_concepts\.price: 'de' is not a language"),
        ("faq_concepts:\n  Big Price: {en: [cost]}\n", r"faq_concepts: 'Big Price' is not a concept id"),
        ("faq_concepts:\n  price: {en: cost}\n", r"faq_concepts\.price\.en: must be a list"),
    ],
)
def test_a_malformed_section_is_refused_naming_the_field(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        load_content(_content_with(tmp_path, section))


def test_too_many_words_for_one_concept_are_refused(tmp_path: Path) -> None:
    words = ", ".join(f"w{n}" for n in range(201))
    with pytest.raises(ContentError, match=r"faq_concepts\.price: 201 words; at most 200"):
        load_content(_content_with(tmp_path, f"faq_concepts:\n  price: {{en: [{words}]}}\n"))
