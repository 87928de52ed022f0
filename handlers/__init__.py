"""Telegram-facing routers, in the order they are tried."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """Fresh routers for one Dispatcher: commands first so they work mid-onboarding, the fallback last."""
    from handlers import errors, fallback, onboarding, profile, sequences, start

    specs = [errors.router, start.router, profile.router, sequences.router, onboarding.router, fallback.router]
    return [spec.build() for spec in specs]
