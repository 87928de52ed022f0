"""Versioned content: validation at the key, import/export round trip, diffs, reverts, conflicts, audit."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import pytest

from bot.cli import main
from flows.content import example_content_path, load_content
from flows.content_documents import Problem, changed_keys, dump_yaml, parse_yaml
from flows.content_edits import ContentEdits
from storage.staff import StaffRepo
from tests.conftest import OWNER_ID, Harness


def edits(harness: Harness) -> ContentEdits:
    edits: ContentEdits = harness.services["content_edits"]
    return edits


def test_yaml_written_from_a_document_reads_back_the_same() -> None:
    document = parse_yaml(example_content_path().read_text("utf-8"))
    assert parse_yaml(dump_yaml(document)) == document


async def test_import_then_export_gives_the_file_back_unchanged(harness: Harness) -> None:
    text = example_content_path().read_text("utf-8").replace("300 ₴", "320 ₴")
    outcome = await edits(harness).import_yaml(text, OWNER_ID, None)
    assert outcome.ok
    assert await edits(harness).export_yaml() == text  # comments and layout kept


async def test_an_edited_document_exports_to_yaml_the_content_file_loader_accepts(
    harness: Harness, tmp_path: Path
) -> None:
    current = await edits(harness).current()
    document = copy.deepcopy(current.document)
    document["faq"][0]["answer"]["en"] = "Line one\nLine <b>two</b>"
    assert (await edits(harness).save(document, OWNER_ID, "", current.version)).ok
    exported = tmp_path / "exported.yaml"
    exported.write_text(await edits(harness).export_yaml(), "utf-8")
    assert load_content(exported) == harness.services["live_content"].current
    assert parse_yaml(exported.read_text("utf-8")) == document


async def test_problems_come_back_at_their_keys_and_nothing_is_saved(harness: Harness) -> None:
    current = await edits(harness).current()
    document = copy.deepcopy(current.document)
    document["faq"][0]["answer"]["en"] = "x" * 5000
    document["faq"][1]["buttons"] = [{"type": "link", "text": {"en": "Go"}, "url": "ftp://nowhere"}]
    outcome = await edits(harness).save(document, OWNER_ID, "", current.version)
    assert not outcome.ok
    assert Problem("faq[prices].answer.en", "the answer is 5000 characters; Telegram allows 4096 here") in (
        outcome.problems
    )
    assert (
        Problem("faq[schedule].buttons[1]", "a link button needs url starting with https://") in outcome.problems
    )
    assert await edits(harness).versions() == []


async def test_a_model_wide_check_names_its_key(harness: Harness) -> None:
    current = await edits(harness).current()
    document = copy.deepcopy(current.document)
    del document["faq"][0]["answer"]["en"]
    outcome = await edits(harness).save(document, OWNER_ID, "", current.version)
    assert [p.path for p in outcome.problems] == ["faq[prices].answer"]
    assert "needs a en answer" in outcome.problems[0].message


async def test_a_save_from_an_older_version_is_refused_as_stale(harness: Harness) -> None:
    current = await edits(harness).current()
    first = copy.deepcopy(current.document)
    first["faq"][0]["answer"]["en"] = "First"
    assert (await edits(harness).save(first, OWNER_ID, "", current.version)).ok
    second = copy.deepcopy(current.document)
    second["faq"][0]["answer"]["en"] = "Second"
    outcome = await edits(harness).save(second, OWNER_ID, "", current.version)
    assert outcome.stale and not outcome.ok
    assert harness.services["faq"].entry("prices").answer["en"] == "First"


async def test_the_diff_names_the_changed_keys_and_lines(harness: Harness) -> None:
    current = await edits(harness).current()
    document = copy.deepcopy(current.document)
    document["faq"][0]["answer"]["en"] = "Cheap"
    outcome = await edits(harness).save(document, OWNER_ID, "", current.version)
    assert outcome.version is not None
    diff = await edits(harness).diff(outcome.version)
    assert diff is not None
    assert diff.keys == ["faq[prices].answer.en"]
    assert "+    en: Cheap" in diff.lines
    assert any(line.startswith("-") and "<b>Prices</b>" in line for line in diff.lines)
    [version, file] = await edits(harness).versions()
    assert (version.changed, file.changed) == (["faq[prices].answer.en"], [])
    assert (version.summary, version.created_by, file.kind, file.created_by) == (
        "faq[prices].answer.en",
        OWNER_ID,
        "file",
        None,
    )


async def test_a_broken_import_names_the_line_and_changes_nothing(harness: Harness) -> None:
    outcome = await edits(harness).import_yaml("business: {name: [unclosed\n", OWNER_ID, None)
    assert not outcome.ok
    assert outcome.problems[0].message.startswith("line 2: not valid YAML")
    assert await edits(harness).versions() == []


async def test_saving_the_same_content_stores_nothing(harness: Harness) -> None:
    current = await edits(harness).current()
    outcome = await edits(harness).save(copy.deepcopy(current.document), OWNER_ID, "", current.version)
    assert outcome.unchanged and not outcome.ok


async def test_every_save_and_revert_is_audited_with_the_changed_keys(harness: Harness) -> None:
    current = await edits(harness).current()
    document = copy.deepcopy(current.document)
    document["business"]["name"] = "Sunset Yoga"
    saved = await edits(harness).save(document, OWNER_ID, "rename", current.version)
    assert saved.version is not None
    await edits(harness).revert(saved.version - 1, OWNER_ID, saved.version)
    rows = await harness.app.db.fetch_all(
        "SELECT actor_tg_id, action, subject, details FROM audit_log ORDER BY id"
    )
    content_rows = [tuple(row) for row in rows if str(row[1]).startswith("content_")]
    assert [(r[0], r[1]) for r in content_rows] == [(OWNER_ID, "content_edit"), (OWNER_ID, "content_revert")]
    assert '"keys": ["business.name"]' in content_rows[0][3]
    assert await StaffRepo(harness.app.db).audit_actions() == ["content_edit", "content_revert"]


def test_list_items_are_matched_by_their_id() -> None:
    old = {"faq": [{"id": "a", "answer": "1"}, {"id": "b", "answer": "2"}]}
    new = {"faq": [{"id": "new", "answer": "0"}, {"id": "a", "answer": "1"}, {"id": "b", "answer": "3"}]}
    assert list(changed_keys(old, new)) == ["faq[b].answer", "faq[new]"]
    assert list(changed_keys(old, {"faq": old["faq"][::-1]})) == ["faq (order)"]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, harness: Harness, tmp_path: Path) -> Path:
    monkeypatch.setenv("BOT_TOKEN", "123456:test-token")
    monkeypatch.setenv("DATABASE_PATH", str(harness.settings.database_path))
    if harness.settings.database_url is not None:  # the tests' PostgreSQL (tests/engines.py)
        monkeypatch.setenv("DATABASE_URL", harness.settings.database_url.get_secret_value())
    monkeypatch.chdir(tmp_path)  # no stray .env
    return tmp_path


def example_with(folder: Path, old: str, new: str) -> Path:
    """A content file in `folder`: the example with `old` replaced by `new`."""
    edited = folder / "edited.yaml"
    edited.write_text(example_content_path().read_text("utf-8").replace(old, new), "utf-8")
    return edited


async def cli_imports_a_new_price(folder: Path) -> Path:
    """`nurture-bot content import` of the example with the month at 3 000 ₴; the file imported."""
    edited = example_with(folder, "2 800 ₴", "3 000 ₴")
    assert await asyncio.to_thread(main, ["content", "import", str(edited)]) == 0
    return edited


async def assert_the_new_price_is_answered(harness: Harness) -> None:
    [answer] = await harness.chat(1001).send("What are your prices?")
    assert "Unlimited month — 3 000 ₴" in answer.plain_text


async def test_the_cli_imports_a_file_the_next_start_uses_and_exports_it_back(
    harness: Harness, cli_env: Path
) -> None:
    edited = await cli_imports_a_new_price(cli_env)
    assert await asyncio.to_thread(main, ["content", "export", str(cli_env / "out.yaml")]) == 0
    assert (cli_env / "out.yaml").read_text("utf-8") == edited.read_text("utf-8")
    await harness.restart()
    await assert_the_new_price_is_answered(harness)


@pytest.mark.engines("postgresql", reason="only PostgreSQL tells a running bot about another process's save")
async def test_a_running_bot_switches_to_a_file_the_cli_imports_without_a_restart(
    harness: Harness, cli_env: Path
) -> None:
    await cli_imports_a_new_price(cli_env)
    await harness.services["signals"].settled()
    await assert_the_new_price_is_answered(harness)


async def test_the_cli_refuses_an_invalid_file_naming_the_key(
    harness: Harness, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = example_with(cli_env, "id: prices", "id: Prices!")
    assert await asyncio.to_thread(main, ["content", "import", str(broken)]) == 1
    assert "faq[Prices!].id: use lower-case latin letters" in capsys.readouterr().err
    assert await edits(harness).versions() == []


async def test_a_photo_path_leading_out_of_the_content_folder_is_refused(harness: Harness) -> None:
    current = await edits(harness).current()
    entry = copy.deepcopy(current.document["faq"][0])
    entry["photo"] = "../../../../../../etc/passwd"  # the bot would upload whatever file it names
    outcome = await edits(harness).save_faq_entry("prices", entry, OWNER_ID, current.version)
    assert [p.path for p in outcome.problems] == ["faq[prices].photo"]
    assert "must be in the content file's folder" in outcome.problems[0].message
