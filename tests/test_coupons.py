"""Coupons: redemption is atomic (two cashiers, one code: exactly one wins), the stock is never exceeded
however many customers claim at once, and a refused code says why.

The race tests run the bot with aiogram's `handle_as_tasks=True`, so the updates really are handled at
the same time, as in production; the flow-level tests fire many coroutines at the database at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, create_app
from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import Emulator
from flows.clock import FakeClock
from flows.coupons import IssueOutcome, RedeemOutcome
from flows.purchases import NewPurchase
from tests.conftest import OWNER_ID, Harness, make_settings
from tests.loyalty_helpers import CASHIER_ID, all_text, card_code, customer, deliver, hire


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


class ConcurrentHarness(Harness):
    """Handles updates as tasks (as `nurture-bot run` does): actions return before the bot is done."""

    async def start(self) -> App:
        self.app = await create_app(self.settings, clock=self.clock)
        self._polling = asyncio.create_task(
            self.app.run_polling(handle_as_tasks=True, handle_signals=False, scheduler=False)
        )
        return self.app


@pytest.fixture
async def concurrent(emu: Emulator, tmp_path: Path) -> AsyncIterator[ConcurrentHarness]:
    h = ConcurrentHarness(emu, make_settings(tmp_path, emu.api_base), FakeClock())
    await h.start()
    try:
        yield h
    finally:
        with contextlib.suppress(Exception):
            await h.stop()


async def gift_coupon(harness: Harness, chat: ChatDriver, cashier: ChatDriver) -> str:
    """Two purchases: the second brings the cookie coupon; returns its code."""
    code = await card_code(chat)
    for _ in range(2):
        await cashier.send(f"/sale {code} 100")
    coupons = await harness.services["coupons"].valid_for((await customer(harness)).id)
    assert len(coupons) == 1
    return coupons[0].code


async def settled(chat: ChatDriver, *needles: str) -> str:
    """Wait until the bot's answer containing one of `needles` arrived here; return it."""
    pattern = "|".join(re.escape(n) for n in needles)
    for _ in range(200):
        found = [str(m) for m in chat.messages() if re.search(pattern, str(m))]
        if found:
            return found[-1]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no answer with {needles} in chat {chat.chat_id}: {all_text(chat)[-300:]}")


async def test_two_cashiers_redeeming_one_code_at_once_exactly_one_wins(concurrent: ConcurrentHarness) -> None:
    # Set-up through the flows (actions here return before the bot is done); the race through Telegram.
    chat = concurrent.chat()
    await chat.send("/help")
    await settled(chat, "/profile")
    staff = concurrent.services["staff"]
    for tg_id, name in ((CASHIER_ID, "Olena"), (CASHIER_ID + 1, "Dmytro")):
        link = await staff.invite(OWNER_ID, "cashier", "bot")
        assert await staff.accept(link.split("start=staff-")[1], tg_id, name) == "cashier"
    first, second = concurrent.chat(CASHIER_ID), concurrent.chat(CASHIER_ID + 1)
    anna = await customer(concurrent)
    for _ in range(2):
        await concurrent.services["purchases"].record(NewPurchase(anna.id, Decimal(100), "telegram"))
    [gift] = await concurrent.services["coupons"].valid_for(anna.id)
    coupon = gift.code
    await asyncio.gather(first.send(f"/redeem {coupon}"), second.send(f"/redeem {coupon}"))
    answers = [await settled(c, "redeemed:", "already used") for c in (first, second)]
    assert sum("redeemed:" in a for a in answers) == 1
    assert sum("already used" in a for a in answers) == 1
    used = await concurrent.services["coupons"].repo.by_code(coupon)
    assert used is not None and used.redeemed_by in (CASHIER_ID, CASHIER_ID + 1)


@pytest.mark.parametrize("customers", [8])
async def test_claims_never_exceed_the_stock(concurrent: ConcurrentHarness, customers: int) -> None:
    chats = [concurrent.chat(3000 + i, first_name=f"C{i}") for i in range(customers)]
    await asyncio.gather(*(c.send("/start cp-spring10") for c in chats))
    answers = [await settled(c, "Your coupon", "already been claimed") for c in chats]
    assert sum("Your coupon" in a for a in answers) == 5  # stock: 5
    assert sum("already been claimed" in a for a in answers) == customers - 5
    assert await concurrent.services["coupons"].repo.count("spring10") == 5
    assert await concurrent.services["coupons"].repo.issued("spring10") == 5


async def test_many_redemptions_at_once_in_the_flow_one_wins(harness: Harness, chat: ChatDriver) -> None:
    cashier = await hire(harness)
    coupon = await gift_coupon(harness, chat, cashier)
    coupons = harness.services["coupons"]
    results = await asyncio.gather(*(coupons.redeem(coupon, CASHIER_ID + i) for i in range(20)))
    outcomes = [r.outcome for r in results]
    assert outcomes.count(RedeemOutcome.REDEEMED) == 1
    assert outcomes.count(RedeemOutcome.USED) == 19


async def test_many_claims_at_once_in_the_flow_respect_stock_and_the_per_customer_limit(harness: Harness) -> None:
    people = [harness.chat(3000 + i, first_name=f"C{i}") for i in range(4)]
    for person in people:
        await person.send("/help")
    customers = [await customer(harness, 3000 + i) for i in range(4)]
    coupons = harness.services["coupons"]
    results = await asyncio.gather(*(coupons.claim(c, "spring10") for c in customers for _ in range(3)))
    outcomes = [r.outcome for r in results]
    assert outcomes.count(IssueOutcome.ISSUED) == 4  # one each (per_customer: 1), within the stock of 5
    assert outcomes.count(IssueOutcome.LIMIT) == 8


async def test_a_refused_code_says_why(harness: Harness, chat: ChatDriver) -> None:
    cashier = await hire(harness)
    coupon = await gift_coupon(harness, chat, cashier)
    boris = harness.chat(1002, first_name="Boris")
    boris_card = await card_code(boris)
    replies = await cashier.send(f"/redeem {coupon} {boris_card}")
    assert "belongs to another customer" in str(replies[-1])
    replies = await cashier.send("/redeem 4444-4444")
    assert "No coupon with code" in str(replies[-1])
    replies = await cashier.send(f"/redeem {coupon.lower()}")  # typed in lower case: still found
    assert "redeemed" in str(replies[-1])
    replies = await cashier.send(f"/redeem {coupon}")
    assert "already used on" in str(replies[-1])
    await deliver(harness, 3)
    assert "Coupon used: A free cookie" in all_text(chat)
    await harness.advance(days=31)
    await cashier.send(f"/sale {await card_code(chat)} 100")  # the 3rd purchase: no gift
    older = await gift_coupon_expired(harness)
    replies = await cashier.send(f"/redeem {older}")
    assert "expired on" in str(replies[-1])


async def gift_coupon_expired(harness: Harness) -> str:
    """Issue a cookie coupon to Boris and let it run out (valid 30 days)."""
    coupons = harness.services["coupons"]
    boris = await customer(harness, 1002)
    async with harness.services["db"].transaction() as tx:
        issued = await coupons.issue_in(tx, "cookie", boris, "test", "x", harness.clock.now(), notify=False)
    assert issued.coupon is not None
    harness.clock.advance(timedelta(days=32))
    return issued.coupon.code


async def test_a_coupon_with_the_sale_is_used_and_shown_on_the_receipt(harness: Harness, chat: ChatDriver) -> None:
    cashier = await hire(harness)
    coupon = await gift_coupon(harness, chat, cashier)
    code = await card_code(chat)
    replies = await cashier.send(f"/sale {code} 300 coffee {coupon}")
    assert "Coupon" in str(replies[-1]) and "redeemed" in str(replies[-1])
    await deliver(harness, 3)
    assert "Coupon used: A free cookie with your coffee" in all_text(chat)
    replies = await cashier.send(f"/sale {code} 300 coffee {coupon}")
    assert "already used" in str(replies[-1])
    assert len(await harness.services["purchases_repo"].of_customer((await customer(harness)).id)) == 3
