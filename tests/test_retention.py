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
