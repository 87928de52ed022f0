"""Owners and staff get the console as a Mini App button in their chat when the console is on https."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import OWNER_ID, Harness
from tests.loyalty_helpers import hire

CASHIER_ID = 501


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"console_url": "https://console.example.com", "console_host": "127.0.0.1"}


async def test_owner_and_staff_get_the_console_button_and_lose_it_when_revoked(harness: Harness) -> None:
    await harness.chat(OWNER_ID).send("/start")
    assert await harness.app.start_console() == "https://console.example.com"
    await harness.services["menus"].announce()
    button = harness.emu.menu_buttons[OWNER_ID]
    assert button["type"] == "web_app" and button["web_app"]["url"] == "https://console.example.com/"
    await hire(harness, CASHIER_ID, "cashier")
    assert harness.emu.menu_buttons[CASHIER_ID]["type"] == "web_app"
    assert 1001 not in harness.emu.menu_buttons  # customers keep Telegram's own button
    await harness.services["staff"].revoke(CASHIER_ID, by=OWNER_ID)
    assert harness.emu.menu_buttons[CASHIER_ID] == {"type": "default"}


async def test_the_login_link_uses_the_public_address(harness: Harness) -> None:
    await harness.app.start_console()
    replies = await harness.chat(OWNER_ID).send("/console")
    assert "https://console.example.com/login/" in str(replies[-1])
