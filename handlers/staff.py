"""/staff for owners: invite a manager or cashier with a one-time link, list the team, revoke access."""

from __future__ import annotations

from datetime import tzinfo

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.settings import Settings
from flows.content import Texts
from flows.formatting import date
from flows.markup import Html, html
from flows.staff import INVITE_TTL, Staff
from handlers.filters import IsOwner
from handlers.routing import RouterSpec

router = RouterSpec("staff", message_filters=(F.chat.type == "private",))


class StaffCb(CallbackData, prefix="st"):
    a: str  # inv | rev | role
    role: str = ""
    u: int = 0  # the member to revoke or to give `role`


async def _team(staff: Staff, locale: str | None, zone: tzinfo) -> tuple[Html, InlineKeyboardMarkup]:
    members = await staff.members()
    lines = [html("<b>Your team</b>")]
    builder = InlineKeyboardBuilder()
    for member in members:
        lines.append(
            html(
                "• {} — {} (id <code>{}</code>, since {})",
                member.name or member.tg_id,
                member.role,
                member.tg_id,
                date(member.added_at, locale, zone),
            )
        )
        other = "cashier" if member.role == "manager" else "manager"
        builder.button(
            text=f"Make {member.name or member.tg_id} a {other}"[:60],
            callback_data=StaffCb(a="role", role=other, u=member.tg_id),
        )
        builder.button(
            text=f"Revoke {member.name or member.tg_id}"[:60], callback_data=StaffCb(a="rev", u=member.tg_id)
        )
    if not members:
        lines.append(Html("Nobody yet. Invite a cashier or a manager with a one-time link:"))
    lines.append(Html("\nCashiers record sales and redeem coupons; managers can also correct points (/points)."))
    builder.button(text="➕ Invite a cashier", callback_data=StaffCb(a="inv", role="cashier"))
    builder.button(text="➕ Invite a manager", callback_data=StaffCb(a="inv", role="manager"))
    builder.adjust(1)
    return Html("\n").join(lines), builder.as_markup()


@router.message(Command("staff"), IsOwner())
async def staff_list(message: Message, staff: Staff, t: Texts, settings: Settings) -> None:
    """The owner's team screen."""
    text, keyboard = await _team(staff, t.language, settings.zone)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(StaffCb.filter(), IsOwner())
async def staff_button(
    query: CallbackQuery, callback_data: StaffCb, staff: Staff, bot: Bot, t: Texts, settings: Settings
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if callback_data.a == "inv" and callback_data.role in ("cashier", "manager"):
        me = await bot.me()
        link = await staff.invite(query.from_user.id, callback_data.role, me.username or "")
        await query.answer()
        if message is not None:
            hours = int(INVITE_TTL.total_seconds() // 3600)
            await message.answer(
                html(
                    "One-time invite for a <b>{}</b> (valid {} hours, works once):\n{}\n\n"
                    "Send it only to that person: opening it gives them access. "
                    "If the wrong person joins, revoke them here in /staff.",
                    callback_data.role,
                    hours,
                    link,
                )
            )
        return
    if callback_data.a == "rev" and callback_data.u:
        revoked = await staff.revoke(callback_data.u, query.from_user.id)
        gone = " They are removed from the managers' group." if staff.manager_chat_id is not None else ""
        await query.answer(f"Access revoked.{gone}" if revoked else "Already revoked.")
        if message is not None:
            text, keyboard = await _team(staff, t.language, settings.zone)
            await message.edit_text(text, reply_markup=keyboard)
        return
    if callback_data.a == "role" and callback_data.u and callback_data.role in ("cashier", "manager"):
        changed = await staff.change_role(callback_data.u, callback_data.role, query.from_user.id)
        await query.answer(f"Now a {callback_data.role}." if changed else "Nothing to change.")
        if message is not None:
            text, keyboard = await _team(staff, t.language, settings.zone)
            await message.edit_text(text, reply_markup=keyboard)
        return
    await query.answer("This button is no longer active.")
