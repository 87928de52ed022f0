"""The console home's few live figures: customers, purchases and revenue of a period, and the questions the
FAQ missed — the figures /stats shows, with the same definitions (storage/audience.py for who counts), read
by queries whose cost follows the period's purchases rather than the size of the business, so the page is
fast at 100,000 customers (the whole of /stats takes about half a second there)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flows.analytics import Analytics, Period


@dataclass(frozen=True)
class Glance:
    currency: str
    customers_total: int
    customers_new: int
    purchases: int
    revenue: Decimal
    unanswered: int


async def glance(analytics: Analytics, period: Period) -> Glance:
    """Customers (all, new in the period), purchases and revenue in the period, questions the FAQ missed."""
    seen = await analytics.repo.glance(period.start, period.end)
    return Glance(
        currency=analytics.content.loyalty.currency,
        customers_total=seen.customers_total,
        customers_new=seen.customers_new,
        purchases=seen.purchases,
        revenue=Decimal(seen.revenue_cents) / 100,
        unanswered=seen.missed_questions,
    )
