"""Leads (a customer handed to a manager), the customers' forum topics, and who counts as a manager."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Row, Tx
from storage.dialect import engine_of, seconds_between
from storage.outbox import NewMessage, enqueue
from storage.timefmt import from_db, to_db

OPEN_STATES = ("open", "taken")


@dataclass(frozen=True)
class Lead:
    id: int
    customer_id: int
    state: str  # open | taken | won | lost
    cause: str
    context: str | None
    offer: str | None
    chat_id: int
    thread_id: int | None
    card_outbox_id: int | None
    taken_by: int | None
    taken_by_name: str | None
    taken_at: datetime | None
    first_answer_at: datetime | None
    closed_by_name: str | None
    closed_at: datetime | None
    reminders: int
    remind_at: datetime | None
    created_at: datetime
    last_customer_at: datetime | None = None
    last_manager_at: datetime | None = None
    close_reason: str | None = None  # 'no_answer' when closed for silence

    @property
    def last_activity(self) -> datetime:
        """The last message either way (or the taking, or the opening)."""
        moments = (self.created_at, self.taken_at, self.last_customer_at, self.last_manager_at)
        return max(moment for moment in moments if moment is not None)

    @property
    def waiting_since(self) -> datetime | None:
        """Since when the customer waits for an answer: their last message, when no manager wrote after it
        (a lead nobody answered at all waits since it opened)."""
        if self.last_customer_at is not None and (
            self.last_manager_at is None or self.last_customer_at > self.last_manager_at
        ):
            return self.last_customer_at
        return self.created_at if self.last_manager_at is None else None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def _lead(row: Row) -> Lead:
    return Lead(
        id=row["id"],
        customer_id=row["customer_id"],
        state=row["state"],
        cause=row["cause"],
        context=row["context"],
        offer=row["offer"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"],
        card_outbox_id=row["card_outbox_id"],
        taken_by=row["taken_by"],
        taken_by_name=row["taken_by_name"],
        taken_at=from_db(row["taken_at"]),
        first_answer_at=from_db(row["first_answer_at"]),
        closed_by_name=row["closed_by_name"],
        closed_at=from_db(row["closed_at"]),
        reminders=row["reminders"],
        remind_at=from_db(row["remind_at"]),
        created_at=from_db(row["created_at"]),  # type: ignore[arg-type]
        last_customer_at=from_db(row["last_customer_at"]),
        last_manager_at=from_db(row["last_manager_at"]),
        close_reason=row["close_reason"],
    )


async def insert_lead(
    tx: Tx,
    customer_id: int,
    cause: str,
    context: str | None,
    offer: str | None,
    chat_id: int,
    thread_id: int | None,
    remind_at: datetime | None,
    now: datetime,
) -> int | None:
    """A new open lead; None when the customer already has one (the unique index decides, not a read)."""
    changed = await tx.execute(
        "INSERT INTO leads (customer_id, cause, context, offer, chat_id, thread_id, remind_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            customer_id,
            cause,
            context,
            offer,
            chat_id,
            thread_id,
            to_db(remind_at) if remind_at else None,
            to_db(now),
        ),
    )
    if not changed:
        return None
    row = await tx.fetch_one(
        "SELECT id FROM leads WHERE customer_id = ? AND state IN ('open', 'taken')", (customer_id,)
    )
    return int(row[0]) if row else None


async def open_lead_in(tx: Tx, customer_id: int) -> Lead | None:
    row = await tx.fetch_one(
        "SELECT * FROM leads WHERE customer_id = ? AND state IN ('open', 'taken')", (customer_id,)
    )
    return _lead(row) if row else None


async def set_card(tx: Tx, lead_id: int, outbox_id: int | None) -> None:
    await tx.execute("UPDATE leads SET card_outbox_id = ? WHERE id = ?", (outbox_id, lead_id))


async def outbox_id_of(tx: Tx, key: str) -> int | None:
    row = await tx.fetch_one("SELECT id FROM outbox WHERE idempotency_key = ?", (key,))
    return int(row[0]) if row else None


async def answered(tx: Tx, lead_id: int, manager_id: int, manager_name: str, now: datetime) -> bool:
    """A manager wrote to the customer: the first answer is timed, and an untaken lead becomes theirs.
    True when this made them the taker."""
    await tx.execute(
        "UPDATE leads SET first_answer_at = COALESCE(first_answer_at, ?), last_manager_at = ? WHERE id = ?",
        (to_db(now), to_db(now), lead_id),
    )
    return (
        await tx.execute(
            "UPDATE leads SET state = 'taken', taken_by = ?, taken_by_name = ?, taken_at = ?, remind_at = NULL"
            " WHERE id = ? AND state = 'open'",
            (manager_id, manager_name, to_db(now), lead_id),
        )
        == 1
    )


async def reminded(tx: Tx, lead_id: int, next_at: datetime | None) -> bool:
    return (
        await tx.execute(
            "UPDATE leads SET reminders = reminders + 1, remind_at = ? WHERE id = ? AND state = 'open'",
            (to_db(next_at) if next_at else None, lead_id),
        )
        == 1
    )


@dataclass(frozen=True)
class LeadStats:
    by_state: dict[str, int]
    by_cause: dict[str, int]
    answer_minutes: list[float]  # minutes from the lead to the first manager message, per answered lead
    waiting: list[Row]  # open leads nobody took: id, customer name, created_at
    no_answer: int = 0  # of the lost ones, closed for silence (LEAD_IDLE_CLOSE_HOURS)


class LeadsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, lead_id: int) -> Lead | None:
        row = await self._db.fetch_one("SELECT * FROM leads WHERE id = ?", (lead_id,))
        return _lead(row) if row else None

    async def open_for(self, customer_id: int) -> Lead | None:
        row = await self._db.fetch_one(
            "SELECT * FROM leads WHERE customer_id = ? AND state IN ('open', 'taken')", (customer_id,)
        )
        return _lead(row) if row else None

    async def for_customer(self, customer_id: int) -> list[Lead]:
        rows = await self._db.fetch_all("SELECT * FROM leads WHERE customer_id = ? ORDER BY id", (customer_id,))
        return [_lead(row) for row in rows]

    async def take(self, lead_id: int, manager_id: int, manager_name: str, now: datetime) -> bool:
        """Assign an open lead; of two managers pressing at once exactly one gets True."""
        return (
            await self._db.execute(
                "UPDATE leads SET state = 'taken', taken_by = ?, taken_by_name = ?, taken_at = ?, remind_at = NULL"
                " WHERE id = ? AND state = 'open'",
                (manager_id, manager_name, to_db(now), lead_id),
            )
            == 1
        )

    async def close(self, tx: Tx, lead_id: int, outcome: str, manager_id: int, name: str, now: datetime) -> bool:
        return (
            await tx.execute(
                "UPDATE leads SET state = ?, closed_by = ?, closed_by_name = ?, closed_at = ?, remind_at = NULL"
                " WHERE id = ? AND state IN ('open', 'taken')",
                (outcome, manager_id, name, to_db(now), lead_id),
            )
            == 1
        )

    async def customer_wrote(self, lead_id: int, now: datetime) -> None:
        await self._db.execute("UPDATE leads SET last_customer_at = ? WHERE id = ?", (to_db(now), lead_id))

    async def idle_taken(self, before: datetime, limit: int = 100) -> list[Lead]:
        """Taken leads with no message either way since `before`."""
        stamp = to_db(before)
        rows = await self._db.fetch_all(
            "SELECT * FROM leads WHERE state = 'taken' AND COALESCE(taken_at, created_at) < ?"
            " AND COALESCE(last_customer_at, created_at) < ? AND COALESCE(last_manager_at, created_at) < ?"
            " ORDER BY id LIMIT ?",
            (stamp, stamp, stamp, limit),
        )
        return [_lead(row) for row in rows]

    async def close_idle(self, tx: Tx, lead: Lead, now: datetime) -> bool:
        """Close a taken lead for silence, unless someone wrote since it was found idle."""
        return (
            await tx.execute(
                "UPDATE leads SET state = 'lost', close_reason = 'no_answer', closed_at = ?, remind_at = NULL"
                " WHERE id = ? AND state = 'taken' AND last_customer_at IS NOT DISTINCT FROM ?"
                " AND last_manager_at IS NOT DISTINCT FROM ?",
                (
                    to_db(now),
                    lead.id,
                    to_db(lead.last_customer_at) if lead.last_customer_at else None,
                    to_db(lead.last_manager_at) if lead.last_manager_at else None,
                ),
            )
            == 1
        )

    async def open_leads(self, limit: int = 30) -> list[tuple[Lead, str]]:
        """Open and taken leads with the customer's name, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT l.*, COALESCE(c.first_name, c.username, '#' || c.id) AS customer_name FROM leads l"
            " JOIN customers c ON c.id = l.customer_id WHERE l.state IN ('open', 'taken') ORDER BY l.id LIMIT ?",
            (limit,),
        )
        return [(_lead(row), row["customer_name"]) for row in rows]

    async def due_reminders(self, now: datetime, limit: int = 100) -> list[Lead]:
        rows = await self._db.fetch_all(
            "SELECT * FROM leads WHERE state = 'open' AND remind_at <= ? ORDER BY remind_at LIMIT ?",
            (to_db(now), limit),
        )
        return [_lead(row) for row in rows]

    async def customers_to_hold(self) -> list[int]:
        """Customers talking to a manager whose sequences are running anyway (a trigger started one)."""
        rows = await self._db.fetch_all(
            "SELECT DISTINCT l.customer_id FROM leads l JOIN enrollments e ON e.customer_id = l.customer_id"
            " WHERE l.state IN ('open', 'taken') AND e.state = 'active'"
        )
        return [row[0] for row in rows]

    # ---- forum topics ---------------------------------------------------------------------------

    async def topic_of(self, customer_id: int, chat_id: int) -> int | None:
        value = await self._db.fetch_value(
            "SELECT thread_id FROM manager_topics WHERE customer_id = ? AND chat_id = ?", (customer_id, chat_id)
        )
        return None if value is None else int(value)

    async def save_topic(
        self, customer_id: int, chat_id: int, thread_id: int, now: datetime, surplus: NewMessage | None = None
    ) -> int:
        """The customer's topic in `chat_id` from now on, unless another process saved one there first: the
        thread id that is the customer's now. Telegram just created `thread_id`, so a row another customer
        holds for the same id is stale (its topic is gone, e.g. a sandbox that restarted): it goes. When the
        first one wins, `surplus` (deleting the topic just made) is queued with the answer."""
        async with self._db.transaction() as tx:
            kept = await tx.fetch_one(
                "SELECT thread_id FROM manager_topics WHERE customer_id = ? AND chat_id = ?",
                (customer_id, chat_id),
            )
            if kept is not None and int(kept[0]) != thread_id:
                if surplus is not None:
                    await enqueue(tx, surplus, now)
                return int(kept[0])
            await tx.execute(
                "DELETE FROM manager_topics WHERE chat_id = ? AND thread_id = ? AND customer_id != ?",
                (chat_id, thread_id, customer_id),
            )
            await tx.execute(
                "INSERT INTO manager_topics (customer_id, chat_id, thread_id, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (customer_id) DO UPDATE SET chat_id = excluded.chat_id, thread_id = excluded.thread_id,"
                " created_at = excluded.created_at",
                (customer_id, chat_id, thread_id, to_db(now)),
            )
            return thread_id

    async def forget_topic(self, chat_id: int, thread_id: int) -> None:
        """Telegram says the topic is gone: nobody's topic any more (the next lead creates a new one)."""
        await self._db.execute(
            "DELETE FROM manager_topics WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id)
        )

    async def move_to_topic(self, lead_id: int, thread_id: int | None) -> None:
        await self._db.execute("UPDATE leads SET thread_id = ? WHERE id = ?", (thread_id, lead_id))

    async def customer_of_topic(self, chat_id: int, thread_id: int) -> int | None:
        value = await self._db.fetch_value(
            "SELECT customer_id FROM manager_topics WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id)
        )
        return None if value is None else int(value)

    # ---- the team --------------------------------------------------------------------------------

    # ---- statistics ------------------------------------------------------------------------------

    async def stats(self, since: datetime) -> LeadStats:
        stamp = to_db(since)
        states = await self._db.fetch_all(
            "SELECT state, COUNT(*) FROM leads WHERE created_at >= ? GROUP BY state", (stamp,)
        )
        causes = await self._db.fetch_all(
            "SELECT cause, COUNT(*) FROM leads WHERE created_at >= ? GROUP BY cause", (stamp,)
        )
        answers = await self._db.fetch_all(
            f"SELECT {seconds_between(engine_of(self._db), 'first_answer_at', 'created_at')} / 60.0 FROM leads"
            " WHERE created_at >= ? AND first_answer_at IS NOT NULL",
            (stamp,),
        )
        waiting = await self._db.fetch_all(
            "SELECT l.id, COALESCE(c.first_name, c.username, '#' || c.id) AS name, l.created_at FROM leads l"
            " JOIN customers c ON c.id = l.customer_id WHERE l.state = 'open' ORDER BY l.id LIMIT 20"
        )
        silent = await self._db.fetch_value(
            "SELECT COUNT(*) FROM leads WHERE created_at >= ? AND close_reason = 'no_answer'", (stamp,)
        )
        return LeadStats(
            {row[0]: row[1] for row in states},
            {row[0]: row[1] for row in causes},
            [max(float(row[0]), 0.0) for row in answers],
            waiting,
            int(silent or 0),
        )
