"""Filters shared by several routers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject, User

from bot.settings import Settings
from flows.staff import Staff
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


class IsStaff(Filter):
    """The sender is an owner or an active staff member (optionally with one of `roles`).

    Read from the database on every update, so revoking takes effect at once; puts `role` into the
    handler data.
    """

    def __init__(self, *roles: str) -> None:
        self.roles = frozenset(roles)

    async def __call__(
        self, event: TelegramObject, staff: Staff, event_from_user: User | None = None
    ) -> bool | dict[str, str]:
        if event_from_user is None:
            return False
        role = await staff.role_of(event_from_user.id)
        if role is None or (self.roles and role not in self.roles and role != "owner"):
            return False
        return {"role": role}
