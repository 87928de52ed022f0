"""The owner's numbers: one typed `Stats` value per period, computed by set-based SQL.

The same `Stats` feeds /stats in Telegram, the charts and the HTML report, so they always agree.
Definitions (also in the README):

- A period ends now: `7d`/`30d`/`90d`/`365d` are the last N×24 hours, `month` and `year` start at the
  local midnight of the calendar month / year, `all` has no start.
- Active customers bought in the period; purchase frequency = purchases ÷ those buyers; average check =
  revenue ÷ purchases; repeat purchase rate = buyers who made at least their 2nd purchase in the period ÷
  buyers. Revenue from new customers = their first purchases; everything else is from returning ones.
- Customer types count everyone who ever bought, by the rule of four: 1 purchase one-off, 2–3 episodic,
  4+ regular.
- Historical lifetime value = all revenue so far ÷ everyone who ever bought. Projected = average check ×
  purchases per buyer per year × expected years as a customer (× gross margin, when the owner gives one),
  check and purchases from the 365 days to the period's end (with less history than that, purchases per
  buyer are scaled up to a year from the days there are, at least 30). The years are the owner's
  (`loyalty: lifetime: years:` in the content file) or else 1 ÷ yearly churn (buyers of the year before who
  did not buy again), at most 10; with neither there is no projection.
- Sleeping customers: repeat buyers past twice their own usual interval (at least 7 days), one-off
  buyers after the win-back trigger's `days` (30 by default).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal

from flows.clock import Clock
from flows.content import Content
from flows.content.loyalty import LifetimeAssumptions
from flows.i18n import N_, translator
from flows.parsing import shorten
from flows.sequences import DEFAULT_ONE_OFF_DAYS
from flows.team_text import TeamError, TeamText
from storage.analytics import AnalyticsRepo, BaseFigures, PurchaseFigures, Sleeping
from storage.db import Row
from storage.timefmt import from_db

PERIODS = ("7d", "30d", "90d", "365d", "month", "year", "all")
DEFAULT_PERIOD = "30d"
MAX_LIFETIME_YEARS = Decimal(10)
MIN_HISTORY_DAYS = 30  # less history than this is scaled as if it were this many days
CHART_MONTHS = 12
_DAYS = re.compile(r"^(\d+)d$")


class PeriodError(TeamError):
    """The owner asked for a period we do not know; the message says what to write instead."""


@dataclass(frozen=True)
class Period:
    key: str
    start: datetime | None  # None: since the beginning
    end: datetime

    @property
    def label(self) -> str:
        """`last 30 days`, `this month` … in English (`title(language)` in the reader's)."""
        return self.title("en")

    def title(self, language: str) -> str:
        """`last 30 days`, `this month`, `all time` in `language` (the team's catalogue, flows/i18n.py)."""
        tr = translator(language)
        match = _DAYS.match(self.key)
        if match:
            days = int(match.group(1))
            return tr.ngettext("last {n} day", "last {n} days", days).format(
                n=format_decimal(days, locale=tr.language)
            )
        names = {"month": tr.gettext("this month"), "year": tr.gettext("this year"), "all": tr.gettext("all time")}
        return names[self.key]


def parse_period(text: str | None, now: datetime, zone: tzinfo) -> Period:
    """`7d`, `30d`, `90d`, `365d`, `month`, `year` or `all` (default 30d), ending now."""
    key = (text or DEFAULT_PERIOD).strip().lower()
    if key not in PERIODS:
        raise PeriodError(
            TeamText(
                N_("Unknown period {period}. Use one of: {periods} (default {default})."),
                period=repr(shorten(text or "")),
                periods=", ".join(PERIODS),
                default=DEFAULT_PERIOD,
            )
        )
    match = _DAYS.match(key)
    if match:
        return Period(key, now - timedelta(days=int(match.group(1))), now)
    if key == "all":
        return Period(key, None, now)
    local = now.astimezone(zone).date()
    first = local.replace(day=1) if key == "month" else local.replace(month=1, day=1)
    return Period(key, local_midnight(first, zone), now)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def month_starts(now: datetime, zone: tzinfo, months: int = CHART_MONTHS) -> list[date]:
    """The first days of the last `months` local months (this one last), and of the next month."""
    local = now.astimezone(zone).date().replace(day=1)
    index = local.year * 12 + local.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 2)]


@dataclass(frozen=True)
class Conversion:
    """A sequence or a broadcast: how many it reached and how many bought afterwards."""

    name: str
    title: str
    reached: int
    converted: int

    @property
    def rate(self) -> float | None:
        return self.converted / self.reached if self.reached else None


@dataclass(frozen=True)
class MonthRevenue:
    month: date
    new: Decimal
    returning: Decimal


@dataclass(frozen=True)
class Cohort:
    month: date  # the month of the first purchase
    size: int
    active: list[int]  # buyers in month 0, 1, 2 … after it (up to this month)

    def retention(self, offset: int) -> float | None:
        return self.active[offset] / self.size if self.size and offset < len(self.active) else None


@dataclass(frozen=True)
class Lifetime:
    historical: Decimal | None
    projected: Decimal | None
    check: Decimal | None  # the inputs of the projection, shown next to it
    per_year: Decimal | None
    years: Decimal | None
    years_set: bool = False  # the years are the owner's assumption (content file), not from churn
    margin_percent: Decimal | None = None  # the projection is in gross margin at this percent


@dataclass(frozen=True)
class Stats:
    period: Period
    currency: str
    customers_total: int
    customers_new: int
    customers_reachable: int
    buyers: int  # active customers: bought in the period
    purchases: int
    revenue: Decimal
    revenue_new: Decimal
    revenue_returning: Decimal
    repeat_buyers: int
    base: BaseFigures
    lifetime: Lifetime
    sleeping: Sleeping
    one_off_days: int
    points_issued: int
    points_redeemed: int
    points_expired: int
    coupons_issued: int
    coupons_redeemed: int
    leads: int
    leads_won: int
    leads_lost: int
    questions: dict[str, int]
    sequences: list[Conversion]
    broadcasts: list[Conversion] | None  # None: broadcasts are not measured in this build
    months: list[MonthRevenue] = field(default_factory=list)
    cohorts: list[Cohort] = field(default_factory=list)

    @property
    def frequency(self) -> Decimal | None:
        """Purchases per unique buyer in the period (100 buyers, 134 purchases → 1.34)."""
        return _ratio(Decimal(self.purchases), self.buyers)

    @property
    def average_check(self) -> Decimal | None:
        return _money(self.revenue / self.purchases) if self.purchases else None

    @property
    def repeat_rate(self) -> float | None:
        return self.repeat_buyers / self.buyers if self.buyers else None

    @property
    def coupon_rate(self) -> float | None:
        return self.coupons_redeemed / self.coupons_issued if self.coupons_issued else None

    @property
    def unanswered(self) -> int:
        return self.questions.get("missed", 0)


def _cents(value: int) -> Decimal:
    return Decimal(value) / 100


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ratio(numerator: Decimal, denominator: int) -> Decimal | None:
    return (numerator / denominator).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if denominator else None


@dataclass
class Analytics:
    repo: AnalyticsRepo
    content: Content
    clock: Clock
    zone: tzinfo
    broadcast_days: int | None = None  # a broadcast converts when bought within this many days; None: not shown

    def period(self, text: str | None) -> Period:
        """Parse the owner's period word (PeriodError with a hint when it is not one we know)."""
        return parse_period(text, self.clock.now(), self.zone)

    async def record_access(self, actor_tg_id: int | None, action: str, **details: object) -> None:
        """Write to the audit log that someone viewed the figures or exported data."""
        await self.repo.record_access(actor_tg_id, action, self.clock.now(), **details)

    def one_off_days(self) -> int:
        """Days after which a one-off buyer counts as sleeping: the win-back trigger's `days`, else 30."""
        for seq in self.content.sequences:
            if seq.trigger.event == "inactivity" and seq.trigger.days:
                return seq.trigger.days
        return DEFAULT_ONE_OFF_DAYS

    async def stats(self, period: Period, *, charts: bool = True) -> Stats:
        """Every figure of /stats for one period (and, with `charts`, the monthly series and cohorts).

        The queries are independent and run side by side on two read-only connections.
        """
        start, end = period.start, period.end
        one_off_days = self.one_off_days()
        year = timedelta(days=365)
        starts = month_starts(end, self.zone)
        bounds = [local_midnight(day, self.zone) for day in starts]
        async with self.repo.reading() as q:
            chart_queries = (q.monthly_revenue(bounds), q.cohorts(bounds)) if charts else ()
            results = await asyncio.gather(
                q.customers(start, end),
                q.purchases(start, end),
                q.base(),
                q.purchases(end - year, end),
                q.retained(end - year, end - 2 * year),
                q.sleeping(end, end - timedelta(days=one_off_days)),
                q.points(start, end),
                q.coupons(start, end),
                q.leads(start, end),
                q.questions(start, end),
                q.sequences(start, end),
                q.history_start(),
                *chart_queries,
            )
        (customers, figures, base, recent, retained, sleeping, points, coupons, leads, questions, sequences) = (
            results[:11]
        )
        history = _history_days(results[11], end)
        broadcasts = None
        if self.broadcast_days is not None:
            async with self.repo.reading(1) as q:
                broadcasts = [
                    Conversion(
                        f"#{row['id']}",
                        _broadcast_title(row["id"], row["message"]),
                        row["reached"],
                        row["converted"],
                    )
                    for row in await q.broadcasts(start, end, self.broadcast_days)
                ]
        stats = Stats(
            period=period,
            currency=self.content.loyalty.currency,
            customers_total=customers[0],
            customers_new=customers[1],
            customers_reachable=customers[2],
            buyers=figures.buyers,
            purchases=figures.purchases,
            revenue=_cents(figures.revenue_cents),
            revenue_new=_cents(figures.first_purchase_cents),
            revenue_returning=_cents(figures.revenue_cents - figures.first_purchase_cents),
            repeat_buyers=figures.repeat_buyers,
            base=base,
            lifetime=_lifetime(base, recent, retained, self.content.loyalty.lifetime, history),
            sleeping=sleeping,
            one_off_days=one_off_days,
            points_issued=points[0],
            points_redeemed=points[1],
            points_expired=points[2],
            coupons_issued=coupons[0],
            coupons_redeemed=coupons[1],
            leads=leads[0],
            leads_won=leads[1],
            leads_lost=leads[2],
            questions=questions,
            sequences=self._conversions(sequences),
            broadcasts=broadcasts,
        )
        return _with_charts(stats, starts, results[12], results[13]) if charts else stats

    def _conversions(self, rows: Sequence[Row]) -> list[Conversion]:
        """Sequences in the content file's order; ones since removed from it go last, by name."""
        titles = {seq.name: seq.title or seq.name for seq in self.content.sequences}
        order = list(titles)
        found = [
            Conversion(r["sequence"], titles.get(r["sequence"], r["sequence"]), r["enrolled"], r["converted"])
            for r in rows
        ]
        return sorted(found, key=lambda c: (order.index(c.name) if c.name in order else len(order), c.name))


def _broadcast_title(broadcast_id: int, message: str | None) -> str:
    """`#3 Spring sale: 20% off all…` — the first words of its text, without markup."""
    try:
        text = str(json.loads(message or "{}").get("text") or "")
    except (ValueError, AttributeError):
        text = ""
    # Tags first, then entities: a "<b>" the manager typed as text is "&lt;b&gt;" here and stays in the title.
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
    return f"#{broadcast_id} {words[:40]}{'…' if len(words) > 40 else ''}".strip()


def _history_days(first: str | None, end: datetime) -> int:
    """Days of purchase history up to `end` (0 without purchases)."""
    if first is None:
        return 0
    return max(0, (end - from_db(first)).days)  # type: ignore[operator]


def _lifetime(
    base: BaseFigures,
    recent: PurchaseFigures,
    retained: tuple[int, int],
    assumptions: LifetimeAssumptions,
    history_days: int,
) -> Lifetime:
    """Historical value per buyer, and the projection from the last 365 days (see the module docstring)."""
    historical = _money(_cents(base.lifetime_cents) / base.buyers) if base.buyers else None
    if not recent.purchases:
        return Lifetime(historical, None, None, None, None)
    check = _money(_cents(recent.revenue_cents) / recent.purchases)
    per_buyer = Decimal(recent.purchases)
    if history_days < 365:  # a young business: scale what the days there are show up to a year
        per_buyer = per_buyer * 365 / max(history_days, MIN_HISTORY_DAYS)
    per_year = _ratio(per_buyer, recent.buyers)
    margin = assumptions.gross_margin_percent
    years = assumptions.years
    if years is None:
        before, stayed = retained
        if not before or per_year is None:
            return Lifetime(historical, None, check, per_year, None)
        churn = Decimal(before - stayed) / before
        years = MAX_LIFETIME_YEARS if churn == 0 else min(MAX_LIFETIME_YEARS, 1 / churn)
        years = years.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert per_year is not None
    projected = check * per_year * years * (margin / 100 if margin is not None else 1)
    return Lifetime(historical, _money(projected), check, per_year, years, assumptions.years is not None, margin)


def _with_charts(
    stats: Stats,
    starts: Sequence[date],
    revenue: list[tuple[int, int, int]],
    cohorts: tuple[dict[int, int], dict[tuple[int, int], int]],
) -> Stats:
    by_month = {index: (new, returning) for index, new, returning in revenue}
    months = [
        MonthRevenue(day, _cents(by_month.get(i, (0, 0))[0]), _cents(by_month.get(i, (0, 0))[1]))
        for i, day in enumerate(starts[:-1])
    ]
    sizes, active = cohorts
    last = len(starts) - 2
    rows = [
        Cohort(day, sizes.get(i, 0), [active.get((i, m), 0) for m in range(i, last + 1)])
        for i, day in enumerate(starts[:-1])
    ]
    return replace(stats, months=months, cohorts=rows)
