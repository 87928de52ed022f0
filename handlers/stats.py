"""/stats for owners: the figures as text, period buttons, then the two charts as photos."""

from __future__ import annotations

import asyncio

from aiogram import F
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.settings import Settings
from flows.analytics import PERIODS, Analytics, PeriodError, Stats
from flows.content import Texts
from flows.i18n import Translator
from flows.markup import Html, html
from flows.stats_render import COHORT_CAPTION, REVENUE_CAPTION, Section, sections
from handlers.filters import IsOwner
from handlers.render import pack_blocks
from handlers.routing import RouterSpec

router = RouterSpec("stats", message_filters=(F.chat.type == "private",))


class StatsCb(CallbackData, prefix="st"):
    period: str


def period_keyboard(current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for key in PERIODS:
        builder.button(text=f"• {key}" if key == current else key, callback_data=StatsCb(period=key))
    builder.adjust(4, 3)
    return builder.as_markup()


def render_blocks(stats: Stats, settings: Settings, language: str) -> list[Html]:
    return [_block(section) for section in sections(stats, settings.zone, language)]


def _block(section: Section) -> Html:
    lines = [html("<b>{}</b>", section.title)]
    lines += [html("{}: {}", label, value) for label, value in section.rows]
    if section.note:
        lines.append(html("<i>{}</i>", section.note))
    return Html("\n").join(lines)


def _charts(stats: Stats, language: str) -> tuple[bytes, bytes]:
    from flows.charts import cohort_chart, revenue_chart  # matplotlib loads on first use, not at start-up

    return revenue_chart(stats.months, stats.currency, language), cohort_chart(stats.cohorts, language)


@router.message(Command("stats"), IsOwner())
async def stats_command(
    message: Message, command: CommandObject, analytics: Analytics, settings: Settings, tr: Translator
) -> None:
    """Answer /stats [period]: the figures, buttons for other periods, then the charts."""
    try:
        period = analytics.period(command.args)
    except PeriodError as exc:
        await message.answer(exc.html(tr))
        return
    assert message.from_user is not None
    await analytics.record_access(message.from_user.id, "stats", period=period.key)
    stats = await analytics.stats(period)
    texts = pack_blocks(render_blocks(stats, settings, tr.language))
    for number, text in enumerate(texts):
        markup = period_keyboard(period.key) if number == len(texts) - 1 else None
        await message.answer(text, reply_markup=markup)
    assert message.bot is not None
    await message.bot.send_chat_action(message.chat.id, ChatAction.UPLOAD_PHOTO)
    revenue, cohorts = await asyncio.to_thread(_charts, stats, tr.language)
    # The captions are marked texts of flows/stats_render.py, translated here for the reader.
    await message.answer_photo(
        BufferedInputFile(revenue, "revenue.png"), caption=Html(tr.gettext(REVENUE_CAPTION))
    )
    await message.answer_photo(BufferedInputFile(cohorts, "cohorts.png"), caption=Html(tr.gettext(COHORT_CAPTION)))


@router.callback_query(StatsCb.filter(), IsOwner())
async def stats_period(
    query: CallbackQuery, callback_data: StatsCb, analytics: Analytics, settings: Settings, tr: Translator
) -> None:
    """A period button: the figures for that period in place of the old ones (the charts do not change)."""
    try:
        period = analytics.period(callback_data.period)
    except PeriodError:  # forged or from an older version: the data is never trusted
        await query.answer(tr.gettext("This button is no longer active."))
        return
    await analytics.record_access(query.from_user.id, "stats", period=period.key)
    stats = await analytics.stats(period, charts=False)
    texts = pack_blocks(render_blocks(stats, settings, tr.language))
    await query.answer()
    message = query.message
    if len(texts) == 1 and isinstance(message, Message):
        try:
            await message.edit_text(texts[0], reply_markup=period_keyboard(period.key))
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):  # the same figures again: nothing to change
                return  # otherwise (too old to edit) send them anew below
    for number, text in enumerate(texts):
        await _send(
            query.from_user, query, text, period_keyboard(period.key) if number == len(texts) - 1 else None
        )


async def _send(user: User, query: CallbackQuery, text: Html, markup: InlineKeyboardMarkup | None) -> None:
    assert query.bot is not None
    await query.bot.send_message(user.id, text, reply_markup=markup)


@router.callback_query(StatsCb.filter())
async def stats_not_allowed(query: CallbackQuery, t: Texts) -> None:
    """Anyone else pressing (or forging) a stats button learns it is not for them; nothing is computed."""
    await query.answer(t("not_allowed"), show_alert=True)
