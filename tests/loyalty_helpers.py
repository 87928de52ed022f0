"""Helpers for the loyalty tests: hire staff through /staff, read a customer's card code, deliver the outbox."""

from __future__ import annotations

import re

from bot.sandbox.driver import ChatDriver
from storage.customers import Customer
from tests.conftest import OWNER_ID, Harness

CASHIER_ID = 5001
MANAGER_ID = 5002


def all_text(chat: ChatDriver) -> str:
    return "\n".join(str(m) for m in chat.messages())


def count(chat: ChatDriver, needle: str) -> int:
    return sum(needle in str(m) for m in chat.messages())


async def invite_link(harness: Harness, role: str = "cashier") -> str:
    owner = harness.chat(OWNER_ID, first_name="Owner")
    await owner.send("/staff")
    replies = await owner.click(f"Invite a {role}")
    match = re.search(r"start=(staff-[\w-]+)", str(replies[-1]))
    assert match, str(replies[-1])
    return match.group(1)


async def hire(
    harness: Harness, tg_id: int = CASHIER_ID, role: str = "cashier", name: str = "Olena"
) -> ChatDriver:
    """The owner invites a staff member with a one-time link and that person opens it."""
    payload = await invite_link(harness, role)
    member = harness.chat(tg_id, first_name=name)
    replies = await member.send(f"/start {payload}")
    assert "Welcome to the team" in str(replies[-1]), str(replies[-1])
    return member


async def card_code(chat: ChatDriver) -> str:
    """The code printed under the customer's QR (without the dash)."""
    replies = await chat.send("/card")
    match = re.search(r"(?:Code|Код): ([\w-]+)", str(replies[-1]))
    assert match, str(replies[-1])
    return match.group(1).replace("-", "")


async def deliver(harness: Harness, rounds: int = 4) -> None:
    """Run the periodic jobs a few times, a couple of seconds apart (one message per chat per second)."""
    for _ in range(rounds):
        await harness.advance(seconds=2)


async def customer(harness: Harness, tg_id: int = 1001) -> Customer:
    found = await harness.services["customers"].repo.by_tg_id(tg_id)
    assert found is not None
    return found


async def balance(harness: Harness, tg_id: int = 1001) -> int:
    return await harness.services["ledger"].balance((await customer(harness, tg_id)).id)


async def ask_to_pay_with_points(harness: Harness, chat: ChatDriver) -> ChatDriver:
    """A hired cashier sells for 1000 (the customer earns points), then opens a sale of 200 and asks the
    customer to pay 60 of it with points; returns the cashier's chat."""
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 1000")
    await cashier.send(f"/start card-{code}")
    await cashier.send("200")
    await cashier.click("No category")
    await cashier.click("Pay 60 with points")
    return cashier
