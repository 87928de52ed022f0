"""Referrals end to end: rewards after the friend's first purchase only; own links, old customers and
loops are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.sandbox.driver import ChatDriver
from tests.conftest import Harness
from tests.loyalty_helpers import all_text, balance, card_code, customer, deliver, hire


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


async def invitation(chat: ChatDriver) -> str:
    replies = await chat.send("/invite")
    match = re.search(r"start=(ref-\w+)", str(replies[-1]))
    assert match, str(replies[-1])
    return match.group(1)


async def test_both_are_rewarded_after_the_friends_first_purchase_only(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    link = await invitation(chat)
    boris = harness.chat(1002, first_name="Boris")
    replies = await boris.send(f"/start {link}")
    assert "Anna invited you" in str(replies[0]) and "Welcome to" in all_text(boris)
    assert (await customer(harness, 1002)).referrer_id == (await customer(harness)).id
    await deliver(harness)
    assert await balance(harness) == 0 and await balance(harness, 1002) == 0  # nothing on sign-up
    cashier = await hire(harness)
    code = await card_code(boris)
    await cashier.send(f"/sale {code} 500")
    await deliver(harness, 2)
    assert await balance(harness) == 100
    assert await balance(harness, 1002) == 15 + 50 + 50  # 3% + welcome + invitation
    assert "Boris made their first purchase" in all_text(chat)
    assert "+50 points for joining us by invitation" in all_text(boris)
    await cashier.send(f"/sale {code} 500")
    assert await balance(harness) == 100  # once only


async def test_own_link_and_old_customers_are_refused(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    link = await invitation(chat)
    replies = await chat.send(f"/start {link}")
    assert "your own invitation link" in str(replies[0])
    boris = harness.chat(1002, first_name="Boris")
    await boris.send("/start")
    replies = await boris.send(f"/start {link}")
    assert "already with us" in str(replies[0])
    assert (await customer(harness)).referrer_id is None
    assert (await customer(harness, 1002)).referrer_id is None


async def test_a_referral_loop_is_refused(harness: Harness, chat: ChatDriver) -> None:
    anna_link = await invitation(chat)  # Anna asks for a link before ever pressing /start
    boris = harness.chat(1002, first_name="Boris")
    await boris.send(f"/start {anna_link}")
    boris_link = await invitation(boris)
    replies = await chat.send(f"/start {boris_link}")  # Anna tries to become Boris's referral
    assert "already with us" in str(replies[0])
    assert (await customer(harness)).referrer_id is None


async def test_an_unknown_invitation_is_just_a_welcome(harness: Harness, chat: ChatDriver) -> None:
    replies = await chat.send("/start ref-NOPE999")
    assert "Welcome to" in all_text(chat) and len(replies) >= 1
    assert (await customer(harness)).referrer_id is None
