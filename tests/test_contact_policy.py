"""The contact policy (README "Contact policy"): the satisfaction question at most once per customer per
FEEDBACK_EVERY_DAYS and not again after an answer; broadcasts not starved by automatic messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.driver import ChatDriver
from flows.markup import html
from flows.messenger import Outgoing
from storage.outbox import NewMessage
from tests.broadcast_helpers import SALE, customer, wizard
from tests.conftest import Harness
from tests.loyalty_helpers import card_code, count, deliver, hire

QUESTION = "How was your visit"


async def days_pass(harness: Harness, days: int) -> None:
    for _ in range(days * 4):
        await harness.advance(hours=6)
        await deliver(harness, 1)


async def test_five_sales_in_a_day_ask_once(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    code = await card_code(chat)
    cashier = await hire(harness)
    for _ in range(5):
        await cashier.send(f"/sale {code} 100")
        await harness.advance(hours=1)
    await days_pass(harness, 4)
    assert count(chat, QUESTION) == 1


async def test_no_question_again_after_an_answer_until_the_period_ends(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 100")
    await days_pass(harness, 2)
    question = await chat.wait_for_text(QUESTION)
    await chat.click("5", message=question)

    await harness.advance(days=10)
    await cashier.send(f"/sale {code} 100")
    await days_pass(harness, 3)
    assert count(chat, QUESTION) == 1  # answered 13 days ago: not asked again

    await harness.advance(days=20)  # more than 30 days since the answer
    await cashier.send(f"/sale {code} 100")
    await days_pass(harness, 3)
    assert count(chat, QUESTION) == 2


async def test_an_answer_drops_the_questions_still_waiting(harness: Harness, chat: ChatDriver) -> None:
    """With the question allowed after every purchase, answering one still stops the others coming."""
    harness.services["purchases"].feedback_every = timedelta(0)
    await chat.send("/start")
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 100")
    await days_pass(harness, 2)
    question = await chat.wait_for_text(QUESTION)
    await cashier.send(f"/sale {code} 100")
    await harness.advance(hours=1)
    await chat.click("4", message=question)
    await days_pass(harness, 3)
    assert count(chat, QUESTION) == 1


async def go_to(harness: Harness, moment: datetime) -> None:
    """Move the clock to `moment` in steps of a few minutes, running the jobs (and the sender) as it goes."""
    while harness.clock.now() < moment:
        await harness.advance(minutes=min(10, max((moment - harness.clock.now()).total_seconds() / 60, 0.05)))


async def test_a_scheduled_broadcast_is_not_starved_by_automatic_messages(harness: Harness) -> None:
    """Budget 2 a day; an automatic message due an hour before the owner's broadcast waits for it."""
    anna = await customer(harness, 1001)  # Monday 14:00 Kyiv; her welcome message takes one slot today
    chat = harness.chat(1001)
    await deliver(harness)
    await wizard(harness, "everyone", when="06.01 10:00")  # tomorrow morning
    now = harness.clock.now()
    automatic = Outgoing(text=html("Your weekly tip: stretch!"))
    await harness.services["outbox"].enqueue(
        NewMessage(
            key="tip:1",
            chat_id=1001,
            kind="sequence",
            payload=automatic.to_payload(),
            due_at=datetime(2026, 1, 6, 7, 30, tzinfo=UTC),  # 09:30 Kyiv
            customer_id=anna.id,
        ),
        now,
    )

    await go_to(harness, datetime(2026, 1, 6, 8, 5, tzinfo=UTC))  # 10:05 Kyiv

    seen = [str(m) for m in chat.messages()]
    assert any(SALE in text for text in seen), seen  # the broadcast arrived on time
    assert not any("weekly tip" in text for text in seen)  # the tip did not take its slot
    await go_to(harness, datetime(2026, 1, 7, 9, 0, tzinfo=UTC))
    seen = [str(m) for m in chat.messages()]
    assert [i for i, text in enumerate(seen) if "weekly tip" in text] > [
        i for i, text in enumerate(seen) if SALE in text
    ]  # the tip still comes, after the broadcast


@pytest.mark.parametrize("settings_overrides", [{"contact_budget_per_day": 1}])
async def test_progress_says_who_is_held_by_contact_limits_and_until_when(harness: Harness) -> None:
    for n in range(2):
        await customer(harness, 1001 + n, f"C{n}")  # Monday 14:00 Kyiv; a welcome at 15:00 takes their one slot
    await deliver(harness)
    await harness.advance(hours=1)
    boss = await wizard(harness, "everyone")
    await deliver(harness)
    progress = boss.last_text()
    assert "⏳ 2 held by contact limits until Jan 6, 2026, 15:00" in progress, progress  # 24 h after their welcome
    assert "about 1 d left" in progress, progress  # not "about 1 s"


@pytest.mark.parametrize("settings_overrides", [{"contact_budget_per_day": 5}])
async def test_progress_counts_the_quiet_hours_ahead(harness: Harness) -> None:
    for n in range(3):
        await customer(harness, 1001 + n, f"C{n}")
    await go_to(harness, datetime(2026, 1, 5, 20, 0, tzinfo=UTC))  # 22:00 Kyiv: quiet until 09:00
    boss = await wizard(harness, "everyone")
    await deliver(harness)
    progress = boss.last_text()
    assert "🌙 3 waiting for quiet hours to end (09:00)" in progress, progress
    assert "about 11 h" in progress, progress
