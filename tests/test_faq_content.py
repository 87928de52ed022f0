"""The FAQ and handoff sections of the content file are validated with errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.content import ContentError, example_content_path, load_content


def variant(tmp_path: Path, change: dict) -> Path:  # type: ignore[type-arg]
    raw = yaml.safe_load(example_content_path().read_text("utf-8"))
    for dotted, value in change.items():
        target = raw
        *path, last = dotted.split(".")
        for part in path:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    path = tmp_path / "content.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def test_a_button_to_an_unknown_faq_entry_is_named(tmp_path: Path) -> None:
    path = variant(tmp_path, {"faq.0.buttons": [{"type": "faq", "faq": "nope", "text": {"en": "More"}}]})
    with pytest.raises(ContentError, match=r"faq\[prices\]\.buttons: unknown faq entry 'nope'"):
        load_content(path)


def test_working_hours_must_be_a_range(tmp_path: Path) -> None:
    path = variant(tmp_path, {"handoff.working_hours": {"mon": "20:00-09:00"}})
    with pytest.raises(
        ContentError, match=r"handoff\.working_hours: .*mon: opening 20:00 must be before closing 09:00"
    ):
        load_content(path)


def test_an_entry_without_phrasings_in_the_default_language_is_refused(tmp_path: Path) -> None:
    path = variant(tmp_path, {"faq.1.questions": {"ru": ["Расписание?"]}})
    with pytest.raises(ContentError, match=r"faq\[schedule\]\.questions: needs en phrasings"):
        load_content(path)


# --- errors name what the owner named; every declared language is complete ------------------------


def test_an_error_inside_a_sequence_names_the_sequence_and_the_step(tmp_path: Path) -> None:
    path = variant(tmp_path, {"sequences.0.steps.1.delay": "soon"})
    with pytest.raises(ContentError, match=r": sequences\[welcome\]\.steps\[2\]\.delay: 'soon' is not a duration"):
        load_content(path)


def test_an_error_inside_a_coupon_campaign_names_it(tmp_path: Path) -> None:
    raw = yaml.safe_load(example_content_path().read_text("utf-8"))
    key = raw["loyalty"]["coupons"][0]["key"]
    path = variant(tmp_path, {"loyalty.coupons.0.valid_days": 0})
    with pytest.raises(ContentError, match=rf"loyalty\.coupons\[{key}\]\.valid_days: "):
        load_content(path)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"texts.uk.help": None}, r"texts\.uk\.help: the uk text is missing"),
        (
            {"sequences.0.steps.2.text": {"en": "Tip", "ru": "Совет"}},
            r"sequences\[welcome\]\.steps\[3\]\.text: the uk",
        ),
        (
            {"sequences.0.steps.0.buttons": [{"type": "more", "text": {"en": "More", "uk": "Більше"}}]},
            r"sequences\[welcome\]\.steps\[1\]\.buttons\[1\]\.text: the ru text is missing",
        ),
        ({"faq.0.answer": {"en": "Cheap", "ru": "Дёшево"}}, r"faq\[prices\]\.answer: the uk text is missing"),
        (
            {"onboarding.interests.0.title": {"en": "Yoga", "ru": "Йога"}},
            r"onboarding\.interests\[yoga\]\.title: the uk",
        ),
    ],
)
def test_a_missing_translation_in_a_declared_language_is_named(tmp_path: Path, change: dict, where: str) -> None:  # type: ignore[type-arg]
    raw = yaml.safe_load(example_content_path().read_text("utf-8"))
    for dotted, value in change.items():
        if value is None:  # delete the key
            *parents, last = dotted.split(".")
            target = raw
            for part in parents:
                target = target[part]
            del target[last]
            change = {}
    path = variant(tmp_path, change) if change else tmp_path / "content.yaml"
    if not change:
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    with pytest.raises(ContentError, match=where):
        load_content(path)


def test_an_owner_may_let_a_language_fall_back_to_the_default(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        {
            "business.fallback_to_default": ["uk"],
            "sequences.0.steps.2.text": {"en": "Tip of the day", "ru": "Совет дня"},
        },
    )
    content = load_content(path)
    assert content.business.fallback_to_default == ["uk"]
    assert "help" in content.texts["uk"]  # the rest stays as written


def test_the_example_content_is_complete_in_every_language() -> None:
    from flows.content.completeness import missing_in

    content = load_content(example_content_path())
    assert content.business.fallback_to_default == []
    for language in ("en", "ru", "uk"):
        assert language in content.business.languages
        assert list(missing_in(content, language)) == []
