"""A managers' topic that disappears (deleted by a manager, or a sandbox that restarted): the customer's next
message opens a new topic with the card re-posted, and the customer is never told something went wrong."""

from __future__ import annotations

import pytest

from flows.chat_actions import action_row, delete_topic
from tests.conftest import Harness
from tests.handoff_helpers import (
    FORUM,
    MANAGERS,
    customer_of,
    group_messages,
    leads_of,
    manager_chat,
    settle,
    texts,
)

pytestmark = pytest.mark.parametrize("settings_overrides", [FORUM])


async def test_a_deleted_topic_is_replaced_and_the_message_arrives_there(harness: Harness) -> None:
    await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/manager")
    await settle(harness)
    [old] = harness.emu.topics(MANAGERS)
    said_before = len(anna.messages())
    harness.emu.delete_topic(MANAGERS, old.message_thread_id)  # a manager tidied the group up

    await anna.send("Are you still there?")
    await settle(harness)

    topics = harness.emu.topics(MANAGERS)
    assert [t.message_thread_id for t in topics] != [old.message_thread_id] and len(topics) == 1
    new = topics[0].message_thread_id
    in_topic = group_messages(harness, thread_id=new)
    assert "Lead #" in in_topic[0].plain_text  # the card again, so managers have the context
    assert texts(in_topic[1:]) == "Are you still there?"
    assert len(anna.messages()) == said_before  # no apology, nothing at all
    lead = (await leads_of(harness))[0]
    assert lead.thread_id == new
    customer = await customer_of(harness)
    assert await harness.services["handoff"].leads.topic_of(customer.id, MANAGERS) == new


async def test_a_reused_thread_id_after_a_sandbox_restart_does_not_break_the_next_handoff(
    harness: Harness,
) -> None:
    """The emulator restarted: its new topics get ids already stored for other customers."""
    await manager_chat(harness)
    anna, boris = harness.chat(1001), harness.chat(1002, first_name="Boris")
    await anna.send("/manager")
    await settle(harness)
    [anna_topic] = harness.emu.topics(MANAGERS)
    harness.emu.delete_topic(MANAGERS, anna_topic.message_thread_id)
    harness.emu.recreate_group(MANAGERS)  # thread ids start again

    await boris.send("/manager")
    await settle(harness)

    assert "went wrong" not in texts(boris.messages()).lower()
    [boris_topic] = harness.emu.topics(MANAGERS)
    assert "Lead #" in group_messages(harness, thread_id=boris_topic.message_thread_id)[0].plain_text
    boris_customer = await customer_of(harness, 1002)
    leads = harness.services["handoff"].leads
    assert await leads.customer_of_topic(MANAGERS, boris_topic.message_thread_id) == boris_customer.id

    # Anna's open lead still names the old id, now Boris's topic: her words must not land there.
    await anna.send("Hello again")
    await settle(harness)
    assert "Hello again" not in texts(group_messages(harness, thread_id=boris_topic.message_thread_id))
    anna_topic_now = await leads.topic_of((await customer_of(harness)).id, MANAGERS)
    assert anna_topic_now not in (None, boris_topic.message_thread_id)
    assert texts(group_messages(harness, thread_id=anna_topic_now)[1:]) == "Hello again"


async def test_a_new_lead_after_the_topic_was_deleted_gets_one_card_in_a_new_topic(harness: Harness) -> None:
    olga, _ = await manager_chat(harness)
    anna = harness.chat(1001)
    await anna.send("/manager")
    await settle(harness)
    await olga.click("Won", message=group_messages(harness)[0])
    [old] = harness.emu.topics(MANAGERS)
    harness.emu.delete_topic(MANAGERS, old.message_thread_id)

    await anna.send("/manager")
    await settle(harness)

    [new] = harness.emu.topics(MANAGERS)
    cards = [m for m in group_messages(harness, thread_id=new.message_thread_id) if "Why:" in (m.plain_text or "")]
    assert len(cards) == 1 and "Lead #2" in cards[0].plain_text
    assert "went wrong" not in texts(anna.messages()).lower()


async def test_of_two_topics_made_for_one_customer_at_once_the_first_saved_is_kept_and_the_other_deleted(
    harness: Harness,
) -> None:
    """Two processes opening the customer's first leads at once both create a topic (each has only its own
    lock): the second to save gets the first one's thread id back, and its own topic is deleted."""
    await harness.chat(1001).send("/start")
    customer = await customer_of(harness)
    leads, now = harness.services["handoff"].leads, harness.clock.now()
    surplus = action_row("topic-surplus:test", MANAGERS, delete_topic(78), now)
    assert await leads.save_topic(customer.id, MANAGERS, 77, now) == 77
    assert await leads.save_topic(customer.id, MANAGERS, 78, now, surplus) == 77
    assert await leads.topic_of(customer.id, MANAGERS) == 77
    queued = await harness.app.db.fetch_value(
        "SELECT COUNT(*) FROM outbox WHERE idempotency_key = ?", ("topic-surplus:test",)
    )
    assert queued == 1
