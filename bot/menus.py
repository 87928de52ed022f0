"""Command menus per role: customers by Telegram language, each owner and staff member in their own chat.

Set at start-up and again the moment a person's role or language changes (hired, revoked, /language).
A menu is not a message to anyone, so it does not go through the outbox: it is one idempotent call made
at that moment, and start-up sets every menu again, so a call that failed heals at the next start.
Telegram picks the most specific menu: a person's chat scope beats the default scope in any language.

Several processes: the menus live in Telegram, not in any process, so the process that changes a role or
a language sets them at that moment and the others have nothing to follow. A content version that
changes the business's languages is followed by every process, and each announces the menus again (the
same idempotent calls, once per process).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    MenuButtonDefault,
    MenuButtonWebApp,
    WebAppInfo,
)

from flows.content import Content
from flows.i18n import language_of, translator
from flows.staff import Staff
from flows.staff_texts import menu
from storage.customers import CustomersRepo

log = logging.getLogger(__name__)


def commands(role: str | None, language: str) -> list[BotCommand]:
    return [BotCommand(command=command, description=text) for command, text in menu(role, language)]


@dataclass
class Menus:
    bot: Bot
    content: Content
    staff: Staff
    customers: CustomersRepo
    # The console's public address. Over https (Telegram opens Mini Apps only there) owners and staff get
    # a menu button that opens it as a Mini App; over http (the sandbox, a local test) they use /console.
    console_url: str | None = None

    async def announce(self) -> None:
        """Every menu: customers' (default scope, then one per offered language), owners' and staff's."""
        default = self.content.business.default_language
        await self._set(commands(None, default), BotCommandScopeDefault(), None)
        for language in self.content.business.languages:
            await self._set(commands(None, language), BotCommandScopeDefault(), language)
        for owner in sorted(self.staff.owner_ids):
            await self.refresh(owner, "owner")
        for member in await self.staff.members():
            await self.refresh(member.tg_id, member.role)

    async def refresh(self, tg_id: int, role: str | None) -> None:
        """The menu of one person for their role, in their language; None (revoked): the customer menu."""
        scope = BotCommandScopeChat(chat_id=tg_id)
        if role is None:
            try:
                await self.bot.delete_my_commands(scope=scope)
            except TelegramAPIError as exc:
                log.warning("could not reset the menu of %s: %s", tg_id, exc)
            await self._console_button(tg_id, None)
            return
        person = await self.customers.by_tg_id(tg_id)
        # The team's own language (flows/i18n.py: en, ru, uk), even one the business does not offer customers:
        # their /language choice, else Telegram's; the business's language for someone not seen yet.
        language = language_of(
            person.preferred_language if person else None, self.content.business.default_language
        )
        await self._set(commands(role, language), scope, None)
        await self._console_button(tg_id, language)

    async def _console_button(self, tg_id: int, language: str | None) -> None:
        """The console's Mini App button in this person's chat (language None: back to the default)."""
        if not (self.console_url or "").startswith("https://"):
            return
        button: MenuButtonWebApp | MenuButtonDefault = MenuButtonDefault()
        if language is not None:
            text = translator(language).gettext("Console")
            button = MenuButtonWebApp(text=text, web_app=WebAppInfo(url=f"{self.console_url}/"))
        try:
            await self.bot.set_chat_menu_button(chat_id=tg_id, menu_button=button)
        except TelegramAPIError as exc:
            log.warning("could not set the console button of %s: %s", tg_id, exc)

    async def _set(
        self, items: list[BotCommand], scope: BotCommandScopeChat | BotCommandScopeDefault, language: str | None
    ) -> None:
        try:
            await self.bot.set_my_commands(items, scope=scope, language_code=language)
        except TelegramAPIError as exc:
            # A menu is a nicety: never block start-up or a hire on it. An owner who has not opened the bot
            # yet gets "chat not found"; their menu is set when they first send /start.
            log.warning("could not set the command menu (%s, %s): %s", scope.type, language or "any language", exc)
