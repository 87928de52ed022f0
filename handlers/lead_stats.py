"""Owners' numbers for handoff and the FAQ: /leads and /questions."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from aiogram import F
from aiogram.filters import Command
from aiogram.types import Message

from flows.clock import Clock
from flows.content import Texts
from flows.faq import Faq
from flows.faq_teaching import FaqTeaching
from flows.formatting import duration, number, percent
from flows.handoff import Handoff
from flows.i18n import Translator
from flows.lead_card import STATES
from flows.lead_card import cause as lead_cause
from flows.lead_card import state as lead_state
from flows.markup import Html, html
from handlers.faq_teaching import group_keyboard, group_text
from handlers.filters import IsOwner
from handlers.render import pack_blocks
from handlers.routing import RouterSpec
from storage.leads import Lead

router = RouterSpec("lead_stats", message_filters=(F.chat.type == "private",))
DAYS = 30
GROUPS_SHOWN = 8  # groups of questions per /questions, each a message with its buttons (1 a second)


def _minutes(value: float, language: str) -> str:
    return duration(timedelta(minutes=value), language)


@router.message(Command("leads"), IsOwner())
async def leads_report(message: Message, handoff: Handoff, clock: Clock, tr: Translator) -> None:
    """Leads per state, time to first answer, won/lost and who is waiting now."""
    stats = await handoff.stats(DAYS)
    total = sum(stats.by_state.values())
    lang = tr.language
    states = " · ".join(
        f"{lead_state(state, tr)} {number(stats.by_state.get(state, 0), lang)}" for state in STATES
    )
    heading = tr.ngettext(
        "<b>Leads, last {days} day</b>: {total}", "<b>Leads, last {days} days</b>: {total}", DAYS
    )
    lines = [html(heading, days=DAYS, total=number(total, lang)), Html(states)]
    won, lost = stats.by_state.get("won", 0), stats.by_state.get("lost", 0)
    if won + lost:
        lines.append(
            html(
                tr.gettext("won {won} / lost {lost} — {share} won"),
                won=number(won, lang),
                lost=number(lost, lang),
                share=percent(won / (won + lost), lang),
            )
        )
        if stats.no_answer:
            silence = tr.gettext("closed for silence (no answer): {n} of the lost")
            lines.append(html(silence, n=number(stats.no_answer, lang)))
    if stats.answer_minutes:
        times = stats.answer_minutes
        lines.append(
            html(
                tr.gettext("first answer: median {median}, slowest {slowest} ({answered} answered)"),
                median=_minutes(statistics.median(times), lang),
                slowest=_minutes(max(times), lang),
                answered=number(len(times), lang),
            )
        )
    else:
        lines.append(html(tr.gettext("first answer: no lead answered yet")))
    if stats.by_cause:
        causes = ", ".join(
            f"{lead_cause(cause, tr)} {number(n, lang)}" for cause, n in sorted(stats.by_cause.items())
        )
        lines.append(html(tr.gettext("why: {causes}"), causes=causes))
    blocks = [Html("\n").join(lines)]
    open_leads = await handoff.leads.open_leads()
    if open_leads:
        now = clock.now()
        rows = [html(tr.gettext("<b>Open now</b> (who holds it · how long the customer has waited):"))]
        rows += [_open_line(lead, name, now, tr) for lead, name in open_leads]
        blocks.append(Html("\n").join(rows))
    for text in pack_blocks(blocks):
        await message.answer(text)


def _open_line(lead: Lead, name: str, now: datetime, tr: Translator) -> Html:
    """`#3 Anna — Olga · waiting 2 h 15 min`; nobody's lead and an answered customer are said so."""
    taken = lead.state == "taken" and lead.taken_by_name
    holder = html("{}", lead.taken_by_name) if taken else html(tr.gettext("nobody took it"))
    since = lead.waiting_since
    if since is None:
        quiet = duration(now - lead.last_activity, tr.language)
        wait = html(tr.gettext("answered; quiet for {duration}"), duration=quiet)
    else:
        wait = html(tr.gettext("waiting {duration}"), duration=duration(now - since, tr.language))
    return html("#{} {} — {} · {}", lead.id, name, holder, wait)


@router.message(Command("questions"), IsOwner())
async def questions_report(
    message: Message, faq: Faq, faq_teaching: FaqTeaching, t: Texts, tr: Translator
) -> None:
    """How the FAQ did, and the questions it missed or was unsure of, grouped, each with one-tap answers."""
    counts = await faq.counts(DAYS)
    lang = tr.language
    heading = tr.ngettext(
        "<b>Questions, last {days} day</b>\nanswered {answered} · offered a choice {suggested} · unanswered {missed}",
        "<b>Questions, last {days} days</b>\nanswered {answered} · offered a choice {suggested} · unanswered {missed}",
        DAYS,
    )
    head = html(
        heading,
        days=DAYS,
        answered=number(counts.answered, lang),
        suggested=number(counts.suggested, lang),
        missed=number(counts.missed, lang),
    )
    groups = await faq_teaching.groups(DAYS)
    if not groups:
        head += Html("\n\n") + html(tr.gettext("Nothing left to teach. What the FAQ learned: /taught"))
    elif len(groups) > GROUPS_SHOWN:
        more = tr.ngettext(
            "<b>Not answered yet</b>: {n} kind of question (the first {shown} below; the rest come up as you "
            "handle these), most asked first. Tap what each means; /taught undoes.",
            "<b>Not answered yet</b>: {n} kinds of question (the first {shown} below; the rest come up as you "
            "handle these), most asked first. Tap what each means; /taught undoes.",
            len(groups),
        )
        head += Html("\n\n") + html(more, n=number(len(groups), lang), shown=GROUPS_SHOWN)
    else:
        kinds = tr.ngettext(
            "<b>Not answered yet</b>: {n} kind of question, most asked first. Tap what each means; /taught undoes.",
            "<b>Not answered yet</b>: {n} kinds of question, most asked first. Tap what each means; /taught undoes.",
            len(groups),
        )
        head += Html("\n\n") + html(kinds, n=number(len(groups), lang))
    await message.answer(head)
    for group in groups[:GROUPS_SHOWN]:
        await message.answer(group_text(group, tr), reply_markup=group_keyboard(group, faq, t, tr))
