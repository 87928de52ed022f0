"""A customer blocking or restarting the bot (Telegram's my_chat_member updates in private chats)."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from flows.customers import Customers
from handlers.routing import RouterSpec
from storage.customers import Customer

router = RouterSpec("membership")


@router.my_chat_member(F.chat.type == "private", ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def blocked(event: ChatMemberUpdated, customer: Customer, customers: Customers) -> None:
    """Mark the customer unreachable at once, rather than on the next failed send."""
    await customers.blocked_us(customer)


@router.my_chat_member(F.chat.type == "private", ChatMemberUpdatedFilter(member_status_changed=MEMBER))
async def unblocked(event: ChatMemberUpdated, customer: Customer, customers: Customers) -> None:
    await customers.unblocked_us(customer)
