"""The last router: whatever nobody else handled still gets a short, specific answer."""

from __future__ import annotations

from aiogram import F
from aiogram.types import CallbackQuery, Message

from flows.content import Texts
from flows.i18n import Translator
from flows.markup import html
from flows.staff import Staff
from handlers.routing import RouterSpec

router = RouterSpec("fallback")


# Commands of the team: a customer who types one is told it is not for them rather than "unknown".
TEAM_COMMANDS = frozenset(
    {
        "preview",
        "sequences",
        "sale",
        "redeem",
        "staff",
        "points",
        "segment",
        "broadcast",
        "broadcasts",
        "stats",
        "leads",
        "questions",
    }
)


@router.message(F.chat.type == "private", F.text.startswith("/"))
async def unknown_command(message: Message, t: Texts, tr: Translator, staff: Staff) -> None:
    command = (message.text or "/").split()[0][1:].split("@")[0].lower()
    if command not in TEAM_COMMANDS:
        await message.answer(t("unknown_command"))
    elif message.from_user and await staff.role_of(message.from_user.id):
        # Someone on the team whose role does not cover this command (a cashier typing /stats).
        not_yours = tr.gettext("/{command} is not part of your role. Ask the owner if you need it.")
        await message.answer(html(not_yours, command=command))
    else:
        await message.answer(t("not_allowed"))


@router.message(F.chat.type == "private", F.text)
async def free_text(message: Message, t: Texts) -> None:
    await message.answer(t("free_text"))


@router.message(F.chat.type == "private")
async def other_content(message: Message, t: Texts) -> None:
    await message.answer(t("unsupported_message"))


@router.callback_query()
async def stale_button(query: CallbackQuery, t: Texts) -> None:
    """Buttons from old messages or forged data: tell the presser instead of leaving a spinner."""
    await query.answer(t("button_expired"), show_alert=False)
