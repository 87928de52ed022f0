"""The console's Customers flows: search, the customer's overview, tags, points corrections, handing over,
lists by segment — over the real bot's services (and its chat, where the customer sees the result)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.sandbox.driver import ChatDriver
from flows.people import Invalid, NoSuchCustomer, NotAllowed, People
from flows.people_search import PeopleSearch, Reading, read_query
from flows.segments import SegmentError
from storage.customers import Customer
from tests.conftest import OWNER_ID, Harness
from tests.handoff_helpers import MANAGERS, add_staff, card, manager_chat, settle
from tests.loyalty_helpers import card_code, deliver, hire

SECOND_OWNER = 901
REQUEST = "form-token-0001"


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"owner_ids": f"{OWNER_ID},{SECOND_OWNER}", "manager_chat_id": MANAGERS}


def people(harness: Harness) -> People:
    return harness.services["people"]  # type: ignore[no-any-return]


def search(harness: Harness) -> PeopleSearch:
    return harness.services["people_search"]  # type: ignore[no-any-return]


async def someone(
    harness: Harness,
    tg_id: int,
    first: str | None,
    last: str | None = None,
    username: str | None = None,
    phone: str | None = None,
) -> Customer:
    """A customer who started the bot (written straight through the repository: quicker than a chat)."""
    repo = harness.services["customers"].repo
    now = harness.clock.now()
    customer: Customer = await repo.refresh_profile(tg_id, first, last, username, "en", now)
    await repo.record_start(customer.id, None, first=True, now=now)
    if phone:
        await repo.set_phone(customer.id, phone, now)
    return customer


async def started(harness: Harness, chat: ChatDriver) -> Customer:
    await chat.send("/start")
    customer = await harness.services["customers"].repo.by_tg_id(chat.user_id)
    assert customer is not None
    return customer


# ---- reading what was typed ----


@pytest.mark.parametrize(
    ("typed", "reading"),
    [
        ("+7 (912) 345-67-89", Reading(phone_ending="9123456789")),
        ("8 912 345 67 89", Reading(phone_ending="9123456789")),
        ("79123456789", Reading(phone_ending="9123456789")),
        ("345-67-89", Reading(phone_ending="3456789", phone_start="3456789")),
        ("+38067123", Reading(phone_start="38067123")),
        ("12", Reading()),
        ("acd 4ef", Reading(card="ACD4EF", names='"acd"* "4ef"*')),
        ("#42", Reading(customer_id=42)),
        ("@Anna_S", Reading(names='"anna_s"*')),  # the index splits it into a phrase: anna, then s…
        ("Ёлкина", Reading(names='"елкина"*')),
        ('x" OR *', Reading(names='"or"*')),  # quoted: a plain word, never an operator
        ("  ", Reading()),
    ],
)
def test_what_was_typed_is_read_every_way_it_may_be_meant(typed: str, reading: Reading) -> None:
    assert read_query(typed) == reading


# ---- search ----


async def test_a_customer_is_found_by_name_username_phone_and_card(harness: Harness, chat: ChatDriver) -> None:
    anna = await started(harness, chat)
    await harness.services["customers"].repo.set_phone(anna.id, "+79123456789", harness.clock.now())
    code = await card_code(chat)
    olena = await someone(harness, 2002, "Олёна", "Кравець", "olena_k", "+380671234567")
    await someone(harness, 2003, "Anatoliy", None, None, "+79990001122")
    find = search(harness).search

    def ids(found: list[Any]) -> list[int]:
        return [customer.id for customer in found]

    assert anna.id in ids(await find("anna"))
    assert ids(await find("ОЛЕНА кра")) == [olena.id]  # case, ё and the beginnings of words
    assert ids(await find("@olena_k")) == [olena.id]
    for typed in ("+7 (912) 345-67-89", "8 912 345 67 89", "79123456789", "345-67-89"):
        assert ids(await find(typed)) == [anna.id], typed
    assert ids(await find("067 123 45 67")) == [olena.id]  # the Ukrainian trunk 0 instead of +380
    spaced = f"{code[:3]} {code[3:].lower()}"
    assert ids(await find(spaced)) == [anna.id]
    assert ids(await find(f"{code[:3]}-{code[3:]}")) == [anna.id]
    assert await find("nobody-like-this") == []
    assert await find("") == []


async def test_results_are_bounded_and_the_team_and_the_forgotten_are_not_found(
    harness: Harness, chat: ChatDriver
) -> None:
    for n in range(30):
        await someone(harness, 3000 + n, "Marta", f"Number{n}")
    assert len(await search(harness).search("marta")) == 20
    assert len(await search(harness).search("marta", limit=5)) == 5
    await add_staff(harness, 3000)  # now on the team: not a customer
    assert [found.last_name for found in await search(harness).search("number0")] == []
    await started(harness, chat)
    await chat.send("/forget")
    await chat.click("Yes, delete")
    assert await search(harness).search("anna") == []


# ---- the customer's page ----


async def test_the_overview_gathers_what_the_bot_knows(harness: Harness, chat: ChatDriver) -> None:
    anna = await started(harness, chat)
    code = await card_code(chat)
    cashier = await hire(harness)
    await cashier.send(f"/sale {code} 1000")
    await people(harness).add_tag(OWNER_ID, anna.id, "VIP")
    await chat.send("what are your opening hours?")
    await harness.tick()  # the welcome sequence starts; what she wrote is written down
    overview = await people(harness).overview(anna.id, OWNER_ID)
    assert overview is not None
    assert overview.customer.first_name == "Anna" and overview.card_code == code
    assert overview.tags == ["vip"]
    assert overview.standing.purchases == 1 and overview.standing.balance == 80
    assert {entry.kind for entry in overview.ledger} == {"accrual", "bonus"}
    assert [p.amount for p in overview.purchases] == [1000]
    assert overview.can_edit
    assert any(m.text == "what are your opening hours?" for m in overview.conversation)
    assert [e.sequence for e in overview.enrollments]  # the welcome sequence started on /start
    cashier_view = await people(harness).overview(anna.id, 5001)
    assert cashier_view is not None and not cashier_view.can_edit
    assert await people(harness).overview(999_999) is None


# ---- points ----


async def test_a_correction_reaches_the_ledger_the_audit_and_the_customers_balance(
    harness: Harness, chat: ChatDriver
) -> None:
    anna = await started(harness, chat)
    result = await people(harness).correct_points(OWNER_ID, anna.id, "+50", "  sorry for the wait ", REQUEST)
    assert (result.balance, result.applied) == (50, True)
    replies = await chat.send("/balance")
    assert "50" in str(replies[-1]) and "sorry for the wait" in str(replies[-1])
    assert await harness.services["staff"].repo.audit_actions(OWNER_ID) == ["points_adjusted"]


async def test_a_double_submit_lands_once(harness: Harness, chat: ChatDriver) -> None:
    anna = await started(harness, chat)
    flow = people(harness)
    first, second = await asyncio.gather(
        flow.correct_points(OWNER_ID, anna.id, "+50", "for the queue", REQUEST),
        flow.correct_points(OWNER_ID, anna.id, "+50", "for the queue", REQUEST),
    )
    again = await flow.correct_points(OWNER_ID, anna.id, "+50", "for the queue", REQUEST)
    assert sorted([first.applied, second.applied, again.applied]) == [False, False, True]
    assert await harness.services["ledger"].balance(anna.id) == 50
    assert await harness.services["staff"].repo.audit_actions(OWNER_ID) == ["points_adjusted"]
    await deliver(harness, 2)
    assert sum("for the queue" in str(m) for m in chat.messages()) == 1  # one notice


async def test_two_owners_correcting_at_once_both_land_once_each(harness: Harness, chat: ChatDriver) -> None:
    anna = await started(harness, chat)
    flow = people(harness)
    await asyncio.gather(
        flow.correct_points(OWNER_ID, anna.id, "+30", "one", "request-of-owner-1"),
        flow.correct_points(SECOND_OWNER, anna.id, "+12", "two", "request-of-owner-2"),
        flow.correct_points(OWNER_ID, anna.id, "+30", "one", "request-of-owner-1"),
        flow.correct_points(SECOND_OWNER, anna.id, "+12", "two", "request-of-owner-2"),
    )
    assert await harness.services["ledger"].balance(anna.id) == 42
    assert await harness.services["staff"].repo.audit_actions() == ["points_adjusted", "points_adjusted"]


async def test_a_debit_stops_at_zero_and_its_repeat_is_not_an_error(harness: Harness, chat: ChatDriver) -> None:
    anna = await started(harness, chat)
    flow = people(harness)
    await flow.correct_points(OWNER_ID, anna.id, "+20", "opening", "request-credit-1")
    with pytest.raises(Invalid) as too_much:
        await flow.correct_points(OWNER_ID, anna.id, "-21", "typo", "request-debit-0")
    assert (too_much.value.field, too_much.value.code) == ("delta", "not_enough_points")
    taken = await flow.correct_points(OWNER_ID, anna.id, "−20", "all of it", "request-debit-1")
    repeated = await flow.correct_points(OWNER_ID, anna.id, "-20", "all of it", "request-debit-1")
    assert (taken.balance, taken.applied, repeated.balance, repeated.applied) == (0, True, 0, False)


@pytest.mark.parametrize(
    ("delta", "reason", "token", "field", "code"),
    [
        ("fifty", "x", REQUEST, "delta", "points_format"),
        ("0", "x", REQUEST, "delta", "points_format"),
        ("+99999999", "x", REQUEST, "delta", "points_format"),
        ("+5", "   ", REQUEST, "reason", "reason_missing"),
        ("+5", "x" * 201, REQUEST, "reason", "reason_too_long"),
        ("+5", "x", "short", "request", "request_format"),
    ],
)
async def test_bad_input_names_its_field(
    harness: Harness, delta: str, reason: str, token: str, field: str, code: str
) -> None:
    anna = await someone(harness, 2002, "Anna")
    with pytest.raises(Invalid) as problem:
        await people(harness).correct_points(OWNER_ID, anna.id, delta, reason, token)
    assert (problem.value.field, problem.value.code) == (field, code)


async def test_a_cashier_may_look_but_not_change(harness: Harness, chat: ChatDriver) -> None:
    anna = await started(harness, chat)
    await add_staff(harness, 5001, "cashier")
    flow = people(harness)
    assert await flow.may_read(5001) and not await flow.may_edit(5001)
    assert not await flow.may_read(anna.tg_id or 0)  # a customer is not on the team
    for action in (
        flow.correct_points(5001, anna.id, "+5", "x", REQUEST),
        flow.add_tag(5001, anna.id, "vip"),
        flow.remove_tag(5001, anna.id, "vip"),
        flow.hand_to_manager(5001, anna.id),
    ):
        with pytest.raises(NotAllowed):
            await action
    assert await harness.services["ledger"].balance(anna.id) == 0
    with pytest.raises(NoSuchCustomer):
        await flow.correct_points(OWNER_ID, 999_999, "+5", "x", REQUEST)


# ---- tags and handing over ----


async def test_tags_are_added_and_removed_once_and_audited(harness: Harness) -> None:
    anna = await someone(harness, 2002, "Anna")
    flow = people(harness)
    assert await flow.add_tag(OWNER_ID, anna.id, " #VIP")
    assert not await flow.add_tag(OWNER_ID, anna.id, "vip")
    assert await harness.services["customers"].tags(anna) == ["vip"]
    assert await flow.remove_tag(OWNER_ID, anna.id, "vip")
    assert not await flow.remove_tag(OWNER_ID, anna.id, "vip")
    assert await harness.services["staff"].repo.audit_actions() == ["tag_added", "tag_removed"]
    with pytest.raises(Invalid) as problem:
        await flow.add_tag(OWNER_ID, anna.id, "два слова")
    assert problem.value.code == "tag_format"


async def test_handing_to_a_manager_opens_a_conversation_as_manager_does(
    harness: Harness, chat: ChatDriver
) -> None:
    await manager_chat(harness)
    anna = await started(harness, chat)
    outcome = await people(harness).hand_to_manager(OWNER_ID, anna.id, by="Owner")
    assert outcome.status == "opened"
    await settle(harness)
    assert "handed to the managers from the console: by Owner" in (card(harness).plain_text or "")
    again = await people(harness).hand_to_manager(OWNER_ID, anna.id)
    assert again.status == "already"
    overview = await people(harness).overview(anna.id)
    assert overview is not None and overview.open_lead is not None and overview.customer.in_conversation


# ---- lists by segment ----


async def test_a_segment_lists_its_customers_page_by_page_with_its_count(harness: Harness) -> None:
    tagged = [await someone(harness, 4000 + n, f"Guest{n}") for n in range(7)]
    for customer in tagged[:5]:
        await people(harness).add_tag(OWNER_ID, customer.id, "vip")
    finder = search(harness)
    segment = finder.segment("tag:vip")
    assert await finder.count(segment) == 5
    first = await finder.page(segment, size=3)
    assert [c.id for c in first.customers] == [c.id for c in tagged[4:1:-1]]
    assert first.next_before is not None
    rest = await finder.page(segment, before=first.next_before, size=3)
    assert [c.id for c in rest.customers] == [tagged[1].id, tagged[0].id] and rest.next_before is None
    with pytest.raises(SegmentError) as problem:
        finder.segment("tag:vip tier:nonsense")
    assert problem.value.index == 2 and "tier" in problem.value.message.lower()
