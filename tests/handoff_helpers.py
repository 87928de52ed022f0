"""Shared steps for the handoff tests: a manager chat, managers, and letting the outbox catch up."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import SentMessage
from storage.customers import Customer
from storage.leads import Lead
from tests.conftest import OWNER_ID, Harness

MANAGERS = -1001234567890
OLGA, PETRO, CASHIER = 501, 502, 503
FORUM = {"manager_chat_id": MANAGERS}


async def add_staff(harness: Harness, tg_id: int, role: str = "manager") -> None:
    """Join the team the way people do: an owner's invite, accepted."""
    staff = harness.services["staff"]
    link = await staff.invite(OWNER_ID, role, "nurture_sandbox_bot")
    assert await staff.accept(link.split("start=staff-", 1)[1], tg_id, f"staff {tg_id}") == role


async def manager_chat(harness: Harness, *, forum: bool = True) -> tuple[ChatDriver, ChatDriver]:
    """The managers' group with two managers in it (Olga and Petro)."""
    harness.emu.group(MANAGERS, "Sunrise managers", forum=forum)
    await add_staff(harness, OLGA)
    await add_staff(harness, PETRO)
    olga = harness.chat(OLGA, first_name="Olga", chat_id=MANAGERS)
    petro = harness.chat(PETRO, first_name="Petro", chat_id=MANAGERS)
    return olga, petro


async def settle(harness: Harness, rounds: int = 8) -> None:
    """Run the jobs until nothing is due in the outbox (a group gets one message per 3 seconds)."""
    outbox = harness.services["outbox"]
    for _ in range(rounds):
        await harness.advance(seconds=3)
        if not await outbox.due(harness.clock.now() + timedelta(seconds=3), 1):
            return


async def customer_of(harness: Harness, tg_id: int = 1001) -> Customer:
    customer = await harness.services["customers"].repo.by_tg_id(tg_id)
    assert customer is not None
    return customer


async def leads_of(harness: Harness, tg_id: int = 1001) -> list[Lead]:
    customer = await customer_of(harness, tg_id)
    return await harness.services["handoff"].leads.for_customer(customer.id)


def group_messages(harness: Harness, thread_id: int | None = None) -> list[SentMessage]:
    return harness.emu.messages(MANAGERS, thread_id=thread_id)


def card(harness: Harness) -> SentMessage:
    """The latest lead card in the manager chat."""
    cards = [
        m for m in group_messages(harness) if "Lead #" in (m.plain_text or "") and "Why:" in (m.plain_text or "")
    ]
    assert cards, f"no lead card; group has {[m.plain_text for m in group_messages(harness)]}"
    return cards[-1]


def texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.plain_text or m.caption or "" for m in messages)
