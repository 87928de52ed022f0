"""/forget in SQL: what the bot left in Telegram about a customer, and erasing them from every table.

The customer row stays, anonymous, so that purchases (amounts, dates, categories) still add up in the
figures; everything that names or identifies the person goes: names, username, phone, birthday, language,
source, tags, card, what they wrote (messages, FAQ questions, lead context), event details, free-text
reasons in the ledger and audit log, and what the outbox holds for or about them (payloads, their chat id,
keys made of their Telegram id). Outbox rows are tied to a customer in four ways: `customer_id` (messages
to them), `lead_id` (what the managers' chat got about their leads), the key of a staff notice about one
of their sale drafts or purchases (`spend-yes:<draft>`, `spend-no:<draft>:…`, `low-score:<purchase>:…`)
and the key of the notice telling whoever invited them that they bought (`referral:<them>:referrer`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from storage.db import Tx
from storage.events import append_event
from storage.name_index import drop_erased_names
from storage.timefmt import to_db

# Ledger reasons the code writes itself: they say nothing about the person and stay for the figures.
FIXED_REASONS = ("welcome", "birthday", "referral", "opening balance")
OPEN_DRAFT_STATES = ("amount", "category", "summary", "awaiting_customer")


@dataclass
class Traces:
    """What the bot posted in Telegram about a customer, to be cleaned up there."""

    topics: list[tuple[int, int]] = field(default_factory=list)  # (chat id, thread id) of their forum topics
    posted: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # chat id → message ids
    in_flight: list[int] = field(default_factory=list)  # outbox rows about them being sent at this moment


async def _about_rows(tx: Tx, customer_id: int) -> list[int]:
    """Ids of the outbox rows for or about the customer (see the module docstring)."""
    rows = await tx.fetch_all(
        "SELECT id FROM outbox WHERE customer_id = ?"
        " UNION SELECT o.id FROM outbox o JOIN leads l ON l.id = o.lead_id WHERE l.customer_id = ?",
        (customer_id, customer_id),
    )
    ids = {int(row[0]) for row in rows}
    ids.update(await _keyed(tx, exact=f"referral:{customer_id}:referrer"))  # "your friend … bought": names them
    ranges: list[str] = []
    for draft in await tx.fetch_all("SELECT id FROM sale_drafts WHERE customer_id = ?", (customer_id,)):
        ids.update(await _keyed(tx, exact=f"spend-yes:{draft[0]}"))
        ranges.append(f"spend-no:{draft[0]}:")
    for purchase in await tx.fetch_all("SELECT id FROM purchases WHERE customer_id = ?", (customer_id,)):
        ranges.append(f"low-score:{purchase[0]}:")
    for prefix in ranges:
        ids.update(await _keyed(tx, prefix=prefix))
    return sorted(ids)


async def _keyed(tx: Tx, *, exact: str | None = None, prefix: str | None = None) -> list[int]:
    if exact is not None:
        rows = await tx.fetch_all("SELECT id FROM outbox WHERE idempotency_key = ?", (exact,))
    else:
        assert prefix is not None and prefix.endswith(":")
        # A range on the unique index: every key starting with the prefix (';' sorts right after ':').
        rows = await tx.fetch_all(
            "SELECT id FROM outbox WHERE idempotency_key >= ? AND idempotency_key < ?", (prefix, prefix[:-1] + ";")
        )
    return [int(row[0]) for row in rows]


async def traces_of(tx: Tx, customer_id: int) -> Traces:
    """The customer's forum topics and every message the bot posted about them to others (lead cards,
    copies of what they wrote, notes, reminders, staff notices, their inviter's bonus notice), plus the
    managers' messages that were relayed to them. Read in the transaction that erases, so nothing is
    missed or lost between."""
    traces = Traces()
    topics = await tx.fetch_all(
        "SELECT chat_id, thread_id FROM manager_topics WHERE customer_id = ?", (customer_id,)
    )
    traces.topics = [(int(row[0]), int(row[1])) for row in topics]
    ids = await _about_rows(tx, customer_id)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await tx.fetch_all(
            f"SELECT id, customer_id, chat_id, tg_message_id, kind, state, payload FROM outbox WHERE id IN ({marks})",
            chunk,
        )
        for row in rows:
            if row["state"] == "sending":  # its outcome (message id, a failure notice) comes later
                traces.in_flight.append(int(row["id"]))
            if row["customer_id"] != customer_id and row["tg_message_id"] is not None:  # to others, about them
                traces.posted[int(row["chat_id"])].add(int(row["tg_message_id"]))
            elif row["kind"] == "relay":  # a manager's message copied to them: it sits in the managers' chat
                payload = json.loads(row["payload"])
                if payload.get("copy_chat_id") is not None and payload.get("copy_message_id") is not None:
                    traces.posted[int(payload["copy_chat_id"])].add(int(payload["copy_message_id"]))
    return traces


async def erase(tx: Tx, customer_id: int, now: datetime) -> None:
    """Erase everything personal about the customer; the row stays, anonymous, for the figures."""
    stamp = to_db(now)
    await tx.execute(
        "UPDATE customers SET tg_id = NULL, first_name = NULL, last_name = NULL, username = NULL, phone = NULL,"
        " birthday_day = NULL, birthday_month = NULL, birthday_year = NULL, language = NULL,"
        " chosen_language = NULL, source = NULL, opted_out = 1, unreachable = 0, onboarding_step = NULL,"
        " forgotten_at = ? WHERE id = ?",
        (stamp, customer_id),
    )
    await tx.execute("DELETE FROM customer_tags WHERE customer_id = ?", (customer_id,))
    # The names left the search index with the UPDATE; storage/name_index.py drops their traces too.
    await drop_erased_names(tx)
    await tx.execute(
        "DELETE FROM loyalty_cards WHERE customer_id = ?", (customer_id,)
    )  # the old card finds no one
    await tx.execute("UPDATE events SET data = NULL WHERE customer_id = ?", (customer_id,))
    # What they wrote is theirs: their messages go, their questions stay only as counts, their leads keep
    # the outcome for statistics (an open one is closed) but lose what it was about.
    await tx.execute("DELETE FROM customer_messages WHERE customer_id = ?", (customer_id,))
    await tx.execute(
        "UPDATE faq_log SET customer_id = NULL, text = '', normalized = '' WHERE customer_id = ?", (customer_id,)
    )
    await tx.execute(
        "UPDATE leads SET context = NULL, remind_at = NULL,"
        " state = CASE WHEN state IN ('open', 'taken') THEN 'lost' ELSE state END,"
        " closed_at = COALESCE(closed_at, ?) WHERE customer_id = ?",
        (stamp, customer_id),
    )
    await tx.execute("DELETE FROM manager_topics WHERE customer_id = ?", (customer_id,))
    await _erase_money_notes(tx, customer_id, now)
    await erase_outbox(tx, customer_id)
    await append_event(tx, customer_id, "forgotten", now)


async def _erase_money_notes(tx: Tx, customer_id: int, now: datetime) -> None:
    """Free text next to money: the ledger's reasons (the one update its trigger allows) and the audit's."""
    marks = ",".join("?" * len(FIXED_REASONS))
    await tx.execute(
        f"UPDATE points_ledger SET reason = NULL WHERE customer_id = ? AND reason IS NOT NULL"
        f" AND reason NOT IN ({marks})",
        (customer_id, *FIXED_REASONS),
    )
    await _drop_audit_reasons(tx, customer_id)
    # Nothing of theirs can be used any more: open coupons end now, an unfinished sale is cancelled.
    await tx.execute(
        "UPDATE coupons SET valid_until = ? WHERE customer_id = ? AND redeemed_at IS NULL AND valid_until > ?",
        (to_db(now), customer_id, to_db(now)),
    )
    marks = ",".join("?" * len(OPEN_DRAFT_STATES))
    await tx.execute(
        f"UPDATE sale_drafts SET state = 'cancelled', updated_at = ? WHERE customer_id = ? AND state IN ({marks})",
        (to_db(now), customer_id, *OPEN_DRAFT_STATES),
    )


async def _drop_audit_reasons(tx: Tx, customer_id: int) -> None:
    """The reason goes from the details of each points adjustment of theirs (a few rows: JSON edited here,
    the same on both engines)."""
    rows = await tx.fetch_all(
        "SELECT id, details FROM audit_log WHERE subject = ? AND action = 'points_adjusted' AND details IS NOT NULL",
        (str(customer_id),),
    )
    for row in rows:
        details = json.loads(row[1])
        if isinstance(details, dict) and "reason" in details:
            del details["reason"]
            await tx.execute(
                "UPDATE audit_log SET details = ? WHERE id = ?",
                (json.dumps(details, ensure_ascii=False, sort_keys=True, default=str), row[0]),
            )


async def erase_outbox(tx: Tx, customer_id: int) -> None:
    """Rows for or about them keep only their state and times (delivery figures); what waits is cancelled.
    Their Telegram id goes from the chat id and from keys (`relay-in:<tg id>:…`); ids of messages the bot
    posted in staff chats stay, so a crash cannot lose the deletion queued with this erase."""
    ids = await _about_rows(tx, customer_id)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        await tx.execute(
            "UPDATE outbox SET payload = '{}', idempotency_key = 'forgotten:' || id, last_error = CASE"
            " WHEN state = 'pending' THEN 'customer data deleted' ELSE NULL END,"
            " state = CASE WHEN state = 'pending' THEN 'cancelled' ELSE state END,"
            f" chat_id = CASE WHEN customer_id = ? THEN 0 ELSE chat_id END WHERE id IN ({marks})",
            (customer_id, *chunk),
        )
