"""Segments as SQL: a list of resolved filters becomes ONE parametrised query over customers.

`flows/segments.py` parses what the owner typed into these filters (checking words against the content
file); here each filter becomes a WHERE fragment with bound parameters, and the fragments are AND-ed.
Nothing the owner typed is ever formatted into the SQL text: only the number of `?` marks depends on it.
Reachable customers only (storage/audience.py: not the team, started the bot, subscribed, not blocked).

Purchase figures come from `purchase_totals` and `purchase_categories`, kept by triggers on `purchases`
(migration 0005), so a segment over 100,000 customers reads one row per customer, not every purchase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.audience import is_reachable
from storage.db import Database, Tx
from storage.timefmt import to_db

# Comparison operators a filter may use; the SQL text comes from this table, never from the input.
OPERATORS = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
BASE = is_reachable("c")  # customers only, started the bot, subscribed, not blocked (storage/audience.py)


@dataclass(frozen=True)
class HasTag:
    tags: tuple[str, ...]


@dataclass(frozen=True)
class LanguageIs:
    """The language the customer is spoken to in (their choice, else Telegram's, else the default)."""

    languages: tuple[str, ...]
    offered: tuple[str, ...]
    default: str


@dataclass(frozen=True)
class SourceIs:
    sources: tuple[str, ...]


@dataclass(frozen=True)
class TierRule:
    key: str
    min_purchases: int
    min_spend_cents: int | None


@dataclass(frozen=True)
class TierIs:
    keys: tuple[str, ...]
    tiers: tuple[TierRule, ...]  # lowest first, as in the content file


@dataclass(frozen=True)
class PurchaseCount:
    op: str
    count: int


@dataclass(frozen=True)
class Spent:
    op: str
    cents: int


@dataclass(frozen=True)
class DaysSince:
    """Whole days since a moment: `last` purchase or `joined` (first seen), compared with `days`."""

    what: str  # last | joined
    op: str
    days: int
    now: datetime


@dataclass(frozen=True)
class Bought:
    categories: tuple[str, ...]


@dataclass(frozen=True)
class BirthdayOn:
    days: tuple[tuple[int, int], ...]  # (month, day) pairs


@dataclass(frozen=True)
class RfmRule:
    recent_days: int
    active_days: int
    lapsing_days: int
    regular_purchases: int
    top_spend_percent: int


@dataclass(frozen=True)
class RfmIn:
    groups: tuple[str, ...]
    rule: RfmRule
    now: datetime


@dataclass(frozen=True)
class Not:
    inner: Filter


Filter = (
    HasTag | LanguageIs | SourceIs | TierIs | PurchaseCount | Spent | DaysSince | Bought | BirthdayOn | RfmIn | Not
)


@dataclass(frozen=True)
class Compiled:
    """FROM … WHERE … of a segment, with its parameters in order."""

    sql: str
    params: tuple[Any, ...]


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def _op(op: str) -> str:
    return OPERATORS[op]  # KeyError for anything else: an operator never comes from the input as text


def _language_fragment(item: LanguageIs) -> tuple[str, list[Any]]:
    """The customer's language code (their choice, else Telegram's; `pt-br` → `pt`) is one of `languages`;
    a code the bot does not offer means the default language. `language_code` is that code, kept in the
    index a count walks (migration 0022), so the count computes nothing per customer."""
    code = "c.language_code"
    wanted = [language for language in item.languages if language in item.offered]
    if item.default in item.languages:  # everyone whose code the bot does not offer speaks the default
        others = [language for language in item.offered if language not in item.languages]
        return f"{code} NOT IN ({_marks(others)})", others
    return f"{code} IN ({_marks(wanted)})", wanted


def _tier_expr(tiers: tuple[TierRule, ...]) -> tuple[str, list[Any]]:
    """The customer's tier key, highest reached first (as flows.loyalty.tier_for decides it)."""
    parts: list[str] = []
    params: list[Any] = []
    for tier in reversed(tiers[1:]):
        if tier.min_spend_cents is None:
            parts.append("WHEN COALESCE(pt.purchases, 0) >= ? THEN ?")
            params += [tier.min_purchases, tier.key]
        else:
            parts.append("WHEN COALESCE(pt.purchases, 0) >= ? OR COALESCE(pt.spent_cents, 0) >= ? THEN ?")
            params += [tier.min_purchases, tier.min_spend_cents, tier.key]
    return f"(CASE {' '.join(parts)} ELSE ? END)", [*params, tiers[0].key]


RFM_GROUPS = ("champions", "loyal", "new", "promising", "at_risk", "sleeping", "lost", "none")


def _rfm_expr(rule: RfmRule, now: datetime) -> tuple[str, list[Any]]:
    """The RFM group (see flows/segments.py for the thresholds in words); first match wins."""
    recent = to_db(now - timedelta(days=rule.recent_days))
    active = to_db(now - timedelta(days=rule.active_days))
    lapsing = to_db(now - timedelta(days=rule.lapsing_days))
    # The top `top_spend_percent` of buyers by money: the spend of the buyer at that rank (an index walk).
    top = (
        "(SELECT spent_cents FROM purchase_totals ORDER BY spent_cents DESC LIMIT 1"
        " OFFSET (SELECT COUNT(*) FROM purchase_totals) * ? / 100)"
    )
    sql = (
        "(CASE WHEN pt.customer_id IS NULL THEN 'none'"
        f" WHEN pt.last_at > ? AND pt.purchases >= ? AND pt.spent_cents >= {top} THEN 'champions'"
        " WHEN pt.last_at > ? AND pt.purchases >= ? THEN 'loyal'"
        " WHEN pt.last_at > ? AND pt.purchases = 1 THEN 'new'"
        " WHEN pt.last_at > ? THEN 'promising'"
        " WHEN pt.last_at > ? AND pt.purchases >= 2 THEN 'at_risk'"
        " WHEN pt.last_at > ? THEN 'sleeping'"
        " ELSE 'lost' END)"
    )
    params = [recent, rule.regular_purchases, rule.top_spend_percent, active, rule.regular_purchases]
    params += [recent, active, lapsing, lapsing]
    return sql, params


def _since(what: str, op: str, days: int, now: datetime) -> tuple[str, list[Any]]:
    """Whole days since a moment compared with `days`, as a range on the stored UTC text (index-friendly)."""
    # The last purchase is read per customer while the count walks customers (`|| ''` keeps SQLite from
    # driving the count from purchase_totals' date index instead: 60,000 random row reads for "more than 30
    # days"; unlike SQLite's unary `+` hint, it is valid on PostgreSQL too).
    column = "(pt.last_at || '')" if what == "last" else "c.first_seen_at"
    # "n whole days ago" means the moment lies in (now - (n+1) days, now - n days].
    start = to_db(now - timedelta(days=days))  # at most this: n or more days ago
    end = to_db(now - timedelta(days=days + 1))  # at most this: n+1 or more days ago
    sql = {
        ">": f"{column} <= ?",
        ">=": f"{column} <= ?",
        "<": f"{column} > ?",
        "<=": f"{column} > ?",
        "=": f"({column} <= ? AND {column} > ?)",
        "!=": f"({column} > ? OR {column} <= ?)",
    }[op]
    params = {">": [end], ">=": [start], "<": [start], "<=": [end], "=": [start, end], "!=": [start, end]}[op]
    return sql, params


def _fragment(item: Filter) -> tuple[str, list[Any], bool]:
    """(SQL, params, needs purchase totals) of one filter."""
    if isinstance(item, Not):
        sql, params, totals = _fragment(item.inner)
        return f"NOT COALESCE({sql}, FALSE)", params, totals
    if isinstance(item, HasTag):
        return (
            f"c.id IN (SELECT customer_id FROM customer_tags WHERE tag IN ({_marks(item.tags)}))",
            [*item.tags],
            False,
        )
    if isinstance(item, LanguageIs):
        sql, params = _language_fragment(item)
        return sql, params, False
    if isinstance(item, SourceIs):
        return f"lower(c.source) IN ({_marks(item.sources)})", [s.lower() for s in item.sources], False
    if isinstance(item, TierIs):
        expr, params = _tier_expr(item.tiers)
        return f"{expr} IN ({_marks(item.keys)})", [*params, *item.keys], True
    if isinstance(item, PurchaseCount):
        return f"COALESCE(pt.purchases, 0) {_op(item.op)} ?", [item.count], True
    if isinstance(item, Spent):
        return f"COALESCE(pt.spent_cents, 0) {_op(item.op)} ?", [item.cents], True
    if isinstance(item, DaysSince):
        sql, params = _since(item.what, item.op, item.days, item.now)
        # Never bought: no "days since the last purchase", so neither > nor < matches.
        return (f"(pt.customer_id IS NOT NULL AND {sql})" if item.what == "last" else sql), params, True
    if isinstance(item, Bought):
        return (
            f"c.id IN (SELECT customer_id FROM purchase_categories WHERE category IN ({_marks(item.categories)}))",
            [*item.categories],
            False,
        )
    if isinstance(item, BirthdayOn):
        keys = sorted({month * 100 + day for month, day in item.days})
        return f"(c.birthday_month * 100 + c.birthday_day) IN ({_marks(keys)})", keys, False
    if isinstance(item, RfmIn):
        expr, params = _rfm_expr(item.rule, item.now)
        return f"{expr} IN ({_marks(item.groups)})", [*params, *item.groups], True
    raise TypeError(f"not a segment filter: {item!r}")


def compile_segment(filters: Sequence[Filter]) -> Compiled:
    """`FROM customers c [LEFT JOIN purchase_totals pt] WHERE …` for the filters, AND-ed."""
    where = [BASE]
    params: list[Any] = []
    totals = False
    for item in filters:
        sql, values, needs = _fragment(item)
        where.append(sql)
        params += values
        totals = totals or needs
    join = " LEFT JOIN purchase_totals pt ON pt.customer_id = c.id" if totals else ""
    return Compiled(f"FROM customers c{join} WHERE {' AND '.join(where)}", tuple(params))


@dataclass(frozen=True)
class SampleCustomer:
    id: int
    first_name: str | None
    last_name: str | None
    username: str | None
    purchases: int
    spent_cents: int
    last_at: str | None


class SegmentsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def count(self, filters: Sequence[Filter]) -> int:
        compiled = compile_segment(filters)
        return int(await self._db.fetch_value(f"SELECT COUNT(*) {compiled.sql}", compiled.params))

    async def reachable(self) -> int:
        """Everyone a broadcast could reach at all (subscribed, not blocked, not forgotten)."""
        return await self.count(())

    async def sample(self, filters: Sequence[Filter], size: int = 5) -> list[SampleCustomer]:
        """A few customers of the segment, picked at random, with their purchase figures."""
        compiled = compile_segment(filters)
        # The ids are picked first (cheap), the figures read for those few only.
        rows = await self._db.fetch_all(
            "SELECT s.id, s.first_name, s.last_name, s.username, COALESCE(t.purchases, 0), COALESCE(t.spent_cents, 0),"
            " t.last_at FROM customers s LEFT JOIN purchase_totals t ON t.customer_id = s.id"
            f" WHERE s.id IN (SELECT c.id {compiled.sql} ORDER BY random() LIMIT ?) ORDER BY s.id",
            (*compiled.params, size),
        )
        return [SampleCustomer(*tuple(row)) for row in rows]

    async def ids(self, filters: Sequence[Filter]) -> list[int]:
        compiled = compile_segment(filters)
        rows = await self._db.fetch_all(f"SELECT c.id {compiled.sql} ORDER BY c.id", compiled.params)
        return [int(row[0]) for row in rows]

    async def explain(self, filters: Sequence[Filter]) -> list[str]:
        """The engine's query plan for a count (for the benchmark's notes)."""
        compiled = compile_segment(filters)
        if self._db.engine == "postgresql":
            rows = await self._db.fetch_all(f"EXPLAIN SELECT COUNT(*) {compiled.sql}", compiled.params)
            return [str(row[0]).strip() for row in rows]
        rows = await self._db.fetch_all(f"EXPLAIN QUERY PLAN SELECT COUNT(*) {compiled.sql}", compiled.params)
        return [str(row[3]) for row in rows]


async def max_customer_id(tx: Tx) -> int:
    row = await tx.fetch_one("SELECT COALESCE(MAX(id), 0) FROM customers")
    return int(row[0]) if row else 0
