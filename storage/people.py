"""Looking customers up and reading one customer's history, for the console (and the bot).

Every query here is bounded (a LIMIT) and indexed (migration 0017 for names and phones, the card code's
UNIQUE index, the per-customer indexes of coupons, purchases and leads), so it stays fast at 100,000
customers. Forgotten customers are never found; the team (owners and staff) is not a customer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.audience import is_customer
from storage.coupons import Coupon, _coupon
from storage.customers import IN_CONVERSATION, Customer, _customer
from storage.db import Database, Row
from storage.leads import Lead, _lead
from storage.purchases import PurchaseRow, _purchase
from storage.segments import Filter, compile_segment
from storage.timefmt import from_db

# Who may be found: a customer (not the team), not forgotten.
FINDABLE = f"c.forgotten_at IS NULL AND {is_customer('c')}"
_FOUND_COLUMNS = (
    "c.id, c.first_name, c.last_name, c.username, c.phone, l.card_code, c.last_seen_at, c.opted_out, c.unreachable"
)
_FROM = "FROM customers c LEFT JOIN loyalty_cards l ON l.customer_id = c.id"

# Names and usernames. SQLite: the FTS5 table of migration 0017, queried as typed (`"anna"* "smi"*`).
_NAMES_SQLITE = (
    f"SELECT {_FOUND_COLUMNS} FROM customer_names n JOIN customers c ON c.id = n.rowid"
    " LEFT JOIN loyalty_cards l ON l.customer_id = c.id"
    f" WHERE customer_names MATCH ? AND {FINDABLE} ORDER BY n.rowid DESC LIMIT ?"
)
# PostgreSQL: the GIN index of its 0017 over the customer's own columns. The words of the query are handed
# over plain; customer_search_query folds them as the index folds names and makes each a prefix. The
# matches are taken from the index first (MATERIALIZED), then newest first: left to itself the planner may
# walk the primary key backwards and compute every customer's words while hoping for 20 matches soon —
# seconds at 100,000 customers when two common words never meet; this way a common prefix costs tens of
# milliseconds and a rare word less than one.
_NAMES_POSTGRES = (
    "WITH hits AS MATERIALIZED (SELECT id FROM customers"
    " WHERE customer_names_vector(first_name, last_name, username) @@ customer_search_query(?))"
    f" SELECT {_FOUND_COLUMNS} FROM hits JOIN customers c ON c.id = hits.id"
    " LEFT JOIN loyalty_cards l ON l.customer_id = c.id"
    f" WHERE {FINDABLE} ORDER BY c.id DESC LIMIT ?"
)
_FTS_WORD = re.compile(r'"([^"]*)"\*')  # one word of the full-text query flows/people_search.py writes


@dataclass(frozen=True)
class Found:
    """One line of a search result or a list: enough to recognise the person and open their page."""

    id: int
    first_name: str | None
    last_name: str | None
    username: str | None
    phone: str | None
    card_code: str | None
    last_seen_at: datetime
    opted_out: bool
    unreachable: bool

    @property
    def display_name(self) -> str:
        full = " ".join(part for part in (self.first_name, self.last_name) if part)
        return full or (f"@{self.username}" if self.username else f"#{self.id}")


def _found(row: Row) -> Found:
    return Found(
        id=row[0],
        first_name=row[1],
        last_name=row[2],
        username=row[3],
        phone=row[4],
        card_code=row[5],
        last_seen_at=from_db(row[6]),  # type: ignore[arg-type]
        opted_out=bool(row[7]),
        unreachable=bool(row[8]),
    )


@dataclass(frozen=True)
class SegmentPage:
    """Customers of a segment, newest first, and where the next page starts (None: this is the last)."""

    customers: list[Found]
    next_before: int | None


class PeopleRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- search ----

    async def by_card(self, card_code: str) -> list[Found]:
        """The customer whose card code is exactly this (normalized) code."""
        rows = await self._db.fetch_all(
            f"SELECT {_FOUND_COLUMNS} FROM loyalty_cards l JOIN customers c ON c.id = l.customer_id"
            f" WHERE l.card_code = ? AND {FINDABLE}",
            (card_code,),
        )
        return [_found(row) for row in rows]

    async def by_id(self, customer_id: int) -> list[Found]:
        rows = await self._db.fetch_all(
            f"SELECT {_FOUND_COLUMNS} {_FROM} WHERE c.id = ? AND {FINDABLE}", (customer_id,)
        )
        return [_found(row) for row in rows]

    async def by_phone_ending(self, digits: str, limit: int) -> list[Found]:
        """Phones ending in these 10 or 7 digits (an index on exactly that ending, migration 0017)."""
        size = len(digits)
        assert size in (7, 10), size
        # The indexed expression itself, so the index answers: SQLite's substr counts from the end when
        # negative, PostgreSQL's right() is the same ending (migrations 0017 of both engines).
        ending = f"right(c.phone, {size})" if self._db.engine == "postgresql" else f"substr(c.phone, -{size})"
        rows = await self._db.fetch_all(
            f"SELECT {_FOUND_COLUMNS} {_FROM} WHERE c.phone IS NOT NULL AND {ending} = ?"
            f" AND {FINDABLE} ORDER BY c.id DESC LIMIT ?",
            (digits, limit),
        )
        return [_found(row) for row in rows]

    async def by_phone_start(self, digits: str, limit: int) -> list[Found]:
        """Phones beginning with +digits: a range on the phone index (':' is the character after '9')."""
        rows = await self._db.fetch_all(
            f"SELECT {_FOUND_COLUMNS} {_FROM} WHERE c.phone >= ? AND c.phone < ? AND {FINDABLE}"
            " ORDER BY c.phone LIMIT ?",
            (f"+{digits}", f"+{digits}:", limit),
        )
        return [_found(row) for row in rows]

    async def by_names(self, match: str, limit: int) -> list[Found]:
        """Customers whose names or username match a full-text query (`"anna"* "smi"*`), newest first.

        On SQLite the full-text index yields ids newest first and stops at the limit, so a common prefix
        costs no more than a rare one; on PostgreSQL the GIN index yields every match, sorted then (see
        `_NAMES_POSTGRES`).
        """
        if self._db.engine == "postgresql":
            sql, param = _NAMES_POSTGRES, " ".join(_FTS_WORD.findall(match))
        else:
            sql, param = _NAMES_SQLITE, match
        rows = await self._db.fetch_all(sql, (param, limit))
        return [_found(row) for row in rows]

    # ---- lists by segment ----

    async def segment_page(self, filters: Sequence[Filter], before: int | None, size: int) -> SegmentPage:
        """One page of a segment's customers, newest first; `before` is the id the previous page ended at."""
        compiled = compile_segment(filters)
        after = "" if before is None else " AND c.id < ?"
        params = (*compiled.params, *(() if before is None else (before,)), size + 1)
        rows = await self._db.fetch_all(
            f"SELECT {_FOUND_COLUMNS} {compiled.sql.replace('FROM customers c', _FROM, 1)}{after}"
            " ORDER BY c.id DESC LIMIT ?",
            params,
        )
        found = [_found(row) for row in rows[:size]]
        return SegmentPage(found, found[-1].id if len(rows) > size else None)

    # ---- one customer ----

    async def customer(self, customer_id: int) -> Customer | None:
        """A findable customer (not forgotten, not on the team), with whether a conversation is open."""
        row = await self._db.fetch_one(
            f"SELECT c.*, {IN_CONVERSATION.replace('customers.id', 'c.id')} FROM customers c"
            f" WHERE c.id = ? AND {FINDABLE}",
            (customer_id,),
        )
        return _customer(row) if row else None

    async def card_code(self, customer_id: int) -> str | None:
        """The customer's card code, if they have a card (reading never creates one)."""
        value = await self._db.fetch_value(
            "SELECT card_code FROM loyalty_cards WHERE customer_id = ?", (customer_id,)
        )
        return None if value is None else str(value)

    async def coupons(self, customer_id: int, limit: int) -> list[Coupon]:
        rows = await self._db.fetch_all(
            "SELECT * FROM coupons WHERE customer_id = ? ORDER BY id DESC LIMIT ?", (customer_id, limit)
        )
        return [_coupon(row) for row in rows]

    async def purchases(self, customer_id: int, limit: int) -> list[PurchaseRow]:
        rows = await self._db.fetch_all(
            "SELECT * FROM purchases WHERE customer_id = ? ORDER BY purchased_at DESC, id DESC LIMIT ?",
            (customer_id, limit),
        )
        return [_purchase(row) for row in rows]

    async def leads(self, customer_id: int, limit: int) -> list[Lead]:
        rows = await self._db.fetch_all(
            "SELECT * FROM leads WHERE customer_id = ? ORDER BY id DESC LIMIT ?", (customer_id, limit)
        )
        return [_lead(row) for row in rows]
