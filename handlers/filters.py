"""Filters shared by several routers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject, User

from bot.settings import Settings
from storage.customers import Customer


class AwaitingStep(Filter):
    """The customer is in the middle of answering this onboarding step."""

    def __init__(self, step: str) -> None:
        self.step = step

    async def __call__(self, message: Message, customer: Customer | None = None) -> bool:
        return customer is not None and customer.onboarding_step == self.step


class PlainText(Filter):
    """Text that is not a command."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text) and not message.text.startswith("/")  # type: ignore[union-attr]


class IsOwner(Filter):
    """The sender is one of OWNER_IDS; checked on the server for every command and button."""

    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: User | None = None
    ) -> bool:
        return event_from_user is not None and event_from_user.id in settings.owner_ids
