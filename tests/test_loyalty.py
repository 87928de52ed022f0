"""Loyalty end to end: the card, the cashier's QR flow and one-line sale, receipts, tiers and gifts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.sandbox.driver import ChatDriver
from handlers.loyalty import card_qr_png
from tests.conftest import OWNER_ID, Harness
from tests.loyalty_helpers import CASHIER_ID, all_text, balance, card_code, count, customer, deliver, hire


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    # Many sales within one test second would be throttled per chat; pacing is tested elsewhere.
    return {"rate_limits": False}


async def test_card_shows_a_qr_deep_link_and_a_short_code(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    code = await card_code(chat)
    card = chat.messages()[-1]
    assert card.kind == "photo"
    assert re.fullmatch(r"[34679ACDEFGHJKMNPQRTWXY]{6}", code)
    assert card.file_bytes == card_qr_png(f"https://t.me/nurture_sandbox_bot?start=card-{code}")
    assert "New guest" in str(card) and "0 points" in str(card)
    assert "2 more purchases to" in str(card)
    assert code == await card_code(chat)  # the same card every time


async def test_cashier_scans_the_card_and_records_a_sale(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    code = await card_code(chat)
    cashier = await hire(harness)
    replies = await cashier.send(f"/start card-{code}")  # what the phone camera opens
    assert "New purchase for <b>Anna</b>" in replies[-1].text
    replies = await cashier.send("1 500,50")
    assert "Category?" in str(replies[-1])
    replies = await cashier.click("Yoga class")
    assert "1,500.50 UAH" in str(replies[-1])
    assert "Earns +45 points" in str(replies[-1])  # 3% at New guest
    replies = await cashier.click("Record sale")
    assert "Sale recorded for" in str(replies[-1]) and "purchase #1" in str(replies[-1])
    [purchase] = await harness.services["purchases_repo"].of_customer((await customer(harness)).id)
    assert (str(purchase.amount), purchase.category, purchase.staff_tg_id) == ("1500.50", "yoga", CASHIER_ID)
    await deliver(harness)
    receipt = await chat.wait_for_text("Thank you for your purchase")
    assert "+45 points" in str(receipt)
    assert "welcome gift for your first purchase: +50 points" in str(receipt)
    assert "Balance: 95 points" in str(receipt)
    assert "1 more purchase to" in str(receipt)
    assert await balance(harness) == 95
    assert "sale" in await harness.services["staff"].repo.audit_actions(CASHIER_ID)


async def test_the_sale_dialog_refuses_bad_amounts_clearly(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/start card-{code}")
    for typed, reason in (
        ("0", "cannot be zero"),
        ("-100", "cannot be negative"),
        ("two hundred", "not an amount"),
        ("1500.555", "two digits"),
        ("2 000 000", "more than the maximum"),
    ):
        replies = await cashier.send(typed)
        assert reason in str(replies[-1]), typed
    assert await harness.services["purchases_repo"].count() == 0
    replies = await cashier.send("1500.5")
    assert "Category?" in str(replies[-1])


async def test_one_line_sale_records_at_once_and_sends_the_receipt(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    cashier = await hire(harness)
    replies = await cashier.send(f"/sale {code} 1 200 coffee")
    assert "Sale recorded for" in str(replies[-1])
    [purchase] = await harness.services["purchases_repo"].of_customer((await customer(harness)).id)
    assert (purchase.amount, purchase.category) == (1200, "coffee")
    await deliver(harness)
    assert "Thank you for your purchase" in all_text(chat)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("/sale", "Usage"),
        ("/sale ZZZZZZ 100", "No customer has card"),
        ("/sale {code} 0", "cannot be zero"),
        ("/sale {code} 100 bananas", "Unknown category"),
        ("/sale {code} 100 yoga 4444-4444", "No coupon with code"),
    ],
)
async def test_one_line_sale_mistakes_get_a_specific_answer(
    harness: Harness, chat: ChatDriver, line: str, reason: str
) -> None:
    code = await card_code(chat)
    cashier = await hire(harness)
    replies = await cashier.send(line.format(code=code))
    assert reason in str(replies[-1])
    assert await harness.services["purchases_repo"].count() == 0


async def test_customers_are_refused_staff_commands(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    for command in (f"/sale {code} 100", "/redeem ABCD-EFGH", "/staff", f"/points {code} +100 gift"):
        replies = await chat.send(command)
        assert "only for the team" in str(replies[-1]), command
    other = harness.chat(1002, first_name="Ivan")
    replies = await other.send(f"/start card-{code}")  # a customer scanning someone's card
    assert "Welcome to" in all_text(other) and "New purchase" not in all_text(other)
    assert await harness.services["purchases_repo"].count() == 0
    assert replies


async def test_staff_invite_works_once_and_revoking_takes_access_away(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    cashier = await hire(harness)
    payload = re.search(r"start=(staff-[\w-]+)", all_text(harness.chat(OWNER_ID))).group(1)  # type: ignore[union-attr]
    stranger = harness.chat(6666, first_name="Mallory")
    replies = await stranger.send(f"/start {payload}")
    assert "not valid" in str(replies[-1])
    owner = harness.chat(OWNER_ID)
    replies = await owner.send("/staff")
    assert "Olena — cashier" in str(replies[-1])
    await owner.click("Revoke Olena")
    assert "Nobody yet" in str(owner.messages()[-1])
    replies = await cashier.send(f"/sale {code} 100")
    assert "only for the team" in str(replies[-1])
    actions = await harness.services["staff"].repo.audit_actions()
    assert actions == ["staff_invite", "staff_joined", "staff_revoked"]


async def test_fourth_purchase_makes_a_regular_and_says_so(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    cashier = await hire(harness)
    for amount in ("100", "100", "100"):
        await cashier.send(f"/sale {code} {amount}")
        await deliver(harness, 1)
    assert count(chat, "new level") == 1  # the 2nd purchase: Returning guest
    assert "1 more purchase to <b>Regular</b>" in chat.messages()[-1].text
    replies = await cashier.send(f"/sale {code} 1000")
    assert "New tier: Regular" in str(replies[-1])
    assert "+70 points" in str(replies[-1])  # the 4th purchase earns at the Regular rate, 7%
    await deliver(harness, 1)
    receipt = chat.messages()[-1]
    assert "Your new level is <b>Regular</b>" in receipt.text
    assert "free coffee refill" in receipt.text
    # Not "You are at our top level: Regular" and then "Congratulations! Your new level is Regular": one news.
    assert "top level" not in receipt.text and receipt.text.count("Regular") == 1


async def test_second_purchase_brings_the_gift_coupon(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 300")
    await deliver(harness, 1)
    assert "A gift for your purchase" not in all_text(chat)
    replies = await cashier.send(f"/sale {code} 300")
    assert "Gift coupon issued: A free cookie" in str(replies[-1])
    await deliver(harness, 1)
    receipt = str(chat.messages()[-1])
    assert "A gift for your purchase #2: A free cookie with your coffee" in receipt
    coupon = re.search(r"code (\w{4}-\w{4})", receipt).group(1)  # type: ignore[union-attr]
    replies = await chat.send("/coupons")
    assert coupon in str(replies[-1])
    replies = await cashier.send(f"/redeem {coupon}")
    assert "redeemed: <b>A free cookie with your coffee</b> for Anna" in replies[-1].text
    replies = await chat.send("/coupons")
    assert "no coupons" in str(replies[-1])


async def test_balance_shows_points_tier_and_history(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    replies = await chat.send("/balance")
    assert "Your balance: 0 points" in str(replies[-1]) and "No points yet" in str(replies[-1])
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 1000")
    replies = await chat.send("/balance")
    text = "\n".join(str(r) for r in replies)
    assert "Your balance: 80 points" in text
    assert "+30 points · Purchase" in text and "+50 points · Welcome gift" in text
    assert "3% of every purchase" in text


async def test_russian_customer_gets_a_russian_receipt(harness: Harness) -> None:
    ivan = harness.chat(2002, first_name="Иван", language_code="ru")
    code = await card_code(ivan)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 1 500")
    await deliver(harness, 1)
    receipt = str(ivan.messages()[-1])
    assert "Спасибо за покупку" in receipt
    assert "+45 баллов" in receipt and "Баланс: 95 баллов" in receipt
    assert "ещё 1 покупка" in receipt
    assert "1\xa0500,00\xa0₴" in receipt


async def test_a_purchase_feeds_the_purchase_event_for_sequences(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 250 coffee")
    kinds = await harness.services["events"].kinds_for((await customer(harness)).id)
    assert "purchase" in kinds


async def test_a_cashier_typing_an_owners_command_is_told_it_is_not_their_role(harness: Harness) -> None:
    cashier = await hire(harness)
    for command in ("/stats", "/staff", "/leads"):
        replies = await cashier.send(command)
        assert f"{command} is not part of your role" in str(replies[-1]), command
