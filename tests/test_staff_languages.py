"""The team reads the bot in their own language (issue 12): a cashier, a manager or an owner gets the sale
dialog, /help, the command menu and the owner's screens in English, Russian or Ukrainian — Telegram's
language by default, their /language choice once made — whatever languages the business offers customers.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.driver import ChatDriver
from flows.i18n import translator
from flows.sales import CARD_PREFIX
from handlers.start import _choices
from tests.conftest import OWNER_ID, Harness
from tests.loyalty_helpers import CASHIER_ID, card_code, invite_link


def chat_scope(tg_id: int) -> dict[str, Any]:
    return {"type": "chat", "chat_id": tg_id}


def described(commands: list[dict[str, Any]], name: str) -> str:
    return next(command["description"] for command in commands if command["command"] == name)


def texts(replies: list[Any]) -> str:
    return "\n".join(reply.plain_text or "" for reply in replies)


async def hired(harness: Harness, language: str, name: str = "Олена") -> ChatDriver:
    """A cashier whose Telegram speaks `language` opens the owner's one-time invite."""
    payload = await invite_link(harness, "cashier")
    member = harness.chat(CASHIER_ID, first_name=name, language_code=language)
    await member.send(f"/start {payload}")
    return member


async def test_a_russian_speaking_cashier_runs_a_sale_in_russian(harness: Harness) -> None:
    cashier = await hired(harness, "ru")
    welcome = cashier.messages()[-1].plain_text or ""
    assert "Добро пожаловать в команду" in welcome and "кассир" in welcome
    code = await card_code(harness.chat(1001, first_name="Anna"))

    sale = texts(await cashier.send(f"/sale {code} 1500"))
    assert "✅ Продажа проведена: Anna, 1\u00a0500,00\u00a0₴ (покупка №1)." in sale, sale
    assert "Начислено +" in sale and "Баланс:" in sale and "балл" in sale, sale
    assert "Sale recorded" not in sale and "points" not in sale

    # The scanned card opens the dialog: every question and button in Russian too.
    asked = texts(await cashier.send(f"/start {CARD_PREFIX}{code}"))
    assert "🧾 Новая покупка: Anna" in asked and "1 покупка" in asked, asked
    assert cashier.button_labels() == ["✖ Отмена"]
    category = texts(await cashier.send("200"))
    assert "Сумма: 200,00\u00a0₴. Категория?" in category, category
    assert {"Без категории", "✖ Отмена"} <= set(cashier.button_labels())
    summary = texts(await cashier.click("Без категории"))
    assert "Начислится +" in summary, summary
    assert "✅ Провести продажу" in cashier.button_labels()
    done = texts(await cashier.click("✅ Провести продажу"))
    assert "(покупка №2)" in done, done

    assert "Формат: /sale КАРТА СУММА" in texts(await cashier.send("/sale"))
    assert "не входит в вашу роль" in texts(await cashier.send("/stats"))


async def test_a_ukrainian_owner_reads_help_menu_and_screens_in_ukrainian(harness: Harness) -> None:
    owner = harness.chat(OWNER_ID, first_name="Оксана", language_code="uk")
    await owner.send("/start")  # the owner's menu is set in their language with their first /start
    menu = harness.emu.commands(chat_scope(OWNER_ID))
    assert described(menu, "stats") == "Бізнес у цифрах"
    assert described(menu, "sale") == "Провести продаж: КАРТКА СУМА"
    assert described(menu, "card") == "Моя картка лояльності"

    help_text = texts(await owner.send("/help"))
    assert "Для власника" in help_text and "бізнес у цифрах" in help_text and "На касі" in help_text
    assert "For owners" not in help_text

    team = texts(await owner.send("/staff"))
    assert "Ваша команда" in team and "Поки нікого" in team, team
    assert owner.button_labels() == ["➕ Запросити касира", "➕ Запросити менеджера"]
    invite = texts(await owner.click("➕ Запросити касира"))
    assert "Одноразове запрошення, роль касир (діє 48 годин" in invite, invite

    leads = texts(await owner.send("/leads"))
    assert "Заявки за останні 30 днів: 0" in leads and "чекають 0" in leads, leads
    questions = texts(await owner.send("/questions"))
    assert "Питання за останні 30 днів" in questions and "Навчати більше нічого" in questions, questions
    assert "Формат: /preview <ланцюжок>. Ланцюжки:" in texts(await owner.send("/preview"))
    wizard = texts(await owner.send("/broadcast"))
    assert "📣 Нова розсилка." in wizard and "👥 Усі" in owner.button_labels(), wizard
    assert "✖️ Скасувати" in owner.button_labels()
    assert "Розсилку скасовано" in texts(await owner.click("✖️ Скасувати"))
    sequences = texts(await owner.send("/sequences"))
    assert "увійшли" in sequences and "enrolled" not in sequences, sequences


async def test_an_english_owner_sees_english(harness: Harness) -> None:
    owner = harness.chat(OWNER_ID, first_name="Owner", language_code="en")
    await owner.send("/start")
    assert described(harness.emu.commands(chat_scope(OWNER_ID)), "stats") == "The business in numbers"
    help_text = texts(await owner.send("/help"))
    assert "For owners" in help_text and "the business in numbers" in help_text
    assert "Your team" in texts(await owner.send("/staff"))
    assert "Leads, last 30 days: 0" in texts(await owner.send("/leads"))


async def test_a_cashier_who_picks_ukrainian_reads_ukrainian_though_telegram_says_english(
    harness: Harness,
) -> None:
    cashier = await hired(harness, "en", name="Olena")
    await cashier.send("/language")
    assert {"English", "Русский", "Українська"} <= set(cashier.button_labels())
    await cashier.click("Українська")
    assert described(harness.emu.commands(chat_scope(CASHIER_ID)), "sale") == "Провести продаж: КАРТКА СУМА"
    code = await card_code(harness.chat(1001, first_name="Anna"))
    sale = texts(await cashier.send(f"/sale {code} 1500"))
    assert "✅ Продаж проведено: Anna" in sale and "Нараховано +" in sale, sale


def test_the_team_may_choose_any_language_the_bot_speaks_even_one_customers_are_not_offered(
    harness: Harness,
) -> None:
    content = harness.services["content"]
    english_only = content.model_copy(
        update={"business": content.business.model_copy(update={"languages": ("en",)})}
    )
    assert _choices(english_only, team=False) == ["en"]
    assert _choices(english_only, team=True) == ["en", "ru", "uk"]
    tr = translator("uk")
    assert tr.gettext(
        "Done: the bot now speaks to you in English (customer texts stay in the business's languages)."
    )
    assert "українською" in tr.gettext(
        "Done: the bot now speaks to you in English (customer texts stay in the business's languages)."
    )
