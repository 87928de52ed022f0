"""/staff for owners: invite a manager or cashier with a one-time link, list the team, revoke access."""

from __future__ import annotations

from datetime import tzinfo

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.settings import Settings
from flows.formatting import date
from flows.i18n import Translator
from flows.markup import Html, html
from flows.staff import INVITE_TTL, Staff
from flows.staff_texts import role_name
from handlers.filters import IsOwner
from handlers.routing import RouterSpec

router = RouterSpec("staff", message_filters=(F.chat.type == "private",))


class StaffCb(CallbackData, prefix="st"):
    a: str  # inv | rev
    role: str = ""
    u: int = 0  # the member to revoke


async def _team(staff: Staff, tr: Translator, zone: tzinfo) -> tuple[Html, InlineKeyboardMarkup]:
    members = await staff.members()
    lines = [html(tr.gettext("<b>Your team</b>"))]
    builder = InlineKeyboardBuilder()
    for member in members:
        lines.append(
            html(
                tr.gettext("• {name} — {role} (id <code>{id}</code>, since {date})"),
                name=member.name or member.tg_id,
                role=role_name(member.role, tr),
                id=member.tg_id,
                date=date(member.added_at, tr.language, zone),
            )
        )
        revoke = tr.gettext("Revoke {name}").format(name=member.name or member.tg_id)
        builder.button(text=revoke[:60], callback_data=StaffCb(a="rev", u=member.tg_id))
    if not members:
        lines.append(html(tr.gettext("Nobody yet. Invite a cashier or a manager with a one-time link:")))
    lines.append(
        Html("\n")
        + html(tr.gettext("Cashiers record sales and redeem coupons; managers can also correct points (/points)."))
    )
    builder.button(text=tr.gettext("➕ Invite a cashier"), callback_data=StaffCb(a="inv", role="cashier"))
    builder.button(text=tr.gettext("➕ Invite a manager"), callback_data=StaffCb(a="inv", role="manager"))
    builder.adjust(1)
    return Html("\n").join(lines), builder.as_markup()


@router.message(Command("staff"), IsOwner())
async def staff_list(message: Message, staff: Staff, tr: Translator, settings: Settings) -> None:
    """The owner's team screen."""
    text, keyboard = await _team(staff, tr, settings.zone)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(StaffCb.filter(), IsOwner())
async def staff_button(
    query: CallbackQuery, callback_data: StaffCb, staff: Staff, bot: Bot, tr: Translator, settings: Settings
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if callback_data.a == "inv" and callback_data.role in ("cashier", "manager"):
        me = await bot.me()
        link = await staff.invite(query.from_user.id, callback_data.role, me.username or "")
        await query.answer()
        if message is not None:
            hours = int(INVITE_TTL.total_seconds() // 3600)
            template = tr.ngettext(
                "One-time invite for a <b>{role}</b> (valid {n} hour, works once):\n{link}\n\n"
                "Send it only to that person: opening it gives them access. "
                "If the wrong person joins, revoke them here in /staff.",
                "One-time invite for a <b>{role}</b> (valid {n} hours, works once):\n{link}\n\n"
                "Send it only to that person: opening it gives them access. "
                "If the wrong person joins, revoke them here in /staff.",
                hours,
            )
            await message.answer(html(template, role=role_name(callback_data.role, tr), n=hours, link=link))
        return
    if callback_data.a == "rev" and callback_data.u:
        revoked = await staff.revoke(callback_data.u, query.from_user.id)
        if not revoked:
            await query.answer(tr.gettext("Already revoked."))
        elif staff.manager_chat_id is not None:
            await query.answer(tr.gettext("Access revoked. They are removed from the managers' group."))
        else:
            await query.answer(tr.gettext("Access revoked."))
        if message is not None:
            text, keyboard = await _team(staff, tr, settings.zone)
            await message.edit_text(text, reply_markup=keyboard)
        return
    await query.answer(tr.gettext("This button is no longer active."))
