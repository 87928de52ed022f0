"""Bounded storage: repeated presses count once, a broadcast's content is stored once, old rows are pruned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.sandbox.driver import ChatDriver
from bot.settings import SettingsError
from flows.retention import Retention
from storage import retention as store
from storage.events import append_event
from storage.kv import kv_set
from storage.timefmt import to_db
from tests.broadcast_helpers import buy, customer, owner, wizard
from tests.conftest import OWNER_ID, Harness, make_settings
from tests.loyalty_helpers import deliver

WELCOME_1 = "Here is how it works"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"contact_budget_per_day": 20, "contact_budget_per_week": 50, "quiet_hours": ""}


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rate_limits": False}


async def test_pressing_a_step_button_twice_counts_one_click(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await harness.advance(minutes=1)
    first = next(m for m in chat.messages() if WELCOME_1 in m.plain_text)
    await chat.click("Tell me more", message=first)
    await harness.advance(seconds=1)
    await chat.click("Tell me more", message=first)
    await harness.tick()
    report = "\n".join(m.plain_text for m in await harness.chat(OWNER_ID).send("/sequences"))
    assert "1: 1 sent/1 click" in report


async def test_pressing_a_broadcast_button_twice_counts_one_click_and_still_acts(harness: Harness) -> None:
    await customer(harness, 1001)
    await wizard(harness, "everyone", buttons="I want it | interested")
    await deliver(harness)
    anna = harness.chat(1001)
    assert await anna.click("I want it")
    again = await anna.click("I want it")
    assert again  # the second press is still answered
    report = str((await owner(harness).send("/broadcasts"))[-1])
    assert "1 click by 1 person" in report


async def test_a_broadcast_stores_its_message_once_and_every_recipient_gets_it_whole(harness: Harness) -> None:
    for n in range(3):
        await customer(harness, 1001 + n, f"C{n}")
    long_text = "Весняний розпродаж: " + "знижки на все " * 100  # 1,400 Cyrillic characters
    await wizard(harness, "everyone", text=long_text, buttons="I want it | interested")
    db = harness.services["db"]
    sizes = await db.fetch_all("SELECT length(payload) FROM outbox WHERE kind = 'broadcast'")
    assert len(sizes) == 3 and all(row[0] <= 2 for row in sizes)  # the three customers: '{}' each
    await deliver(harness)
    for n in range(3):
        [got] = [m for m in harness.emu.messages(1001 + n) if "Весняний" in str(m)]
        assert got.plain_text.strip() == long_text.strip()
        assert [label for row in got.buttons for label, _ in row] == ["I want it"]


async def test_rows_queued_with_the_whole_message_before_the_upgrade_still_go_out(harness: Harness) -> None:
    await customer(harness, 1001)
    await wizard(harness, "everyone", text="Old-style sale")
    # Back to the shape rows had before 0008: the whole message in every row, none on the broadcast.
    async with harness.services["db"].transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET payload = (SELECT payload FROM broadcasts b WHERE b.id = outbox.broadcast_id)"
            " WHERE kind = 'broadcast'"
        )
        changed = await tx.execute("UPDATE broadcasts SET payload = NULL WHERE payload IS NOT NULL")
    assert changed == 1
    await deliver(harness)
    assert sum("Old-style sale" in str(m) for m in harness.emu.messages(1001)) == 1


async def count(harness: Harness, sql: str, *params: object) -> int:
    return int(await harness.services["db"].fetch_value(sql, params))


def retention(harness: Harness) -> Retention:
    found = harness.app.jobs.retention
    assert found is not None
    return found


async def test_the_daily_job_prunes_finished_rows_past_their_windows_and_keeps_the_books(
    harness: Harness, chat: ChatDriver
) -> None:
    await chat.send("/start")
    anna = await customer(harness, 1001)
    await buy(harness, anna, "500")
    await harness.advance(days=3)  # the welcome steps go out
    sent = await count(harness, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
    events = await count(harness, "SELECT COUNT(*) FROM events WHERE kind NOT IN ('started')")
    started = await count(harness, "SELECT COUNT(*) FROM events WHERE kind = 'started'")
    books = await count(harness, "SELECT (SELECT COUNT(*) FROM purchases) * 1000 + COUNT(*) FROM points_ledger")
    assert sent >= 1 and events >= 2
    harness.clock.advance(timedelta(days=400))
    await harness.advance(hours=24)  # a day boundary and 10:00 local: the daily job runs
    old = to_db(harness.clock.now() - timedelta(days=300))
    assert await count(harness, "SELECT COUNT(*) FROM outbox WHERE due_at < ?", old) == 0
    assert await count(harness, "SELECT COUNT(*) FROM events WHERE created_at < ? AND kind <> 'started'", old) == 0
    assert await count(harness, "SELECT COUNT(*) FROM events WHERE kind = 'started'") == started  # was here
    assert await count(harness, "SELECT COUNT(*) FROM processed_updates WHERE seen_at < ?", old) == 0
    after = await count(harness, "SELECT (SELECT COUNT(*) FROM purchases) * 1000 + COUNT(*) FROM points_ledger")
    assert after >= books  # purchases and points are the books: never pruned


async def test_rows_still_in_use_are_kept_however_old(harness: Harness) -> None:
    db = harness.services["db"]
    long_ago = harness.clock.now() - timedelta(days=1000)
    async with db.transaction() as tx:
        first = await append_event(tx, None, "tag_added", long_ago, {"tag": "a"})
        unread = await append_event(tx, None, "tag_added", long_ago, {"tag": "b"})  # after the cursor
        await tx.execute(
            "INSERT INTO outbox (idempotency_key, chat_id, kind, payload, due_at, created_at, state)"
            " VALUES ('old-pending', 1, 'notice', '{}', ?, ?, 'pending'), ('old-sent', 1, 'notice', '{}', ?, ?, 'sent')",
            (to_db(long_ago),) * 4,
        )
        await kv_set(tx, "sequences.event_cursor", str(first))
    pruned = await store.prune_events(db, harness.clock.now() - timedelta(days=10), first, ("started",), batch=1)
    assert pruned >= 1
    kept = {row[0] for row in await db.fetch_all("SELECT id FROM events")}
    assert first not in kept and unread in kept
    await store.prune_outbox(db, harness.clock.now() - timedelta(days=10), batch=1)
    keys = {row[0] for row in await db.fetch_all("SELECT idempotency_key FROM outbox")}
    assert "old-pending" in keys and "old-sent" not in keys


async def test_pruning_goes_in_small_batches_until_everything_old_is_gone(harness: Harness) -> None:
    db = harness.services["db"]
    long_ago = to_db(harness.clock.now() - timedelta(days=1000))
    async with db.transaction() as tx:
        for n in range(7):
            await tx.execute("INSERT INTO audit_log (action, created_at) VALUES (?, ?)", (f"old{n}", long_ago))
    before = await count(harness, "SELECT COUNT(*) FROM audit_log")
    deleted = await store.prune_by_time(
        db, "audit_log", "created_at", harness.clock.now() - timedelta(days=365), batch=3
    )
    assert deleted == 7 and await count(harness, "SELECT COUNT(*) FROM audit_log") == before - 7


async def test_a_broadcast_keeps_its_figures_after_its_rows_are_pruned(harness: Harness) -> None:
    anna = await customer(harness, 1001)
    await customer(harness, 1002, "Ivan")
    await wizard(harness, "everyone", buttons="I want it | interested")
    await deliver(harness)
    await harness.chat(1001).click("I want it")
    await harness.advance(days=2)
    await buy(harness, anna, "1200")
    before = str((await owner(harness).send("/broadcasts"))[-1])
    assert "1 click by 1 person" in before and "1 purchase · revenue 1,200.00" in before
    harness.clock.advance(timedelta(days=120))
    await retention(harness).prune()
    assert await count(harness, "SELECT COUNT(*) FROM outbox WHERE kind = 'broadcast'") == 0
    after = str((await owner(harness).send("/broadcasts"))[-1])
    assert after.split("Broadcasts</b>")[-1] == before.split("Broadcasts</b>")[-1]


async def test_closed_leads_go_after_their_window_and_open_ones_stay(harness: Harness) -> None:
    db = harness.services["db"]
    anna = await customer(harness, 1001)
    ivan = await customer(harness, 1002, "Ivan")
    long_ago = to_db(harness.clock.now() - timedelta(days=1000))
    async with db.transaction() as tx:
        closed = await tx.insert(
            "INSERT INTO leads (customer_id, state, cause, chat_id, closed_at, created_at)"
            " VALUES (?, 'won', 'manager', -1, ?, ?)",
            (anna.id, long_ago, long_ago),
        )
        await tx.insert(
            "INSERT INTO leads (customer_id, state, cause, chat_id, created_at) VALUES (?, 'open', 'manager', -1, ?)",
            (ivan.id, long_ago),
        )
        await tx.execute(
            "INSERT INTO outbox (idempotency_key, chat_id, kind, payload, due_at, created_at, state, lead_id)"
            " VALUES ('card', -1, 'lead', '{}', ?, ?, 'sent', ?)",
            (long_ago, long_ago, closed),
        )
        await tx.execute(
            "UPDATE leads SET card_outbox_id = (SELECT id FROM outbox WHERE idempotency_key = 'card') WHERE id = ?",
            (closed,),
        )
    await retention(harness).prune()
    assert await count(harness, "SELECT COUNT(*) FROM leads WHERE state = 'open'") == 1
    assert await count(harness, "SELECT COUNT(*) FROM leads WHERE state = 'won'") == 0
    await retention(harness).prune()  # the card row, no longer pointed at by a lead, goes the next day
    assert await count(harness, "SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'card'") == 0


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("retention_events_days", -1, "or 0 to keep these rows forever"),
        ("retention_outbox_days", 3, "weekly contact budget"),
        ("retention_events_days", 5, "BROADCAST_ATTRIBUTION_DAYS"),
    ],
)
def test_retention_settings_are_validated(tmp_path: Any, variable: str, value: int, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        make_settings(tmp_path, "http://127.0.0.1:1", **{variable: value})
    assert make_settings(tmp_path, "http://127.0.0.1:1", **{variable: 0}) is not None  # 0: keep forever


async def test_sequence_conversion_survives_the_pruning_of_old_events(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await harness.advance(minutes=1)  # the welcome sequence enrols on the started event
    await harness.advance(minutes=10)  # and its first message reaches the customer (credit needs one)
    await buy(harness, await customer(harness, 1001), "500")
    owner_chat = harness.chat(OWNER_ID)
    report = "\n".join(m.plain_text for m in await owner_chat.send("/sequences"))
    assert "bought during or ≤7 days after: 1" in report
    await harness.advance(days=400)  # the sequences read the purchase event, so it may go
    await retention(harness).prune()
    assert await count(harness, "SELECT COUNT(*) FROM events WHERE kind = 'purchase'") == 0
    report = "\n".join(m.plain_text for m in await owner_chat.send("/sequences"))
    assert "bought during or ≤7 days after: 1" in report  # read from the purchases, which stay


async def test_batches_start_small_and_grow_until_everything_old_is_gone(harness: Harness) -> None:
    db = harness.services["db"]
    long_ago = to_db(harness.clock.now() - timedelta(days=1000))
    async with db.transaction() as tx:
        await tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)"
            " INSERT INTO faq_log (text, normalized, outcome, created_at) SELECT 'q', 'q', 'missed', ? FROM n",
            (long_ago,),
        )
        await tx.execute(
            "INSERT INTO faq_log (text, normalized, outcome, created_at) VALUES ('new', 'new', 'missed', ?)",
            (to_db(harness.clock.now()),),
        )
    deleted = await store.prune_by_time(db, "faq_log", "created_at", harness.clock.now() - timedelta(days=180))
    assert deleted == 2500  # 100, 200, 400 … rows per transaction, more than one batch of the 2,000 at most
    assert await count(harness, "SELECT COUNT(*) FROM faq_log") == 1
