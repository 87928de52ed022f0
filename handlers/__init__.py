"""Telegram-facing routers, in the order they are tried."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """Fresh routers for one Dispatcher: commands first so they work mid-onboarding, the fallback last."""
    from handlers import deeplinks, errors, fallback, loyalty, onboarding, profile, sales, sequences, staff, start

    # deeplinks before start: a scanned card, a staff invite, an invitation or a coupon link;
    # sales before onboarding: a cashier typing an amount is not answering an onboarding question.
    specs = [
        errors.router,
        deeplinks.router,
        start.router,
        profile.router,
        sequences.router,
        loyalty.router,
        staff.router,
        sales.router,
        onboarding.router,
        fallback.router,
    ]
    return [spec.build() for spec in specs]
