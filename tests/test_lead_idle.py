"""Conversations end: a taken lead nobody writes in is closed as "no answer" after LEAD_IDLE_CLOSE_HOURS,
its manager is told, the customer's sequences resume; /leads says who holds each open lead and how long the
customer has waited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows.formatting import duration as duration_text
from tests.conftest import OWNER_ID, Harness
from tests.handoff_helpers import (
    FORUM,
    MANAGERS,
    card,
    customer_of,
    group_messages,
    leads_of,
    manager_chat,
    settle,
    texts,
)

forum = pytest.mark.parametrize("settings_overrides", [FORUM])


@forum
async def test_a_silent_taken_lead_closes_as_no_answer_and_sequences_resume(harness: Harness) -> None:
    olga, _ = await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/start")
    await harness.advance(seconds=30)
    await anna.send("/manager")
    await settle(harness)
    await olga.click("Take", message=card(harness))
    await harness.advance(hours=40)
    [topic] = harness.emu.topics(MANAGERS)
    await olga.send("We'll know tomorrow", thread_id=topic.message_thread_id)  # alive: 72 h count from here
    await settle(harness)
    await harness.advance(hours=71)
    assert (await leads_of(harness))[0].state == "taken"

    await harness.advance(hours=2)
    await settle(harness)

    [lead] = await leads_of(harness)
    assert (lead.state, lead.close_reason) == ("lost", "no_answer")
    note = texts(group_messages(harness))
    assert "Lead #1</b>" not in note and "closed: no answer" in note and "Olga" in note
    customer = await customer_of(harness)
    assert [e.state for e in await harness.services["enrollments"].for_customer(customer.id)] == ["active"]
    report = texts(await harness.chat(OWNER_ID, first_name="Owner").send("/leads"))
    assert "closed for silence (no answer): 1 of the lost" in report
    await harness.advance(hours=6)  # past the quiet hours
    await settle(harness)
    assert "Here is how it works" in texts(anna.messages())


@forum
async def test_leads_lists_who_holds_each_open_lead_and_how_long_the_customer_waited(harness: Harness) -> None:
    olga, _ = await manager_chat(harness)
    anna, boris = harness.chat(1001), harness.chat(1002, first_name="Boris")
    await anna.send("/manager")
    await boris.send("/manager")
    await settle(harness)
    await olga.click("Take", message=next(m for m in group_messages(harness) if "Anna" in (m.plain_text or "")))
    await anna.send("Is the hall free on Friday?")
    await settle(harness)
    await harness.advance(hours=2, minutes=15)

    report = texts(await harness.chat(OWNER_ID, first_name="Owner").send("/leads"))

    assert "#1 Anna — Olga · waiting 2 h 15 min" in report
    assert "#2 Boris — nobody took it · waiting 2 h 15 min" in report
    assert "in progress 1" in report


def test_durations_read_like_speech() -> None:
    assert duration_text(timedelta(minutes=45)) == "45 min"
    assert duration_text(timedelta(hours=2, minutes=15)) == "2 h 15 min"
    assert duration_text(timedelta(days=3)) == "3 d"
    assert duration_text(timedelta(days=1, hours=23, minutes=52)) == "1 d 23 h"
