"""The team's texts (flows/i18n.py): every marked text has its Russian and Ukrainian translation, plural
forms follow each language's rule, and a translation keeps the English text's {placeholders}."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog

from flows.i18n import Marked, _problem, compiled, language_of, missing, translator

ROOT = Path(__file__).resolve().parent.parent


def test_every_marked_text_is_translated_into_russian_and_ukrainian() -> None:
    problems = missing(ROOT)
    assert not problems, "untranslated texts (python -m flows.i18n lists them):\n" + "\n".join(problems[:40])


def test_a_text_without_translation_is_caught(tmp_path: Path) -> None:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "new.py").write_text('def f(tr):\n    return tr.gettext("A brand new owner text")\n')
    problems = missing(tmp_path)
    assert [p.split(":")[0] for p in problems] == ["ru", "uk"]
    assert all("A brand new owner text" in p for p in problems)


def test_plural_forms_follow_each_language() -> None:
    forms = {
        lang: [translator(lang).ngettext("{n} point", "{n} points", n).format(n=n) for n in (1, 2, 5, 21)]
        for lang in ("en", "ru", "uk")
    }
    assert forms["en"] == ["1 point", "2 points", "5 points", "21 points"]
    assert forms["ru"] == ["1 балл", "2 балла", "5 баллов", "21 балл"]
    assert forms["uk"] == ["1 бал", "2 бали", "5 балів", "21 бал"]


def test_a_translation_must_keep_the_placeholders() -> None:
    catalogue = Catalog(locale="ru")
    catalogue.add("Sold to {name}", "Продано {имя}")
    assert "placeholders differ" in (_problem(catalogue, Marked("Sold to {name}", None, "x.py:1")) or "")
    catalogue.add("Sold to {name}!", "Продано {name}!")
    assert _problem(catalogue, Marked("Sold to {name}!", None, "x.py:1")) is None
    assert compiled(catalogue).gettext("Sold to {name}!") == "Продано {name}!"


def test_the_language_is_the_first_we_have_texts_in() -> None:
    assert language_of(None, "uk-UA") == "uk"
    assert language_of("de", "ru") == "ru"
    assert language_of("de", None) == "en"
    assert translator("pt-BR").language == "en"
