"""The contact policy (README "Contact policy"): the satisfaction question at most once per customer per
FEEDBACK_EVERY_DAYS and not again after an answer; broadcasts not starved by automatic messages."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.driver import ChatDriver
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
