"""Every problem the content's validation reports is a translatable text at a readable path (issue 12):
pydantic's own error types in our words (flows/content_refusals.py), the model's checks as `Invalid`."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from flows.content import example_content_path
from flows.content_documents import DocumentError, Problem, parse_yaml, validate
from flows.content_refusals import REFUSALS, refusal
from flows.i18n import translator

# The pydantic error types worded by us. A type added or dropped is a decision: change this list with it.
MAPPED = {
    "missing",
    "extra_forbidden",
    "string_type",
    "string_too_short",
    "string_too_long",
    "string_pattern_mismatch",
    "int_type",
    "int_parsing",
    "int_from_float",
    "float_type",
    "float_parsing",
    "decimal_type",
    "decimal_parsing",
    "finite_number",
    "decimal_max_digits",
    "decimal_max_places",
    "decimal_whole_digits",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "multiple_of",
    "bool_type",
    "bool_parsing",
    "literal_error",
    "enum",
    "dict_type",
    "model_type",
    "model_attributes_type",
    "list_type",
    "too_short",
    "too_long",
    "date_type",
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "time_type",
    "time_parsing",
    "timedelta_type",
    "timedelta_parsing",
}


@pytest.fixture(scope="module")
def example() -> dict:
    return parse_yaml(example_content_path().read_text("utf-8"))


def problems_of(document: dict) -> list[Problem]:
    with pytest.raises(DocumentError) as caught:
        validate(document, example_content_path().parent)
    return caught.value.problems


def at(problems: list[Problem], path: str) -> Problem:
    found = [p for p in problems if p.path == path]
    assert found, f"no problem at {path}: {problems}"
    return found[0]


def test_the_mapped_types_are_the_listed_ones() -> None:
    assert set(REFUSALS) == MAPPED


def test_a_type_without_a_mapping_reads_as_pydantic_wrote_it() -> None:
    error = {"type": "url_scheme", "msg": "URL scheme should be 'http' or 'https'", "ctx": {}}
    text = refusal(error)
    assert text.text(translator("ru")) == "URL scheme should be 'http' or 'https'"


def test_pydantic_refusals_are_in_our_words_at_the_field(example: dict) -> None:
    document = copy.deepcopy(example)
    del document["business"]["name"]
    document["loyalty"]["welcome_points"] = -5
    document["loyalty"]["coupons"][0]["kind"] = "half"
    document["faq"][0]["answr"] = "typo"
    problems = problems_of(document)
    ru, uk = translator("ru"), translator("uk")
    assert at(problems, "business.name").text(ru) == "обязательно"
    assert at(problems, "loyalty.welcome_points").text(uk) == "має бути не менше 0"
    assert at(problems, "faq[prices].answr").text(ru) == "здесь нет такого ключа (опечатка?)"
    choice = at(problems, f"loyalty.coupons[{example['loyalty']['coupons'][0]['key']}].kind")
    assert choice.text(ru) == "должно быть одним из: 'percent', 'amount', 'gift'"
    assert choice.message == "must be one of: 'percent', 'amount', 'gift'"  # English for the command line


def test_the_models_checks_name_their_field_and_are_translated(example: dict) -> None:
    document = copy.deepcopy(example)
    document["faq"][0]["answer"]["en"] = "x" * 5000
    [problem] = problems_of(document)
    assert problem.path == "faq[prices].answer.en"
    assert problem.message == "the answer is 5000 characters; Telegram allows 4096 here"
    assert problem.text(translator("ru")) == "в ответе 5\u00a0000 символов; Telegram разрешает здесь 4\u00a0096"
    document = copy.deepcopy(example)
    document["segments"]["saved"]["vip"] = "tier:gold"
    [problem] = problems_of(document)
    assert problem.path == "segments.saved.vip"
    assert problem.text(translator("uk")).startswith("слово 1 `tier:gold`: ")


def test_the_command_line_still_reads_path_and_english(tmp_path: Path) -> None:
    from flows.content import ContentError, load_content

    broken = tmp_path / "content.yaml"
    broken.write_text(example_content_path().read_text("utf-8").replace("currency: UAH", "currency: ZZZ"))
    with pytest.raises(ContentError, match=r"loyalty\.currency: unknown currency 'ZZZ'"):
        load_content(broken)


@pytest.mark.parametrize("typed", [10**20, 25 * 60, True])
def test_a_time_of_day_that_is_no_time_is_refused_not_crashed_on(example: dict, typed: object) -> None:
    document = copy.deepcopy(example)
    document["sequences"][0]["steps"][0]["at"] = typed
    [problem] = problems_of(document)
    assert problem.path == f"sequences[{example['sequences'][0]['name']}].steps[1].at"
    assert problem.text(translator("ru")) == "нужно время дня, например 10:00"


def test_the_content_file_check_words_pydantic_refusals_as_the_console_does(tmp_path: Path) -> None:
    from flows.content import ContentError, load_content

    broken = tmp_path / "content.yaml"
    text = example_content_path().read_text("utf-8").replace("welcome_points: 50", "welcome_points: -5")
    broken.write_text(text)
    with pytest.raises(ContentError, match=r"loyalty\.welcome_points: must be at least 0$"):
        load_content(broken)
