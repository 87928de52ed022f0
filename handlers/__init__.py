"""Telegram-facing routers, in the order they are tried."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import errors, fallback, onboarding, profile, start

    # Commands first so they work mid-onboarding; the catch-all fallback last.
    return [errors.router, start.router, profile.router, onboarding.router, fallback.router]
