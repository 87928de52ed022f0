"""`Stats` as labelled figures in sections, formatted with babel; Telegram and the HTML report draw them.

The words come from the team's catalogue (flows/i18n.py) in the owner's language; numbers, money and dates
follow the same locale. Plain text here: each renderer escapes for its own markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from decimal import Decimal

from flows.analytics import Conversion, Stats
from flows.formatting import date, money, number, percent
from flows.i18n import N_, Translator, translator

# The charts' captions, marked here and translated where they are shown (`tr.gettext(REVENUE_CAPTION)`).
REVENUE_CAPTION = N_(
    "Revenue per month: the orange part is first purchases (new customers), the green part everything "
    "bought by customers who came back. The last bar is the month so far."
)
COHORT_CAPTION = N_(
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
    """Formatting and words in one locale."""

    def __init__(self, language: str, currency: str) -> None:
        self.language = language
        self.currency = currency
        self.tr: Translator = translator(language)

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
    label = period.title(language)
    end = (period.end - timedelta(seconds=1)).astimezone(zone).date()
    if period.start is None:
        return translator(language).gettext("{period} (to {end})").format(period=label, end=date(end, language))
    start = period.start.astimezone(zone).date()
    return f"{label} ({date(start, language)} – {date(end, language)})"


def sections(stats: Stats, zone: tzinfo, language: str) -> list[Section]:
    """Every figure of `stats`, grouped the way an owner reads them, in `language`."""
    f = Numbers(language, stats.currency)
    tr = f.tr
    base, life, sleeping = stats.base, stats.lifetime, stats.sleeping
    result = [
        Section(
            tr.gettext("Stats, {period}").format(period=period_title(stats, zone, language)),
            [
                (
                    tr.gettext("Customers"),
                    tr.gettext("{total} in total, {new} new").format(
                        total=f.n(stats.customers_total), new=f.n(stats.customers_new)
                    ),
                ),
                (tr.gettext("Active (bought)"), f.n(stats.buyers)),
                (tr.gettext("Reachable now"), f.n(stats.customers_reachable)),
                (tr.gettext("Purchases"), f.n(stats.purchases)),
                (tr.gettext("Revenue"), f.money(stats.revenue)),
                (tr.gettext("Average check"), f.money(stats.average_check)),
                (
                    tr.gettext("Purchase frequency"),
                    tr.gettext("{frequency} per buyer").format(
                        frequency=f.n(stats.frequency) if stats.frequency is not None else "—"
                    ),
                ),
                (tr.gettext("Repeat purchase rate"), f.pct(stats.repeat_rate)),
                (
                    tr.gettext("From new customers"),
                    f"{f.money(stats.revenue_new)} ({f.share(stats.revenue_new, stats.revenue)})",
                ),
                (
                    tr.gettext("From returning customers"),
                    f"{f.money(stats.revenue_returning)} ({f.share(stats.revenue_returning, stats.revenue)})",
                ),
            ],
            tr.gettext(
                "Frequency: purchases per customer who bought in the period. Repeat rate: the share of those "
                "buyers who came back (made at least their 2nd purchase in the period)."
            ),
        ),
        Section(
            tr.gettext("Customer base (everyone who ever bought)"),
            [
                (tr.gettext("One-off (1 purchase)"), f.n(base.one_off)),
                (tr.gettext("Episodic (2–3)"), f.n(base.episodic)),
                (tr.gettext("Regular (4+)"), f.n(base.regular)),
                (
                    tr.gettext("Lifetime value so far"),
                    tr.gettext("{money} per buyer").format(money=f.money(life.historical)),
                ),
                (tr.gettext("Lifetime value, projected"), _projection(f, stats)),
                (
                    tr.gettext("Sleeping"),
                    tr.gettext("{total} ({reachable} reachable for win-back)").format(
                        total=f.n(sleeping.total), reachable=f.n(sleeping.reachable)
                    ),
                ),
            ],
            tr.gettext(
                "The rule of four: a customer who bought four times tends to stay. Sleeping: no purchase for "
                "twice their usual interval, or {days} after a single purchase. The projection "
                "multiplies the last 12 months' average check, purchases per buyer and expected years as a "
                "customer (1 ÷ the share of last year's buyers who did not come back, at most 10)."
            ).format(
                days=tr.ngettext("{n} day", "{n} days", stats.one_off_days).format(n=f.n(stats.one_off_days))
            ),
        ),
        Section(
            tr.gettext("Loyalty"),
            [
                (tr.gettext("Points issued"), f.n(stats.points_issued)),
                (tr.gettext("Points redeemed"), f.n(stats.points_redeemed)),
                (tr.gettext("Points expired"), f.n(stats.points_expired)),
                (tr.gettext("Coupons issued"), f.n(stats.coupons_issued)),
                (tr.gettext("Coupons redeemed"), f"{f.n(stats.coupons_redeemed)} ({f.pct(stats.coupon_rate)})"),
            ],
            tr.gettext("Coupons redeemed: of the coupons issued in the period, how many were used so far."),
        ),
        Section(
            tr.gettext("Leads and questions"),
            [
                (tr.gettext("Leads"), f.n(stats.leads)),
                (
                    tr.gettext("Won"),
                    f"{f.n(stats.leads_won)} ({f.pct(stats.leads_won / stats.leads if stats.leads else None)})",
                ),
                (tr.gettext("Lost"), f.n(stats.leads_lost)),
                (tr.gettext("Questions asked"), f.n(sum(stats.questions.values()))),
                (
                    tr.gettext("Unanswered questions"),
                    tr.gettext("{n} (see /questions)").format(n=f.n(stats.unanswered)),
                ),
            ],
        ),
        _conversions(
            tr.gettext("Sequences"),
            stats.sequences,
            f,
            tr.gettext("no one entered a sequence in this period"),
            tr.gettext(
                "Entered in the period → bought after one of its messages, while in it or within 7 days after."
            ),
        ),
    ]
    if stats.broadcasts is not None:
        result.append(
            _conversions(
                tr.gettext("Broadcasts"),
                stats.broadcasts,
                f,
                tr.gettext("no broadcasts delivered in this period"),
                tr.gettext(
                    "Delivered in the period → bought within the attribution window after (see /broadcasts)."
                ),
            )
        )
    return result


def _projection(f: Numbers, stats: Stats) -> str:
    life, tr = stats.lifetime, f.tr
    if life.projected is None:
        return tr.gettext("needs purchases from more than a year back, or `lifetime: years:` in the content file")
    formula = tr.gettext("{projected} = {check} × {per_year} a year × {years}").format(
        projected=f.money(life.projected),
        check=f.money(life.check),
        per_year=f.n(life.per_year or 0),
        years=_years(f, life.years or 0),
    )
    if life.years_set:
        formula += " " + tr.gettext("(your assumption)")
    if life.margin_percent is not None:
        formula += " " + tr.gettext("× {percent}% margin").format(percent=f.n(life.margin_percent))
    return formula


def _years(f: Numbers, years: Decimal | int) -> str:
    """`1 year`, `10 years`, `2.5 years`: a fraction has its own form (the plural rule of its whole part
    would be wrong for it: 2.5 is "2,5 года" in Russian, not "2,5 лет")."""
    if years == int(years):
        return f.tr.ngettext("{n} year", "{n} years", int(years)).format(n=f.n(int(years)))
    return f.tr.pgettext("a fraction of years", "{n} years").format(n=f.n(years))


def _conversions(title: str, items: list[Conversion], f: Numbers, empty: str, note: str) -> Section:
    rows = [
        (
            c.title,
            f.tr.gettext("{reached} → {converted} bought ({rate})").format(
                reached=f.n(c.reached), converted=f.n(c.converted), rate=f.pct(c.rate)
            ),
        )
        for c in items
    ]
    return Section(title, rows, note if items else empty)
