"""Bounded storage: repeated presses count once, a broadcast's content is stored once, old rows are pruned."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.driver import ChatDriver
from tests.broadcast_helpers import customer, owner, wizard
from tests.conftest import OWNER_ID, Harness
from tests.loyalty_helpers import deliver

WELCOME_1 = "Here is how it works"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"contact_budget_per_day": 20, "contact_budget_per_week": 50, "quiet_hours": ""}


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


async def test_pressing_a_step_button_twice_counts_one_click(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await harness.advance(minutes=1)
    first = next(m for m in chat.messages() if WELCOME_1 in m.plain_text)
    await chat.click("Tell me more", message=first)
    await harness.advance(seconds=1)
    await chat.click("Tell me more", message=first)
    await harness.tick()
    report = "\n".join(m.plain_text for m in await harness.chat(OWNER_ID).send("/sequences"))
    assert "1: 1 sent/1 clicks" in report


async def test_pressing_a_broadcast_button_twice_counts_one_click_and_still_acts(harness: Harness) -> None:
    await customer(harness, 1001)
    await wizard(harness, "everyone", buttons="I want it | interested")
    await deliver(harness)
    anna = harness.chat(1001)
    assert await anna.click("I want it")
    again = await anna.click("I want it")
    assert again  # the second press is still answered
    report = str((await owner(harness).send("/broadcasts"))[-1])
    assert "Clicks 1 (1 people)" in report


async def test_a_broadcast_stores_its_message_once_and_every_recipient_gets_it_whole(harness: Harness) -> None:
    for n in range(3):
        await customer(harness, 1001 + n, f"C{n}")
    long_text = "Весняний розпродаж: " + "знижки на все " * 100  # 1,400 Cyrillic characters
    await wizard(harness, "everyone", text=long_text, buttons="I want it | interested")
    db = harness.services["db"]
    sizes = await db.fetch_all("SELECT length(payload) FROM outbox WHERE kind = 'broadcast'")
    assert len(sizes) == 4 and all(row[0] <= 2 for row in sizes)  # three customers and the owner: '{}' each
    await deliver(harness)
    for n in range(3):
        [got] = [m for m in harness.emu.messages(1001 + n) if "Весняний" in str(m)]
        assert got.plain_text.strip() == long_text.strip()
        assert [label for row in got.buttons for label, _ in row] == ["I want it"]


async def test_rows_queued_with_the_whole_message_before_the_upgrade_still_go_out(harness: Harness) -> None:
    await customer(harness, 1001)
    await wizard(harness, "everyone", text="Old-style sale")
    # Back to the shape rows had before 0010: the whole message in every row, none on the broadcast.
    async with harness.services["db"].transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET payload = (SELECT payload FROM broadcasts b WHERE b.id = outbox.broadcast_id)"
            " WHERE kind = 'broadcast'"
        )
        changed = await tx.execute("UPDATE broadcasts SET payload = NULL WHERE payload IS NOT NULL")
    assert changed == 1
    await deliver(harness)
    assert sum("Old-style sale" in str(m) for m in harness.emu.messages(1001)) == 1
