"""Telegram-facing routers, in the order they are tried."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """Fresh routers for one Dispatcher: commands first so they work mid-onboarding; then a conversation with
    a manager (it takes whatever the customer writes), then FAQ matching of free text; the fallback last."""
    from handlers import errors, fallback, faq, handoff, lead_stats, onboarding, profile, sequences, start

    specs = [
        errors.router,
        start.router,
        profile.router,
        sequences.router,
        lead_stats.router,
        onboarding.router,
        handoff.router,
        faq.router,
        fallback.router,
    ]
    return [spec.build() for spec in specs]
