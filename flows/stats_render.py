"""`Stats` as labelled figures in sections, formatted with babel; Telegram and the HTML report draw them.

Owner-facing words are English; numbers, money and dates follow the owner's locale. Plain text here:
each renderer escapes for its own markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from decimal import Decimal

from flows.analytics import Conversion, Stats
from flows.formatting import count, date, money, number, percent

REVENUE_CAPTION = (
    "Revenue per month: the orange part is first purchases (new customers), the green part everything "
    "bought by customers who came back. The last bar is the month so far."
)
COHORT_CAPTION = (
    "Each row is the customers whose first purchase fell in that month (how many in brackets); each "
    "cell the share of them who bought again N months later (N = 1, 2, …; the month of the first purchase "
    "itself is left out, it is always 100%). Greener is better."
)


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    note: str | None = None


class Numbers:
    """Formatting in one locale."""

    def __init__(self, language: str, currency: str) -> None:
        self.language = language
        self.currency = currency

    def n(self, value: int | Decimal) -> str:
        return number(value, self.language)

    def money(self, value: Decimal | None) -> str:
        return "—" if value is None else money(value, self.currency, self.language)

    def pct(self, value: float | None) -> str:
        return percent(value, self.language)

    def share(self, part: Decimal, whole: Decimal) -> str:
        return self.pct(float(part / whole)) if whole else "—"


def period_title(stats: Stats, zone: tzinfo, language: str) -> str:
    """`last 30 days (5 Dec 2025 – 4 Jan 2026)`."""
    period = stats.period
    end = (period.end - timedelta(seconds=1)).astimezone(zone).date()
    if period.start is None:
        return f"{period.label} (to {date(end, language)})"
    start = period.start.astimezone(zone).date()
    dates = f"{date(start, language)} – {date(end, language)}"
    return f"{period.label} ({dates})"


def sections(stats: Stats, zone: tzinfo, language: str) -> list[Section]:
    """Every figure of `stats`, grouped the way an owner reads them."""
    f = Numbers(language, stats.currency)
    base, life, sleeping = stats.base, stats.lifetime, stats.sleeping
    result = [
        Section(
            f"Stats, {period_title(stats, zone, language)}",
            [
                ("Customers", f"{f.n(stats.customers_total)} in total, {f.n(stats.customers_new)} new"),
                ("Active (bought)", f.n(stats.buyers)),
                ("Reachable now", f.n(stats.customers_reachable)),
                ("Purchases", f.n(stats.purchases)),
                ("Revenue", f.money(stats.revenue)),
                ("Average check", f.money(stats.average_check)),
                (
                    "Purchase frequency",
                    f"{f.n(stats.frequency) if stats.frequency is not None else '—'} per buyer",
                ),
                ("Repeat purchase rate", f.pct(stats.repeat_rate)),
                (
                    "From new customers",
                    f"{f.money(stats.revenue_new)} ({f.share(stats.revenue_new, stats.revenue)})",
                ),
                (
                    "From returning customers",
                    f"{f.money(stats.revenue_returning)} ({f.share(stats.revenue_returning, stats.revenue)})",
                ),
            ],
            "Frequency: purchases per customer who bought in the period. Repeat rate: the share of those "
            "buyers who came back (made at least their 2nd purchase in the period).",
        ),
        Section(
            "Customer base (everyone who ever bought)",
            [
                ("One-off (1 purchase)", f.n(base.one_off)),
                ("Episodic (2–3)", f.n(base.episodic)),
                ("Regular (4+)", f.n(base.regular)),
                ("Lifetime value so far", f"{f.money(life.historical)} per buyer"),
                ("Lifetime value, projected", _projection(f, stats)),
                ("Sleeping", f"{f.n(sleeping.total)} ({f.n(sleeping.reachable)} reachable for win-back)"),
            ],
            "The rule of four: a customer who bought four times tends to stay. Sleeping: no purchase for "
            f"twice their usual interval, or {stats.one_off_days} days after a single purchase. The projection "
            "multiplies the last 12 months' average check, purchases per buyer and expected years as a customer "
            "(1 ÷ the share of last year's buyers who did not come back, at most 10).",
        ),
        Section(
            "Loyalty",
            [
                ("Points issued", f.n(stats.points_issued)),
                ("Points redeemed", f.n(stats.points_redeemed)),
                ("Points expired", f.n(stats.points_expired)),
                ("Coupons issued", f.n(stats.coupons_issued)),
                ("Coupons redeemed", f"{f.n(stats.coupons_redeemed)} ({f.pct(stats.coupon_rate)})"),
            ],
            "Coupons redeemed: of the coupons issued in the period, how many were used so far.",
        ),
        Section(
            "Leads and questions",
            [
                ("Leads", f.n(stats.leads)),
                (
                    "Won",
                    f"{f.n(stats.leads_won)} ({f.pct(stats.leads_won / stats.leads if stats.leads else None)})",
                ),
                ("Lost", f.n(stats.leads_lost)),
                ("Questions asked", f.n(sum(stats.questions.values()))),
                ("Unanswered questions", f"{f.n(stats.unanswered)} (see /questions)"),
            ],
        ),
        _conversions("Sequences", stats.sequences, f, "no one entered a sequence in this period"),
    ]
    if stats.broadcasts is not None:
        result.append(
            _conversions(
                "Broadcasts",
                stats.broadcasts,
                f,
                "no broadcasts delivered in this period",
                "Delivered in the period → bought within the attribution window after (see /broadcasts).",
            )
        )
    return result


def _projection(f: Numbers, stats: Stats) -> str:
    life = stats.lifetime
    if life.projected is None:
        return "needs purchases from more than a year back, or `lifetime: years:` in the content file"
    margin = f" × {f.n(life.margin_percent)}% margin" if life.margin_percent is not None else ""
    source = " (your assumption)" if life.years_set else ""
    return (
        f"{f.money(life.projected)} = {f.money(life.check)} × {f.n(life.per_year or 0)} a year × "
        f"{_years(f, life.years or 0)}{source}{margin}"
    )


def _years(f: Numbers, years: Decimal | int) -> str:
    """`1 year`, `10 years`, `2.5 years` (a fraction takes the plural in English)."""
    if years == int(years):
        return count(int(years), "year", "years", f.language)
    return f"{f.n(years)} years"


def _conversions(
    title: str,
    items: list[Conversion],
    f: Numbers,
    empty: str,
    note: str = "Entered in the period → bought after one of its messages, while in it or within 7 days after.",
) -> Section:
    rows = [(c.title, f"{f.n(c.reached)} → {f.n(c.converted)} bought ({f.pct(c.rate)})") for c in items]
    return Section(title, rows, note if items else empty)
