"""Shared steps for segment and broadcast tests: customers with purchases, and the owner's wizard."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.sandbox.driver import ChatDriver
from flows.purchases import NewPurchase
from storage.customers import Customer
from tests.conftest import OWNER_ID, Harness

_external = count(1)
SALE = "Spring sale"


async def customer(harness: Harness, tg_id: int, name: str = "Anna", language: str = "en") -> Customer:
    """A customer who pressed /start (and skipped the questions)."""
    chat = harness.chat(tg_id, first_name=name, language_code=language)
    await chat.send("/start")
    found = await harness.services["customers"].repo.by_tg_id(tg_id)
    assert found is not None
    return found


async def buy(
    harness: Harness, who: Customer, amount: str = "500", category: str | None = None, days_ago: float = 0
) -> None:
    """A purchase recorded as the API would, `days_ago` days before the test clock's now."""
    when: datetime = harness.clock.now() - timedelta(days=days_ago)
    await harness.services["purchases"].record(
        NewPurchase(
            who.id,
            Decimal(amount),
            "api",
            category=category,
            external_id=f"t{next(_external)}",
            purchased_at=when,
            notify=False,
        )
    )


def owner(harness: Harness) -> ChatDriver:
    return harness.chat(OWNER_ID, first_name="Owner")


async def wizard(
    harness: Harness,
    segment: str,
    text: str = "Spring sale: 20% off all week",
    buttons: str | None = None,
    coupon: str | None = None,
    limit: str | None = None,
    when: str | None = None,
) -> ChatDriver:
    """The owner goes through /broadcast and confirms; returns the owner's chat."""
    boss = owner(harness)
    await boss.send("/broadcast")
    await boss.send(segment)
    # Bold as Telegram sends it: an entity, not tags (what the owner typed as "<b>" is text to show).
    await boss.send(
        text, entities=[{"type": "bold", "offset": 13, "length": 7}] if text.startswith(SALE) else None
    )
    if buttons is None:
        await boss.click("No buttons")
    else:
        await boss.send(buttons)
    if coupon is not None or buttons is None:
        await boss.click(coupon or "No coupon")
    if coupon is not None:
        if limit is None:
            await boss.click("No limit")
        else:
            await boss.send(limit)
    if when is None:
        await boss.click("Now")
    else:
        await boss.click("At a date and time")
        await boss.send(when)
    replies = await boss.click("Confirm")
    assert "Broadcast #" in str(replies[-1]), [str(r) for r in replies]
    return boss


async def forge(harness: Harness, chat: ChatDriver, label: str, data: str) -> None:
    """Put a button with hand-made callback data into someone's chat (as a modified client could send)."""
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data)]])
    await harness.app.bot.send_message(chat.chat_id, "forged", reply_markup=markup)


def texts(chat: ChatDriver) -> list[str]:
    return [str(m) for m in chat.messages()]


def received(harness: Harness, tg_id: int, needle: str = SALE) -> int:
    """How many messages with `needle` this customer's chat holds."""
    return sum(needle in str(m) for m in harness.emu.messages(tg_id))


async def yoga_and_others(harness: Harness, others: int = 1) -> None:
    """Anna (1001) bought yoga; the others (1002, …) bought nothing."""
    anna = await customer(harness, 1001, "Anna")
    await buy(harness, anna, category="yoga")
    for n in range(others):
        await customer(harness, 1002 + n, f"Ivan{n}")
