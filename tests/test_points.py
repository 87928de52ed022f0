"""Points end to end: spending needs the customer's yes, expiry takes the oldest first, the balance stays
above zero, and a day after a purchase the customer is asked how it was (a low score alerts managers)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.driver import ChatDriver
from flows.feedback import Rated
from flows.sales import DraftProblem
from tests.conftest import OWNER_ID, Harness
from tests.loyalty_helpers import MANAGER_ID, all_text, balance, card_code, count, customer, deliver, hire

MANAGERS_CHAT = -1001234


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


async def with_points(harness: Harness, chat: ChatDriver) -> tuple[ChatDriver, str]:
    """A customer with 80 points (a first purchase of 1000: 3% + the 50-point welcome gift)."""
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 1000")
    await deliver(harness, 1)
    assert await balance(harness) == 80
    return cashier, code


async def open_sale(cashier: ChatDriver, code: str, amount: str) -> None:
    await cashier.send(f"/start card-{code}")
    await cashier.send(amount)
    await cashier.click("No category")


async def test_spending_points_waits_for_the_customers_yes(harness: Harness, chat: ChatDriver) -> None:
    cashier, code = await with_points(harness, chat)
    await open_sale(cashier, code, "200")
    assert "Up to 60 points can pay" in str(cashier.messages()[-1])  # 30% of 200
    await cashier.click("Pay 60 with points")
    assert "Asked the customer to confirm" in str(cashier.messages()[-1])
    assert await harness.services["purchases_repo"].count() == 1  # nothing recorded before the yes
    await deliver(harness, 1)
    request = await chat.wait_for_text("suggests paying 60 points")
    replies = await chat.click("Yes, use 60 points", message=request)
    assert "Done: 60 points used" in str(replies[-1])
    purchases = await harness.services["purchases_repo"].of_customer((await customer(harness)).id)
    assert [p.points_spent for p in purchases] == [0, 60]
    assert await balance(harness) == 80 - 60 + 7  # 5% (Returning guest) of the 140 paid in money
    await deliver(harness, 2)
    assert "confirmed paying 60 points" in all_text(cashier)
    assert "Collect 140.00 UAH in money (200.00 UAH less 60.00 UAH in points)" in all_text(cashier)
    assert "Paid with points: 60 points" in all_text(chat)
    receipt = next(str(m) for m in chat.messages() if "Paid with points" in str(m))
    assert "Amount: 200.00 UAH" in receipt and "Paid in money: 140.00 UAH" in receipt


async def test_customer_saying_no_keeps_the_points(harness: Harness, chat: ChatDriver) -> None:
    cashier, code = await with_points(harness, chat)
    await open_sale(cashier, code, "200")
    await cashier.click("Pay 60 with points")
    await deliver(harness, 1)
    request = await chat.wait_for_text("suggests paying")
    replies = await chat.click("No, keep my points", message=request)
    assert "points stay on your card" in str(replies[-1])
    await deliver(harness, 1)
    assert "declined paying with points" in all_text(cashier)
    replies = await cashier.click("Record without points")
    assert "Sale recorded" in str(replies[-1])
    assert await balance(harness) == 80 + 10


async def test_nobody_else_can_answer_and_old_requests_expire(harness: Harness, chat: ChatDriver) -> None:
    cashier, code = await with_points(harness, chat)
    await open_sale(cashier, code, "200")
    await cashier.click("Pay 60 with points")
    await deliver(harness, 1)
    draft = await harness.services["sales"].current(cashier.user_id)
    mallory = harness.chat(6666, first_name="Mallory")
    await mallory.send("/start")
    forged = await harness.services["sales"].answer_spend(draft.id, await customer(harness, 6666), True)
    assert forged.problem is DraftProblem.NOT_YOURS
    await harness.advance(minutes=16)
    request = await chat.wait_for_text("suggests paying")
    await chat.click("Yes, use 60 points", message=request)
    assert chat.last_callback_answer is not None and "no longer active" in (chat.last_callback_answer.text or "")
    assert await balance(harness) == 80


async def test_points_expire_oldest_first(harness: Harness, chat: ChatDriver) -> None:
    cashier, code = await with_points(harness, chat)  # day 0: 30 earned + 50 welcome
    manager = await hire(harness, MANAGER_ID, "manager", "Petro")
    await harness.advance(days=200)
    await cashier.send(f"/sale {code} 1000")  # day 200: +50 (5%), balance 130
    replies = await manager.send(f"/points {code} -60 paid for a mat")  # takes the 30, then 30 of the 50
    assert "now has 70 points" in str(replies[-1])
    await harness.advance(days=164)
    await deliver(harness, 1)
    assert await balance(harness) == 70  # nothing expired yet
    await harness.advance(days=1, hours=1)  # day 365 and a bit: what is left of day 0 (20) expires
    await deliver(harness, 4)
    assert await balance(harness) == 50
    assert "20 points on your card have expired" in all_text(chat)
    await harness.advance(days=200)  # day 566: the day-200 points expire too
    await deliver(harness, 1)
    assert await balance(harness) == 0
    entries = await harness.services["ledger"].entries((await customer(harness)).id)
    assert sum(e.delta for e in entries) == 0
    assert [e.kind for e in entries].count("expiry") == 2


async def test_the_balance_never_goes_below_zero(harness: Harness, chat: ChatDriver) -> None:
    _, code = await with_points(harness, chat)
    manager = await hire(harness, MANAGER_ID, "manager", "Petro")
    replies = await manager.send(f"/points {code} -81 mistake")
    assert "cannot go below zero" in str(replies[-1])
    assert await balance(harness) == 80
    cashier_only = harness.chat(5001)
    replies = await cashier_only.send(f"/points {code} +10 gift")  # cashiers may not correct points
    assert "/points is not part of your role" in str(replies[-1])


@pytest.mark.parametrize("settings_overrides", [{"manager_chat_id": MANAGERS_CHAT}])
async def test_a_day_later_a_low_score_opens_a_lead_for_the_managers(harness: Harness, chat: ChatDriver) -> None:
    harness.emu.group(MANAGERS_CHAT, "Managers")
    managers = harness.chat(MANAGER_ID, chat_id=MANAGERS_CHAT)
    await chat.send("/start")  # the satisfaction question is for customers who agreed to hear from us
    await with_points(harness, chat)
    await harness.advance(hours=23)
    assert "How was your visit" not in all_text(chat)
    await harness.advance(hours=1)
    await deliver(harness, 1)
    question = await chat.wait_for_text("How was your visit")
    replies = await chat.click("2", message=question)
    assert "a manager will get in touch" in str(replies[-1])
    await deliver(harness, 1)
    card = await managers.wait_for_text("score 2/5 for purchase #1")
    assert "Lead #1" in str(card) and "Anna" in str(card) and "card " in str(card)
    purchase_id = (await harness.services["purchases_repo"].of_customer((await customer(harness)).id))[0].id
    again = await harness.services["feedback"].rate(await customer(harness), purchase_id, 5)
    assert again is Rated.ALREADY
    await deliver(harness, 2)
    assert count(managers, "score 2/5") == 1


async def test_without_a_managers_chat_a_low_score_alerts_the_owners(harness: Harness, chat: ChatDriver) -> None:
    owner = harness.chat(OWNER_ID, first_name="Olga")
    await owner.send("/help")  # the owner has talked to the bot, so it may write to them
    await chat.send("/start")  # the satisfaction question is for customers who agreed to hear from us
    await with_points(harness, chat)
    await harness.advance(hours=24)
    await deliver(harness, 1)
    question = await chat.wait_for_text("How was your visit")
    await chat.click("1", message=question)
    await deliver(harness, 2)
    alert = await owner.wait_for_text("Low score 1/5")
    assert "Anna" in str(alert) and "Card " in str(alert)


async def test_birthday_brings_points_and_a_coupon_once_a_year(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await chat.send("Skip")
    await chat.send("05.01")  # today (the fake clock starts on 5 January)
    await deliver(harness, 2)
    assert await balance(harness) == 100
    assert "Happy birthday! Here are +100 points" in all_text(chat)
    coupons = await harness.services["coupons"].valid_for((await customer(harness)).id)
    assert [c.campaign for c in coupons] == ["birthday-dessert"]
    await harness.advance(days=1)
    await harness.services["loyalty"].birthdays(harness.clock.now().date().replace(day=5))
    assert await balance(harness) == 100  # once per year
