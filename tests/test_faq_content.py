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
    with pytest.raises(ContentError, match=r"faq\.prices\.buttons: unknown faq entry 'nope'"):
        load_content(path)


def test_working_hours_must_be_a_range(tmp_path: Path) -> None:
    path = variant(tmp_path, {"handoff.working_hours": {"mon": "20:00-09:00"}})
    with pytest.raises(
        ContentError, match=r"handoff\.working_hours: .*mon: opening 20:00 must be before closing 09:00"
    ):
        load_content(path)


def test_an_entry_without_phrasings_in_the_default_language_is_refused(tmp_path: Path) -> None:
    path = variant(tmp_path, {"faq.1.questions": {"ru": ["Расписание?"]}})
    with pytest.raises(ContentError, match=r"faq\.schedule\.questions: needs en phrasings"):
        load_content(path)
