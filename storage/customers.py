"""Customers: the upsert on every update, onboarding answers, opt-out, tags and forgetting.

Several processes (one PostgreSQL): the last-seen times and the processed marks of updates that changed
nothing are noted in each process's memory and written by that process's flush (each tick and at
shutdown). The writes merge whatever the order (a last-seen time only moves forward, a mark is inserted
once), so processes need not agree; a process that dies loses what it noted since its last flush — a
last-seen time a little old, and marks whose loss costs at most a read-only answer given again on a
re-delivery. Nothing that changes data waits on them: an effect commits its own mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storage.audience import is_reachable
from storage.db import Database, Row, Tx, customer_scope
from storage.events import append_event
from storage.forgetting import erase
from storage.timefmt import from_db, to_db
from storage.written_behind import WRITTEN_BEHIND


@dataclass(frozen=True)
class Customer:
    id: int
    tg_id: int | None
    first_name: str | None
    last_name: str | None
    username: str | None
    language: str | None
    chosen_language: str | None
    phone: str | None
    birthday_day: int | None
    birthday_month: int | None
    birthday_year: int | None
    source: str | None
    referrer_id: int | None
    opted_out: bool
    unreachable: bool
    onboarding_step: str | None
    onboarded: bool
    first_seen_at: datetime
    last_seen_at: datetime
    in_conversation: bool = False  # a lead is open: what they write goes to a manager (read on every update)

    @property
    def display_name(self) -> str:
        full = " ".join(part for part in (self.first_name, self.last_name) if part)
        return full or (f"@{self.username}" if self.username else f"#{self.id}")

    @property
    def preferred_language(self) -> str | None:
        return self.chosen_language or self.language


def _customer(row: Row) -> Customer:
    return Customer(
        id=row["id"],
        tg_id=row["tg_id"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        username=row["username"],
        language=row["language"],
        chosen_language=row["chosen_language"],
        phone=row["phone"],
        birthday_day=row["birthday_day"],
        birthday_month=row["birthday_month"],
        birthday_year=row["birthday_year"],
        source=row["source"],
        referrer_id=row["referrer_id"],
        opted_out=bool(row["opted_out"]),
        unreachable=bool(row["unreachable"]),
        onboarding_step=row["onboarding_step"],
        onboarded=bool(row["onboarded"]),
        first_seen_at=from_db(row["first_seen_at"]),  # type: ignore[arg-type]
        last_seen_at=from_db(row["last_seen_at"]),  # type: ignore[arg-type]
        in_conversation="in_conversation" in row.keys() and bool(row["in_conversation"]),  # noqa: SIM118 (Row: in looks at values)
    )


# Whether a lead is open for the customer, read with the customer so the per-update path needs no second query.
IN_CONVERSATION = (
    "EXISTS (SELECT 1 FROM leads WHERE leads.customer_id = customers.id AND leads.state IN ('open', 'taken'))"
    " AS in_conversation"
)

_UPSERT = f"""
INSERT INTO customers (tg_id, first_name, last_name, username, language, first_seen_at, last_seen_at, opted_out)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tg_id) DO UPDATE SET
    first_name = excluded.first_name,
    last_name = excluded.last_name,
    username = excluded.username,
    language = COALESCE(excluded.language, customers.language),
    last_seen_at = excluded.last_seen_at
RETURNING *, {IN_CONVERSATION}
"""


async def preferred_language_in(tx: Tx, tg_id: int) -> str | None:
    """The language a person reads (chosen, else Telegram's), by Telegram id; None for someone never seen."""
    row = await tx.fetch_one("SELECT COALESCE(chosen_language, language) FROM customers WHERE tg_id = ?", (tg_id,))
    return None if row is None or row[0] is None else str(row[0])


async def add_tag_in(tx: Tx, customer_id: int, tag: str, now: datetime) -> bool:
    """Tag the customer in the caller's transaction; True only when the tag is new (a trigger fires once)."""
    added = await tx.execute(
        "INSERT INTO customer_tags (customer_id, tag, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (customer_id, tag, to_db(now)),
    )
    if added:
        await append_event(tx, customer_id, "tag_added", now, {"tag": tag})
    return bool(added)


async def remove_tag_in(tx: Tx, customer_id: int, tag: str, now: datetime) -> bool:
    """Take a tag off in the caller's transaction; True only when the customer had it."""
    removed = await tx.execute("DELETE FROM customer_tags WHERE customer_id = ? AND tag = ?", (customer_id, tag))
    if removed:
        await append_event(tx, customer_id, "tag_removed", now, {"tag": tag})
    return bool(removed)


class CustomersRepo:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Written behind, in one transaction per flush: what the per-update hot path would otherwise write.
        self._handled: list[tuple[int, str]] = []
        self._last_seen: dict[int, str] = {}

    async def refresh_profile(
        self,
        tg_id: int,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
        language: str | None,
        now: datetime,
        *,
        subscribed: bool = True,
    ) -> Customer:
        """Create the customer on first contact, or store their new names, username or language.

        `subscribed` applies to a new record only: whether it starts with marketing consent (see `Customers.seen`).
        """
        stamp = to_db(now)
        values = (tg_id, first_name, last_name, username, language, stamp, stamp, int(not subscribed))
        async with self._db.serialized() as tx:  # one statement: atomic without BEGIN/COMMIT
            row = await tx.fetch_one(_UPSERT, values)
        assert row is not None
        return _customer(row)

    def note_seen(self, customer_id: int, now: datetime) -> None:
        """Remember (on the next flush) when the customer was last seen."""
        self._last_seen[customer_id] = to_db(now)

    def note_handled(self, update_id: int, seen_at: str) -> None:
        """Remember (on the next flush) that an update which changed nothing was handled."""
        self._handled.append((update_id, seen_at))

    async def flush_handled(self) -> int:
        """Write the handled updates and last-seen times noted since the previous flush; how many updates.

        If the write fails, what was noted is kept for the next flush instead of being dropped.
        """
        handled, self._handled = self._handled, []
        last_seen, self._last_seen = self._last_seen, {}
        if not handled and not last_seen:
            return 0
        try:
            # Scoped (WRITTEN_BEHIND): marks are row-locked inserts that skip an existing mark, and a
            # last-seen time only moves forward, one customer row at a time, in id order.
            async with self._db.transaction(WRITTEN_BEHIND) as tx:
                await tx.executemany(
                    "INSERT INTO processed_updates (update_id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    sorted(handled),
                )
                await tx.executemany(
                    "UPDATE customers SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?",
                    [(stamp, customer_id, stamp) for customer_id, stamp in sorted(last_seen.items())],
                )
        except BaseException:
            self._handled = handled + self._handled
            for customer_id, stamp in last_seen.items():
                self._last_seen[customer_id] = max(stamp, self._last_seen.get(customer_id, stamp))
            raise
        return len(handled)

    async def recent_update_ids(self, limit: int) -> list[int]:
        """The latest handled update ids, to recognise Telegram re-delivering them after a restart."""
        rows = await self._db.fetch_all(
            "SELECT update_id FROM processed_updates ORDER BY update_id DESC LIMIT ?", (limit,)
        )
        return [int(row[0]) for row in rows]

    async def get(self, customer_id: int) -> Customer | None:
        row = await self._db.fetch_one("SELECT * FROM customers WHERE id = ?", (customer_id,))
        return _customer(row) if row else None

    async def by_tg_id(self, tg_id: int) -> Customer | None:
        row = await self._db.fetch_one(f"SELECT *, {IN_CONVERSATION} FROM customers WHERE tg_id = ?", (tg_id,))
        return _customer(row) if row else None

    async def record_start(self, customer_id: int, source: str | None, first: bool, now: datetime) -> bool:
        """Log a /start, keep the first known source, and opt back in; True if they had opted out."""
        # Scoped (storage/postgres.py): it reads and updates only this customer's row and appends events,
        # which the sequences' cursor reads in an unscoped transaction, once every scoped one committed.
        async with self._db.transaction(customer_scope(customer_id)) as tx:
            row = await tx.fetch_one("SELECT opted_out FROM customers WHERE id = ?", (customer_id,))
            was_out = bool(row and row[0])
            await tx.execute(
                "UPDATE customers SET source = COALESCE(source, ?), opted_out = 0, unreachable = 0,"
                " started_at = COALESCE(started_at, ?) WHERE id = ?",
                (source, to_db(now), customer_id),
            )
            details: dict[str, object] = {"first": True} if first else {}
            if source:
                details["source"] = source
            await append_event(tx, customer_id, "started", now, details or None)
            if was_out and not first:  # a first /start is the consent itself, not a change of mind
                await append_event(tx, customer_id, "opted_in", now)
        return was_out

    async def set_opted_out(self, customer_id: int, opted_out: bool, now: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE customers SET opted_out = ? WHERE id = ?", (int(opted_out), customer_id))
            await append_event(tx, customer_id, "opted_out" if opted_out else "opted_in", now)

    async def set_unreachable(self, customer_id: int, now: datetime) -> None:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE customers SET unreachable = 1 WHERE id = ? AND unreachable = 0", (customer_id,)
            )
            if changed:
                await append_event(tx, customer_id, "blocked", now)

    async def set_reachable(self, customer_id: int, now: datetime) -> None:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE customers SET unreachable = 0 WHERE id = ? AND unreachable = 1", (customer_id,)
            )
            if changed:
                await append_event(tx, customer_id, "unblocked", now)

    async def set_onboarding(self, customer_id: int, step: str | None, *, onboarded: bool | None = None) -> None:
        if onboarded is None:
            await self._db.execute("UPDATE customers SET onboarding_step = ? WHERE id = ?", (step, customer_id))
        else:
            await self._db.execute(
                "UPDATE customers SET onboarding_step = ?, onboarded = ? WHERE id = ?",
                (step, int(onboarded), customer_id),
            )

    async def set_phone(self, customer_id: int, phone: str, now: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE customers SET phone = ? WHERE id = ?", (phone, customer_id))
            await append_event(tx, customer_id, "phone_shared", now)

    async def set_birthday(self, customer_id: int, day: int, month: int, year: int | None, now: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE customers SET birthday_day = ?, birthday_month = ?, birthday_year = ? WHERE id = ?",
                (day, month, year, customer_id),
            )
            await append_event(tx, customer_id, "birthday_set", now)

    async def set_chosen_language(self, customer_id: int, language: str) -> None:
        await self._db.execute("UPDATE customers SET chosen_language = ? WHERE id = ?", (language, customer_id))

    async def tags(self, customer_id: int) -> list[str]:
        rows = await self._db.fetch_all(
            "SELECT tag FROM customer_tags WHERE customer_id = ? ORDER BY added_at, tag", (customer_id,)
        )
        return [row[0] for row in rows]

    async def add_tag(self, customer_id: int, tag: str, now: datetime) -> bool:
        """Tag the customer; True only when the tag is new (so a trigger fires once)."""
        async with self._db.transaction() as tx:
            return await add_tag_in(tx, customer_id, tag, now)

    async def remove_tag(self, customer_id: int, tag: str, now: datetime) -> bool:
        async with self._db.transaction() as tx:
            return await remove_tag_in(tx, customer_id, tag, now)

    async def forget(self, customer_id: int, now: datetime) -> None:
        """Erase everything personal (storage/forgetting.py); the row stays, anonymous, for the figures.
        `flows.forgetting` also cleans up what the bot posted in Telegram and empties the write-ahead log."""
        async with self._db.transaction() as tx:
            await erase(tx, customer_id, now)

    async def count(self) -> int:
        return int(await self._db.fetch_value("SELECT COUNT(*) FROM customers WHERE tg_id IS NOT NULL"))

    async def birthdays_on(self, day: date) -> list[int]:
        """Reachable, subscribed customers whose birthday is `day` (29 Feb counts on 28 Feb in other years)."""
        leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
        dates = [(day.month, day.day)]
        if (day.month, day.day) == (2, 28) and not leap:
            dates.append((2, 29))
        found: list[int] = []
        for month, dom in dates:
            rows = await self._db.fetch_all(
                "SELECT c.id FROM customers c WHERE c.birthday_month = ? AND c.birthday_day = ?"
                f" AND {is_reachable('c')}",
                (month, dom),
            )
            found.extend(row[0] for row in rows)
        return found

    async def prune_processed_updates(self, before: datetime) -> int:
        return await self._db.execute("DELETE FROM processed_updates WHERE seen_at < ?", (to_db(before),))
