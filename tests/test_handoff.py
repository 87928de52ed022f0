"""Handing customers to a manager, end to end: triggers and cards, forum and reply modes, Take/Won/Lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from flows.i18n import translator
from flows.lead_card import cause
from flows.messenger import Button, Outgoing
from handlers.handoff import offer_button_data
from storage.outbox import NewMessage
from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import console_url, http_login
from tests.handoff_helpers import (
    CASHIER,
    FORUM,
    MANAGERS,
    add_staff,
    card,
    customer_of,
    group_messages,
    leads_of,
    manager_chat,
    settle,
    texts,
)
from tests.loyalty_helpers import card_code

pytestmark = pytest.mark.parametrize("settings_overrides", [FORUM])


async def test_manager_command_opens_a_lead_with_a_full_card_in_the_customers_topic(harness: Harness) -> None:
    await manager_chat(harness)
    anna = harness.chat(1001, first_name="Anna", username="anna_k")
    await anna.send("/start src-instagram")
    await anna.share_contact("380501234567")
    await anna.send("25.12")
    await anna.click("Yoga")
    await anna.click("Done")
    owner = harness.chat(OWNER_ID, first_name="Olga")
    await owner.send(f"/sale {await card_code(anna)} 1500")
    await anna.send("do you have a sauna?")
    replies = await anna.send("/manager")
    assert "A manager will answer you right here" in texts(replies)
    await settle(harness)
    [topic] = harness.emu.topics(MANAGERS)
    assert "Anna" in topic.name and "@anna_k" in topic.name
    [shown] = group_messages(harness, thread_id=topic.message_thread_id)
    text = shown.plain_text
    for expected in (
        "Lead #1",
        "Anna @anna_k",
        "asked to talk to a manager",
        "+380501234567",
        "English",
        "source: instagram",
        "tier: New guest · points: ",
        "1 purchase for 1,500.00 UAH · last: Jan 5, 2026",
        "tags: yoga",
        "do you have a sauna?",
        "Waiting",
    ):
        assert expected in text, expected
    assert [label for row in shown.buttons for label, _ in row] == ["🙋 Take", "✅ Won", "✖️ Lost"]


async def test_a_second_trigger_joins_the_open_lead_instead_of_opening_another(harness: Harness) -> None:
    await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/manager")
    replies = await anna.send("/manager")
    assert "already has your request" in texts(replies)
    await settle(harness)
    assert len(await leads_of(harness)) == 1
    assert "Also asked to talk to a manager" in texts(group_messages(harness))


async def test_interested_button_on_a_sequence_step_opens_a_lead_naming_the_offer(harness: Harness) -> None:
    await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/start")
    await harness.advance(minutes=1)
    await anna.click("Tell me more")
    await harness.advance(seconds=1)
    replies = await anna.click("Yes, book me")
    assert "A manager will answer you" in texts(replies)
    await settle(harness)
    [lead] = await leads_of(harness)
    assert (lead.cause, lead.offer, lead.context) == ("interested", "welcome", "welcome step 2")
    assert "pressed “I'm interested”: welcome step 2" in card(harness).plain_text


async def test_interested_in_a_broadcast_offer_carries_the_offer(harness: Harness) -> None:
    await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/start")
    customer = await customer_of(harness)
    offer = Outgoing(
        "Spring sale: −20% on passes!", buttons=[[Button("I'm interested", data=offer_button_data("spring-sale"))]]
    )
    await harness.services["outbox"].enqueue(
        NewMessage("bc:1:1", customer.tg_id, "broadcast", offer.to_payload(), harness.clock.now(), customer.id),
        harness.clock.now(),
    )
    await harness.tick()
    await anna.click("I'm interested")
    await settle(harness)
    [lead] = await leads_of(harness)
    assert (lead.cause, lead.offer) == ("offer", "spring-sale")
    assert "interested in an offer: spring-sale" in card(harness).plain_text


async def test_a_question_the_faq_cannot_answer_goes_to_a_manager_with_the_question(harness: Harness) -> None:
    await manager_chat(harness)
    anna = harness.chat(1001)
    replies = await anna.send("Can I rent the whole hall for a birthday party?")
    assert "pass your question to a manager" in texts(replies)
    await anna.click("Talk to a manager")
    await settle(harness)
    [lead] = await leads_of(harness)
    assert lead.cause == "faq_miss"
    assert "the FAQ could not answer: Can I rent the whole hall" in card(harness).plain_text


async def test_buying_intent_keywords_go_straight_to_a_manager(harness: Harness) -> None:
    await manager_chat(harness)
    ivan = harness.chat(1002, first_name="Иван", language_code="ru")
    replies = await ivan.send("Здравствуйте, хочу купить абонемент на месяц")
    assert "Менеджер скоро ответит" in texts(replies)
    await settle(harness)
    [lead] = await leads_of(harness, 1002)
    assert lead.cause == "keyword"
    assert "wrote that they want to buy: Здравствуйте, хочу купить абонемент" in card(harness).plain_text
    assert "Русский" in card(harness).plain_text


async def test_low_satisfaction_score_from_another_flow_opens_a_lead_and_tells_the_customer(
    harness: Harness,
) -> None:
    await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/start")
    customer = await customer_of(harness)
    outcome = await harness.services["handoff"].open_lead(
        customer.id, "low_score", context="rated the visit 2 of 5", tell_customer=True
    )
    assert outcome.status == "opened"
    await settle(harness)
    assert "gave a low satisfaction score: rated the visit 2 of 5" in card(harness).plain_text
    await anna.wait_for_text("A manager will answer you")


async def test_outside_working_hours_the_customer_is_told_when_and_nobody_is_nagged_at_night(
    harness: Harness,
) -> None:
    await manager_chat(harness)
    harness.clock.set(datetime(2026, 1, 5, 19, 30, tzinfo=UTC))  # Monday 21:30 in Kyiv: closed
    anna = harness.chat(1001)
    replies = await anna.send("/manager")
    assert "We're closed right now" in texts(replies) and "Tuesday, 09:00" in texts(replies)
    await settle(harness)
    harness.clock.set(datetime(2026, 1, 6, 6, 59, tzinfo=UTC))  # 08:59: still closed
    await settle(harness)
    assert "nobody has taken it" not in texts(group_messages(harness))
    harness.clock.set(datetime(2026, 1, 6, 7, 15, tzinfo=UTC))  # 15 minutes after opening
    await settle(harness)
    assert "nobody has taken it" in texts(group_messages(harness))


async def test_unclaimed_lead_is_raised_again_until_someone_takes_it(harness: Harness) -> None:
    olga, _ = await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/manager")
    await settle(harness)
    await harness.advance(minutes=14)
    assert "nobody has taken it" not in texts(group_messages(harness))
    await harness.advance(minutes=1)
    await settle(harness)
    reminder = group_messages(harness)[-1]
    assert "Lead #1 (Anna) has waited 15 min and nobody has taken it" in reminder.plain_text
    await olga.click("Take", message=reminder)
    assert "Taken by Olga" in card(harness).plain_text
    assert not reminder.buttons  # the reminder's Take is gone too
    await harness.advance(minutes=30)
    await settle(harness)
    assert texts(group_messages(harness)).count("nobody has taken it") == 1


async def test_two_managers_pressing_take_at_once_exactly_one_gets_the_lead(harness: Harness) -> None:
    olga, petro = await manager_chat(harness)
    await harness.chat(1001).send("/manager")
    await settle(harness)
    shown = card(harness)
    await asyncio.gather(olga.click("Take", message=shown), petro.click("Take", message=shown))
    [lead] = await leads_of(harness)
    assert lead.state == "taken" and lead.taken_by in (501, 502)
    winner, loser = ("Olga", petro) if lead.taken_by == 501 else ("Petro", olga)
    assert f"Taken by {winner}" in card(harness).plain_text
    assert loser.last_callback_answer is not None
    assert f"Already taken by {winner}" in (loser.last_callback_answer.text or "")
    assert [label for row in card(harness).buttons for label, _ in row] == ["✅ Won", "✖️ Lost"]


async def test_two_managers_closing_at_once_close_it_once(harness: Harness) -> None:
    olga, petro = await manager_chat(harness)
    await harness.chat(1001).send("/manager")
    await settle(harness)
    shown = card(harness)
    await asyncio.gather(olga.click("Won", message=shown), petro.click("Lost", message=shown))
    [lead] = await leads_of(harness)
    assert lead.state in ("won", "lost")
    events = await harness.services["events"].kinds_for(lead.customer_id)
    assert events.count("lead_closed") == 1
    assert "closed by" in card(harness).plain_text and not card(harness).buttons


async def test_only_managers_may_press_card_buttons(harness: Harness) -> None:
    await manager_chat(harness)
    await add_staff(harness, CASHIER, role="cashier")
    cashier = harness.chat(CASHIER, first_name="Kate", chat_id=MANAGERS)
    stranger = harness.chat(777, first_name="Mallory", chat_id=MANAGERS)
    await harness.chat(1001).send("/manager")
    await settle(harness)
    for person in (cashier, stranger):
        await person.click("Take", message=card(harness))
        assert "Only managers" in (person.last_callback_answer.text or "")
    assert (await leads_of(harness))[0].state == "open"
    owner = harness.chat(OWNER_ID, first_name="Owner", chat_id=MANAGERS)
    await owner.click("Take", message=card(harness))
    assert (await leads_of(harness))[0].taken_by == OWNER_ID


async def test_forged_lead_button_in_a_private_chat_is_refused(harness: Harness) -> None:
    await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/manager")
    await settle(harness)
    from handlers.handoff import lead_button_data

    # Anna crafts the manager's button into her own chat (the emulator delivers whatever data is pressed).
    offer = Outgoing("x", buttons=[[Button("Take", data=lead_button_data(1, "won"))]])
    customer = await customer_of(harness)
    await harness.services["outbox"].enqueue(
        NewMessage("forge", customer.tg_id, "notice", offer.to_payload(), harness.clock.now(), customer.id, True),
        harness.clock.now(),
    )
    await harness.tick()
    await anna.click("Take")
    assert "no longer active" in (anna.last_callback_answer.text or "")
    assert (await leads_of(harness))[0].state == "open"


async def test_customer_topic_is_reused_for_the_next_conversation(harness: Harness) -> None:
    olga, _ = await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/manager")
    await settle(harness)
    await olga.click("Won", message=card(harness))
    await anna.send("/manager")
    await settle(harness)
    [topic] = harness.emu.topics(MANAGERS)
    cards = [m for m in group_messages(harness, thread_id=topic.message_thread_id) if "Why:" in m.plain_text]
    assert ["Lead #1" in cards[0].plain_text, "Lead #2" in cards[1].plain_text] == [True, True]


async def test_without_a_manager_chat_the_customer_is_told_plainly(harness: Harness) -> None:
    harness.services["handoff"].manager_chat_id = None
    replies = await harness.chat(1001).send("/manager")
    assert "can't take chats here at the moment" in texts(replies)


async def test_owner_sees_leads_per_state_time_to_first_answer_and_won_lost(harness: Harness) -> None:
    olga, _ = await manager_chat(harness)
    await harness.chat(1001).send("/manager")
    await harness.chat(1002, first_name="Boris").send("/manager")
    await settle(harness)
    [topic_anna, _] = harness.emu.topics(MANAGERS)
    await harness.advance(minutes=4)
    await olga.send("Hello Anna!", thread_id=topic_anna.message_thread_id)
    await olga.click("Won", message=card_of(harness, "Anna"))
    owner = harness.chat(OWNER_ID, first_name="Owner")
    report = texts(await owner.send("/leads"))
    assert "waiting 1 · in progress 0 · won 1 · lost 0" in report
    assert "won 1 / lost 0 — 100% won" in report
    assert "first answer: median 4 min" in report
    assert "Boris" in report  # still waiting
    assert "only for the team" in texts(await harness.chat(1001).send("/leads"))


def card_of(harness: Harness, name: str):  # type: ignore[no-untyped-def]
    return next(m for m in group_messages(harness) if "Why:" in m.plain_text and name in m.plain_text)


async def test_the_card_leads_report_and_console_name_a_cause_alike(harness: Harness) -> None:
    await manager_chat(harness)
    await harness.chat(1001).send("/manager")
    await settle(harness)
    named = cause("manager", translator("en"))
    assert f"Why: {named}" in card_of(harness, "Anna").plain_text
    report = texts(await harness.chat(OWNER_ID, first_name="Owner").send("/leads"))
    assert f"why: {named} 1" in report
    anna = await customer_of(harness, 1001)
    base = await console_url(harness)
    async with await http_login(harness) as client, client.get(f"{base}/customers/{anna.id}") as response:
        page = await response.text()
    assert named.replace("'", "&#39;") in page
