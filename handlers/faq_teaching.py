"""The owner teaches the FAQ: buttons under each group of questions in /questions, the answer of a new
entry, and /taught to review and remove what was learned.

Buttons carry only a question id (the group is looked up again when pressed) and an entry id; the
presser must be an owner at that moment, and a group already taught gets a short explanation instead.
"""

from __future__ import annotations

import contextlib

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.settings import Settings
from flows.content import FaqEntry, Texts
from flows.faq import Faq
from flows.faq_teaching import ANSWER_LIMIT, AwaitedAnswer, FaqTeaching, Lesson, QuestionGroup, Review
from flows.formatting import number
from flows.i18n import N_, Translator
from flows.markup import Html, html
from flows.team_text import markup
from handlers.filters import IsOwner
from handlers.routing import RouterSpec

router = RouterSpec("faq_teaching", message_filters=(F.chat.type == "private",))
PAGE = 8  # entries per page of "Another entry…"
REVIEW_PAGE = 10  # items per page of /taught
LABEL = 40  # characters of a question or an entry's title on a button
ONLY_OWNER = N_("Only the owner can teach the FAQ.")
STALE = N_("Already handled (or no longer asked). Send /questions for the current list.")


class TeachCb(CallbackData, prefix="ft"):
    a: str  # m: means entry e · e: list entries (page p) · b: back · n: new entry · c: cancel · x: not ours
    q: int  # a question of the group (the group is found again from it)
    e: str = ""  # the entry
    p: int = 0  # the page of entries


class TaughtCb(CallbackData, prefix="fu"):
    a: str  # r: remove phrasing i · d: delete owner entry i · p: page p
    i: str = ""
    p: int = 0


def _cut(text: str, limit: int = LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(entry: FaqEntry, faq: Faq, t: Texts) -> str:
    return entry.label(t.language, faq.content.business.default_language)


def group_text(group: QuestionGroup, tr: Translator) -> Html:
    """`3× do you have a sauna?` and, when asked in other words too, a few of them."""
    wordings = [text for text, _ in group.texts()]
    text = html("{}× {}", number(group.count, tr.language), _cut(group.representative.text, 300))
    if len(wordings) > 1:
        others = " · ".join(_cut(w, 60) for w in wordings[1:6])
        text += Html("\n") + html(tr.gettext("<i>also: {wordings}</i>"), wordings=others)
    return text


def _handled(message: Message, tr: Translator) -> Html:
    """The question of a group someone already handled, marked so (its buttons are gone)."""
    return html("{}\n{}", _cut(message.text or "", 300), html(tr.gettext("<i>Already handled.</i>")))


def group_keyboard(group: QuestionGroup, faq: Faq, t: Texts, tr: Translator) -> InlineKeyboardMarkup:
    """The one-tap answers for a group: the likely entries, another one, a new one, not our topic."""
    builder = InlineKeyboardBuilder()
    q = group.representative.id
    for entry_id in group.entries:
        entry = faq.entry(entry_id)
        if entry is not None:
            builder.button(text=f"→ {_cut(_label(entry, faq, t))}", callback_data=TeachCb(a="m", q=q, e=entry.id))
    builder.button(text=tr.gettext("Another entry…"), callback_data=TeachCb(a="e", q=q))
    builder.button(text=tr.gettext("➕ New entry"), callback_data=TeachCb(a="n", q=q))
    builder.button(text=tr.gettext("🚫 Not our topic"), callback_data=TeachCb(a="x", q=q))
    builder.adjust(1)
    return builder.as_markup()


def _entries_keyboard(q: int, page: int, faq: Faq, t: Texts, tr: Translator) -> InlineKeyboardMarkup:
    entries = faq.entries
    pages = max(1, -(-len(entries) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PAGE : (page + 1) * PAGE]
    builder = InlineKeyboardBuilder()
    for entry in shown:
        builder.button(text=_cut(_label(entry, faq, t)), callback_data=TeachCb(a="m", q=q, e=entry.id))
    navigation = 0
    if page > 0:
        builder.button(text="◀︎", callback_data=TeachCb(a="e", q=q, p=page - 1))
        navigation += 1
    if page < pages - 1:
        builder.button(text="▶︎", callback_data=TeachCb(a="e", q=q, p=page + 1))
        navigation += 1
    builder.button(text="↩︎ " + tr.gettext("Back"), callback_data=TeachCb(a="b", q=q))
    builder.adjust(*[1] * len(shown), *([navigation] if navigation else []), 1)
    return builder.as_markup()


def _is_owner(user: User | None, settings: Settings) -> bool:
    return user is not None and user.id in settings.owner_ids


async def _edit(message: Message, text: Html, markup: InlineKeyboardMarkup | None = None) -> None:
    with contextlib.suppress(TelegramBadRequest):  # "message is not modified" after a double tap
        await message.edit_text(text, reply_markup=markup)


@router.callback_query(TeachCb.filter())
async def teach_button(
    query: CallbackQuery,
    callback_data: TeachCb,
    settings: Settings,
    faq: Faq,
    faq_teaching: FaqTeaching,
    t: Texts,
    tr: Translator,
) -> None:
    """One tap on a group of questions: what it means, another entry, a new entry, or not our topic."""
    if not _is_owner(query.from_user, settings):
        await query.answer(tr.gettext(ONLY_OWNER), show_alert=True)
        return
    message, q, action = query.message, callback_data.q, callback_data.a
    if not isinstance(message, Message):
        await query.answer(tr.gettext(STALE))
        return
    if action in ("e", "b", "n", "c"):
        await _navigate(query, message, callback_data, faq, faq_teaching, t, tr)
        return
    if action == "m":
        lesson = await faq_teaching.means(q, callback_data.e, query.from_user.id)
    elif action == "x":
        lesson = await faq_teaching.not_our_topic(q, query.from_user.id)
    else:
        await query.answer(tr.gettext(STALE))
        return
    await _confirm(query, message, lesson, faq, t, tr)


async def _navigate(
    query: CallbackQuery,
    message: Message,
    data: TeachCb,
    faq: Faq,
    teaching: FaqTeaching,
    t: Texts,
    tr: Translator,
) -> None:
    """Buttons that change the keyboard only (after checking the group is still open)."""
    group = await teaching.group_of(data.q)
    if group is None:
        await query.answer(tr.gettext(STALE))
        await _edit(message, _handled(message, tr))
        return
    await query.answer()
    if data.a == "e":
        await _edit(
            message,
            html("{}\n\n{}", group_text(group, tr), tr.gettext("Which entry answers it?")),
            _entries_keyboard(data.q, data.p, faq, t, tr),
        )
    elif data.a == "n":
        await teaching.await_answer(query.from_user.id, data.q, message.message_id)
        cancel = InlineKeyboardBuilder()
        cancel.button(text="✖️ " + tr.gettext("Cancel"), callback_data=TeachCb(a="c", q=data.q))
        ask = tr.gettext(
            "<b>New entry.</b> Send its answer as one message (plain text, up to {limit} characters)."
            " The question above becomes its title."
        )
        prompt = html("{}\n\n{}", group_text(group, tr), html(ask, limit=number(ANSWER_LIMIT, tr.language)))
        await _edit(message, prompt, cancel.as_markup())
    else:  # back, or cancel of a new entry
        if data.a == "c":
            await teaching.stop_awaiting(query.from_user.id)
        await _edit(message, group_text(group, tr), group_keyboard(group, faq, t, tr))


async def _confirm(
    query: CallbackQuery, message: Message, lesson: Lesson, faq: Faq, t: Texts, tr: Translator
) -> None:
    if lesson.status == "unknown_entry":
        await query.answer(tr.gettext("That entry is no longer in the FAQ."), show_alert=True)
        return
    if lesson.status != "done":
        await query.answer(tr.gettext(STALE))
        await _edit(message, _handled(message, tr))
        return
    await query.answer(tr.gettext("Done"))
    await _edit(message, lesson_text(lesson, faq, t, tr))


def lesson_text(lesson: Lesson, faq: Faq, t: Texts, tr: Translator) -> Html:
    """The confirmation of a lesson that took effect."""
    asked = number(lesson.questions, tr.language)
    if lesson.entry is None:
        not_ours = tr.ngettext(
            "🚫 Not our topic: {n} question. Similar questions now get “no answer” and stay off this list. "
            "Undo with /taught.",
            "🚫 Not our topic: {n} questions. Similar questions now get “no answer” and stay off this list. "
            "Undo with /taught.",
            lesson.questions,
        )
        return html(not_ours, n=asked)
    answered = tr.ngettext(
        "✅ {n} question now answered by “{entry}”", "✅ {n} questions now answered by “{entry}”", lesson.questions
    )
    phrasings = tr.ngettext(
        "({n} new phrasing). Undo with /taught.", "({n} new phrasings). Undo with /taught.", lesson.phrasings
    )
    return html(
        "{} {}",
        html(answered, n=asked, entry=_label(lesson.entry, faq, t)),
        html(phrasings, n=number(lesson.phrasings, tr.language)),
    )


class AwaitingAnswer(Filter):
    """Text from an owner who pressed "New entry": the answer. Puts `awaited` in the handler data."""

    async def __call__(
        self, message: Message, settings: Settings, faq_teaching: FaqTeaching, event_from_user: User | None = None
    ) -> bool | dict[str, AwaitedAnswer]:
        if not _is_owner(event_from_user, settings) or not message.text or message.text.startswith("/"):
            return False  # customers pay one set lookup; commands keep working mid-dialog
        assert event_from_user is not None
        awaited = await faq_teaching.awaited(event_from_user.id)
        return {"awaited": awaited} if awaited is not None else False


@router.message(AwaitingAnswer())
async def new_entry_answer(
    message: Message,
    awaited: AwaitedAnswer,
    bot: Bot,
    faq: Faq,
    faq_teaching: FaqTeaching,
    t: Texts,
    tr: Translator,
) -> None:
    """The answer of a new entry: checked, saved, matched from now on."""
    assert message.from_user is not None
    lesson = await faq_teaching.new_entry(awaited.question_id, message.text or "", message.from_user.id)
    if lesson.status == "invalid":
        again = tr.gettext("Send the answer again, or press Cancel.")
        await message.answer(html("{} {}", markup(lesson.problem, tr), again))
        return
    await faq_teaching.stop_awaiting(message.from_user.id)
    if lesson.status == "done":
        text = html("{}\n{}", tr.gettext("✅ New entry added."), lesson_text(lesson, faq, t, tr))
    else:
        text = html(tr.gettext(STALE))
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_text(
            text, chat_id=message.chat.id, message_id=awaited.message_id, reply_markup=None
        )
    await message.answer(text)


@router.message(Command("taught"), IsOwner())
async def taught_report(message: Message, faq: Faq, faq_teaching: FaqTeaching, t: Texts, tr: Translator) -> None:
    """Everything the FAQ learned, newest first, with a remove button each."""
    text, markup = review_page(await faq_teaching.review(), 0, faq, t, tr)
    await message.answer(text, reply_markup=markup)


@router.callback_query(TaughtCb.filter())
async def taught_button(
    query: CallbackQuery,
    callback_data: TaughtCb,
    settings: Settings,
    faq: Faq,
    faq_teaching: FaqTeaching,
    t: Texts,
    tr: Translator,
) -> None:
    """Remove a learned phrasing or an owner's entry, or turn the page of /taught."""
    if not _is_owner(query.from_user, settings):
        await query.answer(tr.gettext(ONLY_OWNER), show_alert=True)
        return
    if not isinstance(query.message, Message):
        await query.answer(tr.gettext(STALE))
        return
    note = ""
    if callback_data.a == "r":
        removed = await faq_teaching.remove_phrasing(callback_data.i, query.from_user.id)
        note = tr.gettext("Removed.") if removed else tr.gettext("Already removed.")
    elif callback_data.a == "d":
        removed = await faq_teaching.remove_entry(callback_data.i, query.from_user.id)
        note = tr.gettext("Entry removed.") if removed else tr.gettext("Already removed.")
    await query.answer(note or None)
    text, markup = review_page(await faq_teaching.review(), callback_data.p, faq, t, tr)
    await _edit(query.message, text, markup)


def review_page(
    review: Review, page: int, faq: Faq, t: Texts, tr: Translator
) -> tuple[Html, InlineKeyboardMarkup | None]:
    """One page of /taught: numbered lines (the owner's entries first), a ✖ button per line, page arrows."""
    items: list[tuple[Html, TaughtCb]] = []
    for owned in reversed(review.entries):
        new_entry = tr.gettext("➕ New entry “{question}”: {answer}")
        line = html(new_entry, question=_cut(owned.question, 80), answer=_cut(owned.answer, 120))
        items.append((line, TaughtCb(a="d", i=owned.entry_id)))
    for phrasing in reversed(review.phrasings):
        entry = faq.entry(phrasing.entry) if phrasing.entry else None
        meaning = (
            html(tr.gettext("not our topic"))
            if phrasing.entry is None
            else html("{}", _label(entry, faq, t))
            if entry
            else html(tr.gettext("an entry no longer in the FAQ"))
        )
        who = tr.gettext("you") if phrasing.source == "owner" else tr.gettext("customers' choices")
        items.append(
            (
                html("“{}” → {} <i>({})</i>", _cut(phrasing.text, 80), meaning, who),
                TaughtCb(a="r", i=str(phrasing.id)),
            )
        )
    if not items:
        return html(tr.gettext("Nothing learned yet. Teach the FAQ from /questions.")), None
    pages = -(-len(items) // REVIEW_PAGE)
    page = min(max(page, 0), pages - 1)
    shown = items[page * REVIEW_PAGE : (page + 1) * REVIEW_PAGE]
    first = page * REVIEW_PAGE + 1
    learned = tr.gettext("<b>What the FAQ learned</b> ({n}); ✖ removes one:")
    lines = [html(learned, n=number(len(items), tr.language))]
    lines += [html("{}. {}", first + n, line) for n, (line, _) in enumerate(shown)]
    builder = InlineKeyboardBuilder()
    for n, (_, data) in enumerate(shown):
        builder.button(text=f"✖ {first + n}", callback_data=data.model_copy(update={"p": page}))
    navigation = []
    if page > 0:
        builder.button(text="◀︎", callback_data=TaughtCb(a="p", p=page - 1))
        navigation.append(1)
    if page < pages - 1:
        builder.button(text="▶︎", callback_data=TaughtCb(a="p", p=page + 1))
        navigation.append(1)
    rows = [min(5, len(shown) - start) for start in range(0, len(shown), 5)]
    builder.adjust(*rows, *([len(navigation)] if navigation else []))
    return Html("\n").join(lines), builder.as_markup()
