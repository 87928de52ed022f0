"""/forget forgets: no table, no byte of the database file or its WAL, no export or report, no message in the
managers' chat names the person afterwards; purchases stay, anonymous. Someone who writes again is a new
person without marketing consent. The ledger stays append-only except for blanking a free-text reason."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.sandbox.driver import ChatDriver
from flows.messenger import Outgoing
from storage.outbox import NewMessage
from tests import engines
from tests.conftest import OWNER_ID, Harness
from tests.handoff_helpers import (
    FORUM,
    MANAGERS,
    OLGA,
    customer_of,
    group_messages,
    manager_chat,
    settle,
    texts,
)
from tests.loyalty_helpers import ask_to_pay_with_points, card_code, hire
from tests.pg_server import run_sync
from tests.test_exports import cli_env, read_csv, run_cli  # noqa: F401 (cli_env is a fixture)

pytestmark = pytest.mark.parametrize("settings_overrides", [FORUM])

TG_ID = 7_364_918_253
NAME, SURNAME, USERNAME, PHONE = "Zoryana", "Kvitkovska", "zoryana_kv", "+380671234987"
WRITTEN = ("salt cave on Sunday", "back entrance please", "Of course, Zoryana, see you")


async def a_customer_with_a_history(harness: Harness, *, forum: bool = True) -> tuple[ChatDriver, list[str]]:
    """Zoryana: onboarded, a purchase, a manager's correction naming her, an FAQ miss, a conversation with a
    manager. Returns her chat and every string that identifies her."""
    olga, _ = await manager_chat(harness, forum=forum)
    zoryana = harness.chat(TG_ID, first_name=NAME, username=USERNAME)
    zoryana.user.last_name = SURNAME
    await zoryana.send("/start src-zoryana_flyer")
    await zoryana.share_contact(PHONE)
    await zoryana.send("25.12")
    await zoryana.click("Yoga")
    await zoryana.click("Done")
    code = await card_code(zoryana)
    owner = harness.chat(OWNER_ID, first_name="Owner")
    await owner.send(f"/sale {code} 1500")
    await owner.send(f"/points {code} +50 {SURNAME} asked nicely")
    await zoryana.send(f"is the {WRITTEN[0]}?")
    await zoryana.send("/manager")
    await settle(harness)
    await zoryana.send(f"I will come to the {WRITTEN[1]}")
    topics = harness.emu.topics(MANAGERS)
    await olga.send(
        WRITTEN[2],
        thread_id=topics[0].message_thread_id if topics else None,
        reply_to=None if topics else group_messages(harness)[0].message_id,
    )
    await settle(harness)
    assert any(NAME in m.plain_text for m in group_messages(harness))  # the managers did see her
    needles = [NAME, SURNAME, USERNAME, PHONE.lstrip("+"), code, str(TG_ID), "zoryana_flyer", *WRITTEN]
    return zoryana, needles


async def forget(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/forget")
    assert "has been deleted" in texts(await chat.click("Yes, delete"))
    await settle(harness)


def found_in_tables(path: Path, needles: list[str]) -> list[str]:
    """Every (table.column: value) in the database that contains a needle, or equals the Telegram id (on
    PostgreSQL, in the database standing for the file `path`)."""
    if engines.ON_POSTGRES:
        return run_sync(lambda: _found_in_postgres(engines.database_url_for(path), needles))
    hits = []
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = conn.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]  # generated columns too (table_info hides them)
            for row in cursor:
                hits += _matches(table, columns, row, needles)
    return hits


async def _found_in_postgres(url: str, needles: list[str]) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        hits = []
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table}"'):
                hits += _matches(table, list(row.keys()), tuple(row), needles)
        return hits
    finally:
        await conn.close()


def _matches(table: str, columns: list[str], row: tuple[object, ...], needles: list[str]) -> list[str]:
    return [
        f"{table}.{column}: {value!r}"
        for column, value in zip(columns, row, strict=True)
        if value == TG_ID or any(n.lower() in str(value).lower() for n in needles)
    ]


def found_in_bytes(path: Path, needles: list[str]) -> list[str]:
    hits = []
    for file in (path, path.with_name(path.name + "-wal")):
        data = file.read_bytes() if file.exists() else b""
        for needle in needles:
            if needle.encode() in data or needle.lower().encode() in data.lower():
                hits.append(f"{file.name}: {needle}")
        if TG_ID.to_bytes(6, "big") in data:  # how SQLite stores the id as an integer
            hits.append(f"{file.name}: the Telegram id as an integer")
    return hits


@pytest.mark.engines(
    "sqlite",
    reason="reads the SQLite file and its WAL byte by byte (PostgreSQL promises less: see its wipe_log)",
)
async def test_nothing_in_the_database_its_wal_or_the_managers_chat_names_a_forgotten_customer(
    harness: Harness,
    cli_env: Path,  # noqa: F811
) -> None:
    zoryana, needles = await a_customer_with_a_history(harness)
    path = harness.settings.database_path
    assert found_in_tables(path, needles)  # the search finds her before
    await forget(harness, zoryana)
    assert found_in_tables(path, needles) == []
    assert found_in_bytes(path, needles) == []
    # The managers' chat: her topic is gone with everything in it, the bot's copies too.
    assert harness.emu.topics(MANAGERS) == []
    shown = texts(group_messages(harness))
    assert not [n for n in needles if n in shown], shown
    # Purchases stay for the figures, on an anonymous customer.
    db = harness.services["db"]
    purchase = await db.fetch_one(
        "SELECT p.amount, c.tg_id, c.first_name FROM purchases p JOIN customers c ON c.id = p.customer_id"
    )
    assert tuple(purchase) == ("1500.00", None, None)  # type: ignore[arg-type]
    # Exports and the report name no one either.
    assert await run_cli("export", "customers", "--out", "customers.csv") == 0
    assert await run_cli("export", "purchases", "--out", "purchases.csv") == 0
    assert await run_cli("report", "--out", "report.html", "--period", "all") == 0
    for name in ("customers.csv", "purchases.csv", "report.html"):
        content = (cli_env / name).read_text("utf-8")
        assert not [n for n in needles if n.lower() in content.lower()], name
    assert [r["amount"] for r in read_csv(cli_env / "purchases.csv")] == ["1500.00"]


async def test_in_reply_mode_the_card_and_the_copies_are_deleted(harness: Harness) -> None:
    zoryana, needles = await a_customer_with_a_history(harness, forum=False)
    posted = [m for m in group_messages(harness) if any(n in (m.plain_text or "") for n in needles)]
    assert posted  # the card and the copies of what she wrote
    await forget(harness, zoryana)
    assert group_messages(harness) == [m for m in group_messages(harness) if m not in posted]
    shown = texts(group_messages(harness))
    assert not [n for n in needles if n in shown], shown
    assert found_in_tables(harness.settings.database_path, needles) == []


async def test_when_telegram_refuses_to_delete_the_topic_it_is_renamed_and_emptied(harness: Harness) -> None:
    zoryana, needles = await a_customer_with_a_history(harness)
    harness.emu.inject_error(
        1, 400, "Bad Request: not enough rights to delete the topic", methods=("deleteForumTopic",)
    )
    await forget(harness, zoryana)
    [topic] = harness.emu.topics(MANAGERS)
    assert topic.name.startswith("Customer #") and topic.name[len("Customer #") :].isdigit()
    left = group_messages(harness, thread_id=topic.message_thread_id)
    assert not [n for n in needles if n in texts(left)], texts(left)
    user_messages = [m for m in harness.emu.chat(MANAGERS).messages.values() if isinstance(m, dict)]
    assert not [m for m in user_messages if WRITTEN[2] in str(m.get("text"))]  # Olga's reply went too


async def test_a_forgotten_person_who_writes_again_is_new_and_not_subscribed(harness: Harness) -> None:
    zoryana, _ = await a_customer_with_a_history(harness)
    await forget(harness, zoryana)
    profile = texts(await zoryana.send("/profile"))
    assert "News and offers: off" in profile
    assert PHONE not in profile and "25 December" not in profile
    balance = texts(await zoryana.send("/balance"))
    assert "1 500" not in balance and "+50" not in balance
    db = harness.services["db"]
    new = await harness.services["customers"].repo.by_tg_id(TG_ID)
    assert new is not None and new.opted_out and not new.onboarded
    assert await db.fetch_value("SELECT COUNT(*) FROM purchases WHERE customer_id = ?", (new.id,)) == 0
    # No welcome sequence until they say /start; then they are welcomed as new and subscribed.
    await harness.advance(hours=25)
    assert await db.fetch_value("SELECT COUNT(*) FROM outbox WHERE customer_id = ?", (new.id,)) == 0
    replies = texts(await zoryana.send("/start"))
    assert "Welcome to" in replies and "subscribed to our news and offers again" not in replies
    fresh = await harness.services["customers"].repo.by_tg_id(TG_ID)
    assert fresh is not None and not fresh.opted_out


async def test_the_ledger_allows_no_change_but_blanking_a_reason(harness: Harness) -> None:
    await a_customer_with_a_history(harness)
    db = harness.services["db"]
    if not engines.ON_POSTGRES:
        assert await db.fetch_value("PRAGMA secure_delete") == 1  # what is deleted is zeroed, on every build
    entry = await db.fetch_value("SELECT id FROM points_ledger WHERE reason LIKE ?", (f"{SURNAME}%",))
    for sql in (
        "UPDATE points_ledger SET delta = delta + 1 WHERE id = ?",
        "UPDATE points_ledger SET reason = 'something else' WHERE id = ?",
        "UPDATE points_ledger SET reason = NULL, delta = 1000 WHERE id = ?",
        "DELETE FROM points_ledger WHERE id = ?",
    ):
        with pytest.raises(
            (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError), match="append-only"
        ):
            await db.execute(sql, (entry,))
    assert await db.execute("UPDATE points_ledger SET reason = NULL WHERE id = ?", (entry,)) == 1
    assert (
        await harness.services["ledger"].balance(
            (await harness.services["customers"].repo.by_tg_id(TG_ID)).id  # type: ignore[union-attr]
        )
        > 50
    )


async def test_a_revoked_manager_is_removed_from_the_managers_group_and_can_be_invited_again(
    harness: Harness,
) -> None:
    await manager_chat(harness)
    harness.emu.set_member(MANAGERS, OLGA, "member")
    owner = harness.chat(OWNER_ID, first_name="Owner")
    await owner.send("/staff")
    await owner.click(f"Revoke staff {OLGA}")
    assert owner.last_callback_answer is not None and owner.last_callback_answer.text == (
        "Access revoked. They are removed from the managers' group."
    )
    await settle(harness)
    assert harness.emu.member(MANAGERS, OLGA) == "left"  # banned, then unbanned: out, free to come back
    assert [str(c.params["user_id"]) for c in harness.emu.calls_of("banChatMember")] == [str(OLGA)]
    assert [str(c.params["user_id"]) for c in harness.emu.calls_of("unbanChatMember")] == [str(OLGA)]
    assert not await harness.services["staff"].revoke(OLGA, OWNER_ID)  # a second revoke does nothing …
    await settle(harness)
    assert len(harness.emu.calls_of("banChatMember")) == 1  # … and removes no one again


async def test_a_cashiers_notice_naming_the_customer_is_scrubbed_and_deleted(harness: Harness) -> None:
    zoryana = harness.chat(TG_ID, first_name=NAME, username=USERNAME)
    await zoryana.send("/start")
    code = await card_code(zoryana)
    cashier = await ask_to_pay_with_points(harness, zoryana)
    await settle(harness)
    await zoryana.click("No, keep my points", message=await zoryana.wait_for_text("suggests paying"))
    await settle(harness)
    [notice] = [m for m in cashier.messages() if "declined paying with points" in str(m)]
    assert NAME in str(notice)
    await forget(harness, zoryana)
    assert notice.deleted
    assert found_in_tables(harness.settings.database_path, [NAME, USERNAME, code]) == []


async def test_the_inviters_notice_naming_a_forgotten_friend_is_scrubbed_and_deleted(harness: Harness) -> None:
    boris = harness.chat(1002, first_name="Boris")
    await boris.send("/start")
    link = re.search(r"start=(ref-\w+)", str((await boris.send("/invite"))[-1]))
    assert link is not None
    zoryana = harness.chat(TG_ID, first_name=NAME, username=USERNAME)
    await zoryana.send(f"/start {link.group(1)}")
    cashier = await hire(harness)
    await cashier.send(f"/sale {await card_code(zoryana)} 1000")
    await settle(harness)
    [notice] = [m for m in boris.messages() if NAME in str(m)]
    await forget(harness, zoryana)
    assert notice.deleted
    assert found_in_tables(harness.settings.database_path, [NAME, USERNAME]) == []
    assert await harness.services["ledger"].balance((await customer_of(harness, 1002)).id) > 0  # his points stay


async def test_a_message_about_them_on_its_way_at_that_moment_is_deleted_once_it_lands(harness: Harness) -> None:
    zoryana, needles = await a_customer_with_a_history(harness, forum=False)
    db, outbox = harness.services["db"], harness.services["outbox"]
    row_id, message_id = await db.fetch_one(  # type: ignore[misc]
        "SELECT id, tg_message_id FROM outbox WHERE chat_id = ? AND lead_id IS NOT NULL ORDER BY id LIMIT 1",
        (MANAGERS,),
    )
    # The card is being sent by a drain right now: claimed, its Telegram id not known yet.
    await db.execute("UPDATE outbox SET state = 'sending', tg_message_id = NULL WHERE id = ?", (row_id,))

    async def the_drain_finishes() -> None:  # what waiting for the sender sees: the card landed, and a
        # relay to her failed, its "not delivered" notice made from the payload the sender held in memory
        await outbox.mark_sent(row_id, message_id, harness.clock.now())
        notice = Outgoing(text=f"⚠️ Not delivered to {NAME}: blocked.").to_payload()
        lead_id = await db.fetch_value("SELECT lead_id FROM outbox WHERE id = ?", (row_id,))
        failed = NewMessage("failed:999", MANAGERS, "notice", notice, harness.clock.now(), lead_id=lead_id)
        await outbox.enqueue(failed, harness.clock.now())

    harness.services["forgetting"].sender_idle = the_drain_finishes
    await forget(harness, zoryana)
    card = harness.emu.chat(MANAGERS).messages[message_id]
    assert getattr(card, "deleted", False)
    assert not [n for n in needles if n in texts(group_messages(harness))]
    assert found_in_tables(harness.settings.database_path, needles) == []
