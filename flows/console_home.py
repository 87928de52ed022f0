"""The console home's few live figures: a cheap subset of /stats's queries (the page must render fast at
100,000 customers, where the whole of /stats takes about half a second)."""

from __future__ import annotations

import asyncio
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
    """Customers (all, new in the period), purchases and revenue in the period, questions the FAQ missed —
    the same queries and definitions as /stats."""
    async with analytics.repo.reading() as q:
        customers, figures, questions = await asyncio.gather(
            q.customers(period.start, period.end),
            q.purchases(period.start, period.end),
            q.questions(period.start, period.end),
        )
    return Glance(
        currency=analytics.content.loyalty.currency,
        customers_total=customers[0],
        customers_new=customers[1],
        purchases=figures.purchases,
        revenue=Decimal(figures.revenue_cents) / 100,
        unanswered=questions.get("missed", 0),
    )
