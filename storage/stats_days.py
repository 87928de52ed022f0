"""Periods split into whole UTC days, read from the per-day tables of migration 0027, and raw ends.

`purchase_days` and `points_days` hold, per UTC date of the stored time, what the figures add up (kept by
triggers as rows are written). A period [start, end) — a local month, "the last 7 days" from now — rarely
starts or ends at a UTC midnight, so it is read as three parts: the rows in [start, a), the day rows
[a, b) and the rows in [b, end), where a is the first UTC midnight at or after start and b the last at or
before end. The two ends hold less than a day of rows each, found through the time index; the middle is
one row a day. The sums are exact: nothing is estimated, only added in a different order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.timefmt import to_db


@dataclass(frozen=True)
class DaySplit:
    """[start, end) as raw [start, a) + days [a_day, b_day) + raw [b, end), all as stored text."""

    start: str  # "" for the beginning of time
    a: str
    b: str
    end: str

    @property
    def a_day(self) -> str:
        return self.a[:10]

    @property
    def b_day(self) -> str:
        return self.b[:10]

    def params(self) -> tuple[str, str, str, str, str, str]:
        """(day from, day to, raw start, a, b, raw end): the order `days_sum_sql` takes them in."""
        return self.a_day, self.b_day, self.start, self.a, self.b, self.end


def split(start: datetime | None, end: datetime) -> DaySplit:
    """Split [start, end) at whole UTC days (no start: every day before `end`'s)."""
    utc_end = end.astimezone(UTC)
    b = utc_end.replace(hour=0, minute=0, second=0, microsecond=0)
    if start is None:
        return DaySplit("", "", to_db(b), to_db(end))
    utc_start = start.astimezone(UTC)
    a = utc_start.replace(hour=0, minute=0, second=0, microsecond=0)
    if a < utc_start:
        a += timedelta(days=1)
    if a >= b:  # less than a whole day inside: every row is read
        return DaySplit(to_db(start), to_db(end), to_db(end), to_db(end))
    return DaySplit(to_db(start), to_db(a), to_db(b), to_db(end))


def days_sum_sql(
    table: str, day_exprs: Sequence[str], row_table: str, row_time: str, row_exprs: Sequence[str]
) -> str:
    """SQL: one row of sums, `day_exprs` over the whole days of `table` plus `row_exprs` (the same figures,
    one row of `row_table` each) over the two raw ends. Parameters: `DaySplit.params()`."""
    named = ", ".join(f"{expr} AS c{i}" for i, expr in enumerate(day_exprs))
    sums = ", ".join(f"COALESCE(SUM(c{i}), 0)" for i in range(len(day_exprs)))
    rows = ", ".join(row_exprs)
    return (
        f"SELECT {sums} FROM (SELECT {named} FROM {table} WHERE day >= ? AND day < ?"
        f" UNION ALL SELECT {rows} FROM {row_table} WHERE {row_time} >= ? AND {row_time} < ?"
        f" UNION ALL SELECT {rows} FROM {row_table} WHERE {row_time} >= ? AND {row_time} < ?) parts"
    )
