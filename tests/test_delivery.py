"""Every delivery outcome is classified in one place, and one row's outcome never touches another's."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest
from aiogram.client.telegram import TelegramAPIServer

from flows.messenger import Outgoing
from storage.outbox import NewMessage
from tests.conftest import OWNER_ID, Harness

MANAGERS = -100_200
NOTICE = {
    "chat_id": OWNER_ID,
    "text": "⚠️ Not delivered to Anna: {reason}.",
    "unknown_text": "⚠️ May not have been delivered to Anna: {reason}.",
}


async def queue(harness: Harness, text: str, chat_id: int = 1001, **extra: Any) -> int:
    """Queue a transactional message (as a receipt or a manager's reply would be) and return its row id."""
    outbox, now = harness.services["outbox"], harness.clock.now()
    payload = Outgoing(text=text).to_payload() | extra
    await outbox.enqueue(NewMessage(f"t:{text}", chat_id, "notice", payload, now, transactional=True), now)
    rows = await harness.app.db.fetch_all("SELECT id FROM outbox WHERE idempotency_key = ?", (f"t:{text}",))
    return int(rows[0][0])


async def state(harness: Harness, row_id: int) -> str:
    row = await harness.services["outbox"].get(row_id)
    assert row is not None
    return row.state


def texts(harness: Harness, chat_id: int) -> list[str]:
    return [m.plain_text or "" for m in harness.emu.messages(chat_id)]


@pytest.fixture
def anna(harness: Harness) -> int:
    harness.emu.user(1001, "Anna").started = True
    harness.emu.user(OWNER_ID, "Owner").started = True
    return 1001


@pytest.mark.parametrize("kind", ["reset", "html"])
async def test_a_lost_answer_leaves_the_fate_unknown_never_resent_and_reported(
    harness: Harness, anna: int, kind: str
) -> None:
    row = await queue(harness, "Your receipt", on_fail=NOTICE)
    harness.emu.inject_fault(kind)
    await harness.tick()
    assert await state(harness, row) == "unknown"
    await harness.advance(minutes=10)
    assert texts(harness, anna) == ["Your receipt"]  # Telegram took it once; it is not sent again
    [notice] = texts(harness, OWNER_ID)
    assert notice.startswith("⚠️ May not have been delivered to Anna")


async def test_a_timeout_after_telegram_took_the_message_is_not_resent(harness: Harness, anna: int) -> None:
    harness.app.bot.session.timeout = 1  # the emulator never answers this one: don't wait a minute for it
    row = await queue(harness, "Your receipt", on_fail=NOTICE)
    harness.emu.inject_fault("timeout")
    await harness.tick()
    assert await state(harness, row) == "unknown"
    await harness.advance(minutes=10)
    assert texts(harness, anna) == ["Your receipt"]
    assert texts(harness, OWNER_ID)[0].startswith("⚠️ May not have been delivered")


async def test_a_refused_connection_is_retried_later(harness: Harness, anna: int) -> None:
    await harness.emu.wait_for_call("getUpdates")  # polling is up (its long poll stays connected)
    session = harness.app.bot.session
    real = session.api
    session.api = TelegramAPIServer.from_base("http://127.0.0.1:1")  # nothing listens: connection refused
    row = await queue(harness, "Your receipt")
    report = await harness.tick()
    assert report["retrying"] == 1 and await state(harness, row) == "pending"
    session.api = real
    await harness.advance(seconds=5)  # the first backoff
    assert await state(harness, row) == "sent"
    assert texts(harness, anna) == ["Your receipt"]


async def test_a_server_error_is_retried_with_backoff(harness: Harness, anna: int) -> None:
    row = await queue(harness, "Your receipt")
    harness.emu.inject_fault("server")
    await harness.tick()
    assert await state(harness, row) == "pending"
    await harness.advance(seconds=1)
    assert texts(harness, anna) == []  # it waits its backoff
    await harness.advance(seconds=5)
    assert texts(harness, anna) == ["Your receipt"]


async def test_a_refusal_fails_the_row_with_the_reason(harness: Harness, anna: int) -> None:
    row = await queue(harness, "Your receipt", on_fail=NOTICE)
    harness.emu.inject_error(1, 400, "Bad Request: message is too long")
    await harness.tick()
    stored = await harness.services["outbox"].get(row)
    assert stored is not None and (stored.state, stored.last_error) == (
        "failed",
        "Bad Request: message is too long",
    )
    await harness.tick()  # the notice was queued with the failure
    assert texts(harness, OWNER_ID)[0].startswith("⚠️ Not delivered to Anna: Telegram refused it")


@pytest.mark.parametrize("kind", ["unauthorized", "conflict"])
async def test_a_revoked_token_or_a_second_instance_stops_sending_with_one_log_line(
    harness: Harness, anna: int, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [await queue(harness, f"Message {n}") for n in range(3)]
    harness.emu.inject_fault(kind, 3)
    await harness.tick()
    await harness.advance(seconds=30)
    assert [await state(harness, row) for row in rows] == ["pending"] * 3
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "sending stops" in lines[0].getMessage() and lines[0].exc_info is None
    harness.emu._faults.clear()
    await harness.advance(minutes=6)  # after the pause the bot tries again
    assert [await state(harness, row) for row in rows] == ["sent"] * 3


@pytest.mark.parametrize("settings_overrides", [{"manager_chat_id": MANAGERS}])
async def test_a_group_that_became_a_supergroup_is_followed(harness: Harness) -> None:
    harness.emu.group(MANAGERS, "Managers")
    harness.emu.group(MANAGERS - 1, "Managers")
    row = await queue(harness, "New lead", chat_id=MANAGERS)
    harness.emu.inject_fault("migrate", migrate_to=MANAGERS - 1)
    await harness.tick()
    await harness.advance(seconds=1)
    assert texts(harness, MANAGERS - 1) == ["New lead"]
    assert await state(harness, row) == "sent"
    assert harness.services["handoff"].manager_chat_id == MANAGERS - 1
    await harness.restart()
    assert harness.services["handoff"].manager_chat_id == MANAGERS - 1  # remembered


@pytest.mark.parametrize("kind", ["reset", "html", "server", "unauthorized"])
async def test_one_odd_error_strands_no_other_row(harness: Harness, kind: str) -> None:
    for user in range(2001, 2006):
        harness.emu.user(user).started = True
    rows = [await queue(harness, f"Message {user}", chat_id=user) for user in range(2001, 2006)]
    harness.emu.inject_fault(kind)
    await harness.tick()
    states = [await state(harness, row) for row in rows]
    assert "sending" not in states
    assert states.count("sent") >= 4 - (kind == "unauthorized") * 4  # a 401 stops the rest (left pending)


@pytest.mark.engines("sqlite", reason="SQLite's 'database is locked' (a busy writer) is what is retried")
async def test_a_locked_database_while_confirming_is_retried(
    harness: Harness, anna: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = harness.services["outbox"]
    real, failures = outbox.mark_sent, [sqlite3.OperationalError("database is locked")]

    async def flaky(*args: Any) -> None:
        if failures:
            raise failures.pop()
        await real(*args)

    monkeypatch.setattr(outbox, "mark_sent", flaky)
    row = await queue(harness, "Your receipt")
    await harness.tick()
    assert await state(harness, row) == "sent"
    assert texts(harness, anna) == ["Your receipt"]


async def test_the_cashier_hears_when_a_receipt_may_not_have_arrived(harness: Harness) -> None:
    from tests.loyalty_helpers import CASHIER_ID, card_code, hire

    chat = harness.chat(1001)
    await chat.send("/start")
    code = await card_code(chat)
    cashier = await hire(harness)
    await harness.advance(minutes=2)  # what /start queued is out of the way
    await cashier.send(f"/sale {code} 500")
    harness.emu.inject_fault("reset")
    await harness.tick()
    await harness.advance(seconds=2)
    receipts = [m for m in chat.messages() if "Thank you for your purchase" in str(m)]
    assert len(receipts) == 1  # Telegram took it once; never resent
    notice = [str(m) for m in harness.emu.messages(CASHIER_ID) if "receipt" in str(m).lower()]
    assert notice == [
        "⚠️ The receipt for Anna (purchase #1) may not have been delivered: Telegram's answer was lost after sending."
    ]
