"""Telegram-facing routers, in the order they are tried."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """Fresh routers for one Dispatcher, in the order they are tried.

    Deep links before /start (a scanned card, a staff invite, an invitation, a coupon link); commands so they
    work mid-onboarding; the owner's segments and broadcast wizard; a cashier's sale dialog before onboarding (an amount is not a birthday); then a
    conversation with a manager (it takes whatever the customer writes), FAQ matching of free text, and the
    fallback last.
    """
    from handlers import (
        broadcast_wizard,
        broadcasts,
        deeplinks,
        errors,
        fallback,
        faq,
        handoff,
        lead_stats,
        loyalty,
        membership,
        onboarding,
        profile,
        sales,
        segments,
        sequences,
        staff,
        start,
    )

    specs = [
        errors.router,
        membership.router,
        deeplinks.router,
        start.router,
        profile.router,
        sequences.router,
        lead_stats.router,
        loyalty.router,
        staff.router,
        segments.router,
        broadcast_wizard.router,
        broadcasts.router,
        sales.router,
        onboarding.router,
        handoff.router,
        faq.router,
        fallback.router,
    ]
    return [spec.build() for spec in specs]
