"""Unexpected errors: logged with the update id; the person gets a short apology; the bot runs on."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import ErrorEvent

from flows.content import Content
from flows.i18n import translator
from flows.staff import Staff
from handlers.routing import RouterSpec

log = logging.getLogger(__name__)
router = RouterSpec("errors")


@router.errors()
async def on_error(event: ErrorEvent, bot: Bot, content: Content, staff: Staff) -> bool:
    update = event.update
    if isinstance(event.exception, TelegramForbiddenError):  # they blocked the bot mid-answer: nobody to tell
        log.info("update %s: the chat is closed to the bot (%s)", update.update_id, event.exception.message)
        return True
    log.error("update %s failed: %r", update.update_id, event.exception, exc_info=event.exception)
    user = chat_id = None
    if update.message:
        user, chat_id = update.message.from_user, update.message.chat.id
    elif update.callback_query:
        user = update.callback_query.from_user
        chat_id = update.callback_query.message.chat.id if update.callback_query.message else user.id
    if chat_id is None:
        return True
    language = user.language_code if user else None
    try:
        apology = str(content.texts_for(language)("error_apology"))  # the owner's words to customers
        if user is not None and await staff.role_of(user.id) is not None:  # the team: the bot's own words
            apology = translator(language).gettext("Sorry, something went wrong on our side. Please try again.")
        if update.callback_query:
            await update.callback_query.answer(apology)
        else:
            await bot.send_message(chat_id, apology)
    except Exception:  # the apology is best effort: the failure is already logged
        log.warning("could not apologise for update %s", update.update_id, exc_info=True)
    return True
