"""Telegram-facing routers, in the order they are tried."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import Message


class IsCommand(Filter):
    """A message that starts with "/": the gate in front of the routers that only take commands."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text and message.text.startswith("/"))


def get_routers() -> list[Router]:
    """Fresh routers for one Dispatcher, in the order they are tried.

    Routers that only take commands sit behind one gate, so a plain message skips them all at once (each
    router and filter visited costs on every update). Inside the gate, deep links come before /start (a
    scanned card, a staff invite, an invitation, a coupon link). Then the owner's broadcast wizard and a
    cashier's sale dialog (an amount is not a birthday), onboarding answers, a conversation with a manager
    (it takes whatever the customer writes), FAQ matching of free text, and the fallback last.
    """
    from handlers import (
        broadcast_wizard,
        broadcasts,
        console,
        deeplinks,
        errors,
        fallback,
        faq,
        faq_teaching,
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
        stats,
    )
    from handlers.routing import LeanRouter

    command_only = [deeplinks, start, profile, sequences, lead_stats, stats, loyalty, staff, segments, console]
    commands = LeanRouter(name="commands")
    commands.message.filter(IsCommand())
    commands.include_routers(*(module.router.build() for module in command_only))
    # `broadcasts` refuses /broadcast to non-managers, so it stays after the wizard that serves managers.
    # `faq_teaching` takes an owner's answer for a new FAQ entry before it could be matched as a question.
    later = [broadcast_wizard, broadcasts, faq_teaching, sales, onboarding, handoff, faq, fallback]
    return [
        errors.router.build(),
        membership.router.build(),
        commands,
        *(module.router.build() for module in later),
    ]
