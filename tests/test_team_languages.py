"""The team reads the bot in its own language (issue 12): texts from the catalogue (flows/i18n.py), end to end.

An owner who reads Russian gets /stats and a segment mistake in Russian; a Ukrainian business's managers get the
lead card in Ukrainian (the managers' chat is read by the whole team: the business's language), and its
owner's CSV import report is Ukrainian too. Each through the real bot and the emulator (or the real command).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.sandbox.driver import ChatDriver
from flows.content import example_content_path
from tests.conftest import OWNER_ID, Harness
from tests.handoff_helpers import FORUM, MANAGERS, group_messages, manager_chat, settle
from tests.loyalty_helpers import card_code


def ukrainian_business(folder: Path) -> Path:
    """The example content file, with Ukrainian as the business's own language."""
    path = folder / "content-uk.yaml"
    text = example_content_path().read_text(encoding="utf-8")
    path.write_text(text.replace("default_language: en", "default_language: uk", 1), encoding="utf-8")
    return path


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    """Every test here runs for a Ukrainian business with a managers' forum."""
    return {"content_file": ukrainian_business(tmp_path), **FORUM}


async def owner_in(harness: Harness, language: str) -> ChatDriver:
    """The owner, having chosen `language` (as /language does)."""
    owner = harness.chat(OWNER_ID, first_name="Owner", language_code=language)
    await owner.send("/help")
    me = await harness.services["customers"].repo.by_tg_id(OWNER_ID)
    await harness.services["customers"].repo.set_chosen_language(me.id, language)
    return owner


async def test_a_russian_owner_reads_stats_in_russian(harness: Harness) -> None:
    """In a Ukrainian business too: an owner's own language comes first."""
    anna = harness.chat(1001, first_name="Anna")
    await anna.send("/start")
    owner = await owner_in(harness, "ru")
    await owner.send(f"/sale {await card_code(anna)} 1500")
    replies = await owner.send("/stats")
    text = "\n".join(m.plain_text or "" for m in replies)
    for expected in (
        "Статистика, последние 30 дней",
        "Клиенты: ",
        " всего, ",
        "Выручка: ",
        "Средний чек",
        "Клиентская база (все, кто когда-либо покупал)",
        "Правило четырёх",
        "Заявки и вопросы",
        "Вопросы без ответа: 0 (см. /questions)",
    ):
        assert expected in text, expected
    for english in ("Revenue", "Average check", "Customer base", "per buyer", "last 30 days"):
        assert english not in text, english
    captions = [m.caption or "" for m in replies if m.caption]
    assert len(captions) == 2 and captions[0].startswith("Выручка по месяцам: оранжевая часть"), captions
    assert captions[1].startswith("Каждая строка — клиенты"), captions


async def test_a_russian_owner_is_told_a_segment_mistake_in_russian(harness: Harness) -> None:
    owner = await owner_in(harness, "ru")
    [reply] = await owner.send("/segment tgs:vip purchases>=2")
    text = reply.plain_text or ""
    assert "❌ Слово 1 tgs:vip: неизвестный фильтр `tgs` — может быть, tags?" in text, text
    assert "Фильтры (все сразу; ! — отрицание; через запятую — любой из):" in text
    assert "tag:vip · lang:ru,uk" in text  # the filters themselves are code, the same in every language
    assert "unknown filter" not in text and "did you mean" not in text


async def test_a_ukrainian_business_gets_lead_cards_in_ukrainian(harness: Harness) -> None:
    olga, _ = await manager_chat(harness)
    anna = harness.chat(1001, first_name="Anna", username="anna_k", language_code="en")
    await anna.send("/start")
    await anna.send("/manager")
    await settle(harness)
    [card] = [m for m in group_messages(harness) if "Заявка №1" in (m.plain_text or "")]
    text = card.plain_text or ""
    for expected in (
        "🔔 Заявка №1 · Anna @anna_k",
        "Причина: попросив(-ла) зв'язатися з менеджером",
        "джерело: —",
        "⭐ рівень: ",
        "🏷 теги: —",
        "⏳ Чекає — її ще ніхто не взяв",
    ):
        assert expected in text, (expected, text)
    assert "Lead #" not in text and "Why:" not in text and "Waiting" not in text
    assert [label for row in card.buttons for label, _ in row] == ["🙋 Взяти", "✅ Успіх", "✖️ Невдача"]
    await olga.click("🙋 Взяти", message=card)
    await settle(harness)
    [taken] = [m for m in harness.emu.messages(MANAGERS) if m.message_id == card.message_id]
    assert "🙋 Взяв(-ла) Olga" in (taken.plain_text or ""), taken.plain_text


async def test_an_undeliverable_reply_is_reported_in_the_business_language(harness: Harness) -> None:
    """The reason the sender fills in is written in the notice's language too."""
    olga, _ = await manager_chat(harness)
    anna = harness.chat(1001, first_name="Anna")
    await anna.send("/manager")
    await settle(harness)
    [topic] = harness.emu.topics(MANAGERS)
    harness.emu.block(1001)
    await olga.send("Anna, are you still there?", thread_id=topic.message_thread_id)
    await settle(harness)
    notice = group_messages(harness, thread_id=topic.message_thread_id)[-1]
    assert notice.plain_text == "⚠️ Не доставлено клієнтові Anna: клієнт заблокував бота."


def test_a_ukrainian_owners_import_report_is_in_ukrainian(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:test-token")
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.db"))
    monkeypatch.setenv("TIMEZONE", "Europe/Kyiv")
    monkeypatch.setenv("CONTENT_FILE", str(ukrainian_business(tmp_path)))
    monkeypatch.chdir(tmp_path)  # no stray .env
    rows = tmp_path / "c.csv"
    rows.write_text(
        "telegram_id,first_name,phone,points\n²,Olga,,\n222,Taras,12,\n333,Ira,,+5\n", encoding="utf-8"
    )
    assert main(["import", "customers", str(rows)]) == 1
    err = capsys.readouterr().err
    for expected in (
        "c.csv:2: telegram_id: «²» — не цифра; наберіть її цифрами 0–9",
        "c.csv:3: phone: не номер телефону (7–15 цифр)",
        "c.csv:4: points: Потрібно вказати кількість балів цілим числом (лише цифри), наприклад 1.",
        "Відхилено 3 з 3 рядків: нічого не імпортовано.",
    ):
        assert expected in err, (expected, err)
    assert "is not a digit" not in err and "rejected" not in err


async def test_a_russian_owner_is_told_a_points_mistake_in_russian(harness: Harness) -> None:
    anna = harness.chat(1001, first_name="Anna")
    await anna.send("/start")
    owner = await owner_in(harness, "ru")
    [reply] = await owner.send(f"/points {await card_code(anna)} +99999999999 gift")
    assert "Не больше 10 000 000 баллов за раз." in (reply.plain_text or "").replace("\u00a0", " ")
    [reply] = await owner.send(f"/points {await card_code(anna)} +² gift")
    assert "«²» — не цифра; наберите её цифрами 0–9" in (reply.plain_text or "")
