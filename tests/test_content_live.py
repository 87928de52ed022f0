"""Content edited while the bot runs: customers get the new text at once, after a restart, and after a revert."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest

from flows.content import Content, example_content_path, load_content
from flows.content_edits import ContentEdits, faq_entry_document
from flows.content_live import Commit, LiveContent
from storage.content_versions import StaleBase
from storage.staff import StaffRepo
from tests.conftest import OWNER_ID, Harness

NEW_PRICES = "<b>New prices</b>\nSingle class — 350 ₴"


def edits(harness: Harness) -> ContentEdits:
    edits: ContentEdits = harness.services["content_edits"]
    return edits


async def change_prices_answer(harness: Harness, text: str = NEW_PRICES) -> int:
    current = await edits(harness).current()
    entry = copy.deepcopy(next(e for e in current.document["faq"] if e["id"] == "prices"))
    entry["answer"]["en"] = text
    outcome = await edits(harness).save_faq_entry("prices", entry, OWNER_ID, current.version)
    assert outcome.ok, outcome
    assert outcome.version is not None
    return outcome.version


async def test_an_edited_faq_answer_reaches_the_next_customer_without_a_restart(harness: Harness) -> None:
    anna = harness.chat(1001)
    [before] = await anna.send("What are your prices?")
    assert "Unlimited month" in before.plain_text
    await change_prices_answer(harness)
    [after] = await anna.send("What are your prices?")
    assert after.plain_text == "New prices\nSingle class — 350 ₴"
    assert [label for row in after.buttons for label, _ in row] == ["Buy a pass"]


async def test_the_edit_survives_a_restart_and_a_revert_brings_the_old_answer_back(harness: Harness) -> None:
    await change_prices_answer(harness)
    await harness.restart()
    anna = harness.chat(1001)
    [after] = await anna.send("What are your prices?")
    assert "350 ₴" in after.plain_text
    versions = await edits(harness).versions()
    assert [v.kind for v in versions] == ["edit", "file"]
    outcome = await edits(harness).revert(versions[-1].id, OWNER_ID, versions[0].id)
    assert outcome.ok
    [reverted] = await anna.send("What are your prices?")
    assert "Unlimited month — 2 800 ₴" in reverted.plain_text
    actions = await StaffRepo(harness.app.db).audit_actions()
    assert actions[-2:] == ["content_edit", "content_revert"]


async def test_a_new_faq_entry_is_matched_at_once(harness: Harness) -> None:
    current = await edits(harness).current()
    entry = faq_entry_document(
        {"en": "🧖 Sauna"},
        {"en": "Do you have a sauna?\nis there a sauna", "ru": "Есть ли сауна?", "uk": "Чи є сауна?"},
        {"en": "Yes, a small <i>Finnish</i> sauna.", "ru": "Да, есть сауна.", "uk": "Так, є сауна."},
    )
    entry["title"].update({"ru": "🧖 Сауна", "uk": "🧖 Сауна"})
    outcome = await edits(harness).save_faq_entry("sauna", entry, OWNER_ID, current.version)
    assert outcome.ok, outcome
    [answer] = await harness.chat(1001).send("Do you have a sauna?")
    assert answer.plain_text == "Yes, a small Finnish sauna."


async def test_a_customers_texts_follow_the_switch(harness: Harness) -> None:
    current = await edits(harness).current()
    document = copy.deepcopy(current.document)
    document["texts"]["en"]["help"] = "Just ask, {business} is here."
    outcome = await edits(harness).save(document, OWNER_ID, "help text", current.version)
    assert outcome.ok
    [reply] = await harness.chat(1001).send("/help")
    assert reply.plain_text == "Just ask, Sunrise Yoga & Coffee is here."


async def test_a_customer_in_a_sequence_gets_the_edited_next_step(harness: Harness) -> None:
    anna = harness.chat(1001)
    await anna.send("/start")
    await harness.advance(minutes=1)
    assert any("Here is how it works" in (m.plain_text or "") for m in anna.messages())
    current = await edits(harness).current()
    document = copy.deepcopy(current.document)
    document["sequences"][0]["steps"][1]["text"]["en"] = "Come with a friend: <b>two for one</b> this week."
    assert (await edits(harness).save(document, OWNER_ID, "welcome step 2", current.version)).ok
    await harness.advance(days=1)
    texts = [m.plain_text for m in anna.messages()]
    assert "Come with a friend: two for one this week." in texts
    assert not any("Your first class is on us" in (t or "") for t in texts)


def _contents(root: Any, where: str, seen: set[int], depth: int = 0) -> list[tuple[str, Content]]:
    """Every Content reachable from a service through its attributes (a few levels deep)."""
    if id(root) in seen or depth > 3 or isinstance(root, (str, bytes, int, float, type)):
        return []
    seen.add(id(root))
    found: list[tuple[str, Content]] = []
    values = root.items() if isinstance(root, dict) else getattr(root, "__dict__", {}).items()
    for name, value in values:
        if isinstance(value, Content):
            found.append((f"{where}.{name}", value))
        elif not str(name).startswith("__"):
            found += _contents(value, f"{where}.{name}", seen, depth + 1)
    return found


async def test_no_service_is_left_on_the_old_content(harness: Harness) -> None:
    await change_prices_answer(harness)
    new = harness.services["live_content"].current
    roots = {"services": harness.services, "data": harness.app.dp.workflow_data, "app": harness.app}
    found = [item for name, root in roots.items() for item in _contents(root, name, set())]
    assert len(found) > 20
    stale = [where for where, content in found if content is not new]
    assert stale == []


async def test_a_failed_prepare_or_persist_leaves_every_follower_as_it_was() -> None:
    old = load_content(example_content_path())
    new = old.model_copy(update={"faq": []})
    live = LiveContent(old)
    holder = SimpleNamespace(content=old)
    live.hold(holder)

    async def refuse(_: Content) -> Commit:
        raise RuntimeError("index could not be built")

    async def stale() -> int:
        raise StaleBase(7)

    with pytest.raises(StaleBase):
        await live.switch(new, stale)
    assert holder.content is old and live.current is old
    live.follow(refuse)
    with pytest.raises(RuntimeError):
        await live.switch(new)
    assert holder.content is old and live.current is old
