"""/console for owners and staff: a one-time link that signs them in to the console in a browser."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command
from aiogram.types import Message

from flows.console_access import LOGIN_TTL, ConsoleAccess
from flows.i18n import Translator
from flows.markup import html
from handlers.filters import IsStaff
from handlers.routing import RouterSpec

router = RouterSpec("console", message_filters=(F.chat.type == "private",))


@router.message(Command("console"), IsStaff())
async def console_link(message: Message, console_access: ConsoleAccess, tr: Translator) -> None:
    """Answer with a login link bound to this person: it works once, for LOGIN_TTL."""
    assert message.from_user is not None  # IsStaff passed: there is a sender
    if not console_access.base_url:
        await message.answer(html("{}", tr.gettext("The console is not running right now.")))
        return
    link = await console_access.login_link(message.from_user.id)
    if link is None:  # revoked between the filter and now
        return
    minutes = int(LOGIN_TTL.total_seconds() // 60)
    await message.answer(
        html(
            "{}\n{}",
            tr.ngettext(
                "Your link to the console. It works once, within {n} minute; do not forward it:",
                "Your link to the console. It works once, within {n} minutes; do not forward it:",
                minutes,
            ).format(n=minutes),
            link,
        )
    )
