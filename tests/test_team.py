"""The team as the console sees it (flows/staff.py): change a role, revoke, and the audit log's filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.staff import AuditFilterError, Staff, audit_query
from tests.conftest import OWNER_ID, Harness
from tests.handoff_helpers import FORUM, MANAGERS, OLGA, PETRO, add_staff, manager_chat, settle
from tests.loyalty_helpers import CASHIER_ID, card_code, hire

KYIV = "Europe/Kyiv"


def staff_of(harness: Harness) -> Staff:
    return harness.services["staff"]  # type: ignore[no-any-return]


async def test_a_cashier_made_manager_may_correct_points_at_once(harness: Harness) -> None:
    customer = harness.chat(1001)
    code = await card_code(customer)
    cashier = await hire(harness, CASHIER_ID, "cashier")
    assert "not part of your role" in str((await cashier.send(f"/points {code} +10 gift"))[-1])
    assert await staff_of(harness).change_role(CASHIER_ID, "manager", OWNER_ID)
    assert "not part of your role" not in str((await cashier.send(f"/points {code} +10 gift"))[-1])
    assert await staff_of(harness).role_of(CASHIER_ID) == "manager"
    assert not await staff_of(harness).change_role(CASHIER_ID, "manager", OWNER_ID)  # already: nothing changes


async def test_the_owner_changes_a_role_from_the_staff_screen_and_the_menu_follows(harness: Harness) -> None:
    await hire(harness, CASHIER_ID, "cashier")
    owner = harness.chat(OWNER_ID, first_name="Owner")
    await owner.send("/staff")
    await owner.click("Make Olena a manager")
    assert owner.last_callback_answer is not None and owner.last_callback_answer.text == "Now a manager."
    assert "Olena — manager" in str(owner.messages()[-1])
    menu = [c["command"] for c in harness.emu.commands({"type": "chat", "chat_id": CASHIER_ID})]
    assert "points" in menu  # a manager's command, set as the role changed
    entry = (await staff_of(harness).audit_log(audit_query(UTC, action="staff_role_changed"))).entries[0]
    assert (entry.actor_tg_id, entry.subject, entry.details) == (
        OWNER_ID,
        str(CASHIER_ID),
        {"role": "manager", "was": "cashier"},
    )


async def test_a_revoked_member_cannot_be_given_a_role(harness: Harness) -> None:
    await hire(harness, CASHIER_ID, "cashier")
    staff = staff_of(harness)
    assert await staff.revoke(CASHIER_ID, OWNER_ID)
    assert not await staff.change_role(CASHIER_ID, "manager", OWNER_ID)
    assert await staff.role_of(CASHIER_ID) is None
    with pytest.raises(ValueError):
        await staff.change_role(CASHIER_ID, "owner", OWNER_ID)


@pytest.mark.parametrize("settings_overrides", [FORUM])
async def test_revoking_through_the_flow_removes_them_from_the_managers_group(harness: Harness) -> None:
    await manager_chat(harness)
    harness.emu.set_member(MANAGERS, PETRO, "member")
    assert await staff_of(harness).revoke(PETRO, OWNER_ID)
    await settle(harness)
    assert harness.emu.member(MANAGERS, PETRO) == "left"
    assert await staff_of(harness).role_of(PETRO) is None
    assert await staff_of(harness).role_of(OLGA) == "manager"


async def test_the_audit_log_filters_by_who_what_and_local_days(harness: Harness) -> None:
    staff = staff_of(harness)
    harness.clock.set(datetime(2026, 1, 4, 22, 30, tzinfo=UTC))  # 5 January, 00:30 in Kyiv
    await add_staff(harness, OLGA)
    harness.clock.set(datetime(2026, 1, 5, 22, 30, tzinfo=UTC))  # 6 January, 00:30 in Kyiv
    await add_staff(harness, PETRO, "cashier")
    await staff.change_role(PETRO, "manager", OWNER_ID)
    everything = await staff.audit_log(audit_query(UTC))
    assert [e.action for e in everything.entries] == [
        "staff_role_changed",
        "staff_joined",
        "staff_invite",
        "staff_joined",
        "staff_invite",
    ]
    assert everything.older is None
    by_owner = await staff.audit_log(audit_query(UTC, actor=str(OWNER_ID)))
    assert [e.action for e in by_owner.entries] == ["staff_role_changed", "staff_invite", "staff_invite"]
    joined = await staff.audit_log(audit_query(UTC, action="staff_joined"))
    assert [(e.actor_tg_id, e.actor_name) for e in joined.entries] == [
        (PETRO, f"staff {PETRO}"),
        (OLGA, f"staff {OLGA}"),
    ]
    kyiv = ZoneInfo(KYIV)
    fifth = await staff.audit_log(audit_query(kyiv, since="2026-01-05", until="05.01.2026"))
    assert [e.subject for e in fifth.entries if e.action == "staff_joined"] == [str(OLGA)]
    sixth = await staff.audit_log(audit_query(kyiv, since="2026-01-06"))
    assert len(sixth.entries) == 3
    utc_fifth = await staff.audit_log(audit_query(UTC, since="2026-01-05", until="2026-01-05"))
    assert [e.subject for e in utc_fifth.entries if e.action == "staff_joined"] == [str(PETRO)]  # the zone counts
    assert sorted(await staff.audit_actions()) == ["staff_invite", "staff_joined", "staff_role_changed"]


async def test_the_audit_log_pages_to_older_rows(harness: Harness) -> None:
    staff = staff_of(harness)
    for n in range(60):
        harness.clock.advance(timedelta(minutes=1))
        await staff.repo.audit(OWNER_ID, "stats", None, harness.clock.now(), n=n)
    first = await staff.audit_log(audit_query(UTC))
    assert len(first.entries) == 50 and first.entries[0].details == {"n": 59} and first.older is not None
    second = await staff.audit_log(audit_query(UTC, before=str(first.older)))
    assert [e.details["n"] for e in second.entries] == list(range(9, -1, -1)) and second.older is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"actor": "Olga"}, "actor"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-02-30"}, "until"),
        ({"since": "2026-01-06", "until": "2026-01-05"}, "until"),
    ],
)
def test_an_unreadable_audit_filter_names_its_field(fields: dict[str, str], field: str) -> None:
    with pytest.raises(AuditFilterError) as caught:
        audit_query(UTC, **fields)
    assert caught.value.field == field and str(caught.value)
