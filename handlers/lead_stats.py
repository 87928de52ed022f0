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
from flows.markup import Html, html
from handlers.faq_teaching import group_keyboard, group_text
from handlers.filters import IsOwner
from handlers.render import pack_blocks
from handlers.routing import RouterSpec
from storage.leads import Lead

router = RouterSpec("lead_stats", message_filters=(F.chat.type == "private",))
DAYS = 30
GROUPS_SHOWN = 8  # groups of questions per /questions, each a message with its buttons (1 a second)
STATE_NAMES = {"open": "waiting", "taken": "in progress", "won": "won", "lost": "lost"}


def _minutes(value: float, language: str) -> str:
    return duration(timedelta(minutes=value), language)


@router.message(Command("leads"), IsOwner())
async def leads_report(message: Message, handoff: Handoff, clock: Clock, t: Texts) -> None:
    """Leads per state, time to first answer, won/lost and who is waiting now."""
    stats = await handoff.stats(DAYS)
    total = sum(stats.by_state.values())
    lang = t.language
    states = " · ".join(
        f"{name} {number(stats.by_state.get(state, 0), lang)}" for state, name in STATE_NAMES.items()
    )
    lines = [html("<b>Leads, last {} days</b>: {}", DAYS, number(total, lang)), Html(states)]
    won, lost = stats.by_state.get("won", 0), stats.by_state.get("lost", 0)
    if won + lost:
        lines.append(
            html(
                "won {} / lost {} — {} won",
                number(won, lang),
                number(lost, lang),
                percent(won / (won + lost), lang),
            )
        )
        if stats.no_answer:
            lines.append(html("closed for silence (no answer): {} of the lost", number(stats.no_answer, lang)))
    if stats.answer_minutes:
        times = stats.answer_minutes
        lines.append(
            html(
                "first answer: median {}, slowest {} ({} answered)",
                _minutes(statistics.median(times), lang),
                _minutes(max(times), lang),
                number(len(times), lang),
            )
        )
    else:
        lines.append(Html("first answer: no lead answered yet"))
    if stats.by_cause:
        lines.append(
            html("why: {}", ", ".join(f"{cause} {number(n, lang)}" for cause, n in sorted(stats.by_cause.items())))
        )
    blocks = [Html("\n").join(lines)]
    open_leads = await handoff.leads.open_leads()
    if open_leads:
        now = clock.now()
        rows = [html("<b>Open now</b> (who holds it · how long the customer has waited):")]
        rows += [_open_line(lead, name, now, lang) for lead, name in open_leads]
        blocks.append(Html("\n").join(rows))
    for text in pack_blocks(blocks):
        await message.answer(text)


def _open_line(lead: Lead, name: str, now: datetime, language: str = "en") -> Html:
    """`#3 Anna — Olga · waiting 2 h 15 min`; nobody's lead and an answered customer are said so."""
    holder = (
        html("{}", lead.taken_by_name) if lead.state == "taken" and lead.taken_by_name else Html("nobody took it")
    )
    since = lead.waiting_since
    if since is None:
        wait = html("answered; quiet for {}", duration(now - lead.last_activity, language))
    else:
        wait = html("waiting {}", duration(now - since, language))
    return html("#{} {} — {} · {}", lead.id, name, holder, wait)


@router.message(Command("questions"), IsOwner())
async def questions_report(message: Message, faq: Faq, faq_teaching: FaqTeaching, t: Texts) -> None:
    """How the FAQ did, and the questions it missed or was unsure of, grouped, each with one-tap answers."""
    counts = await faq.counts(DAYS)
    head = html(
        "<b>Questions, last {} days</b>\nanswered {} · offered a choice {} · unanswered {}",
        DAYS,
        number(counts.answered, t.language),
        number(counts.suggested, t.language),
        number(counts.missed, t.language),
    )
    groups = await faq_teaching.groups(DAYS)
    if groups:
        head += html(
            "\n\n<b>Not answered yet</b>: {} kinds of question{}, most asked first."
            " Tap what each means; /taught undoes.",
            number(len(groups), t.language),
            f" (the first {GROUPS_SHOWN} below; the rest come up as you handle these)"
            if len(groups) > GROUPS_SHOWN
            else "",
        )
    else:
        head += html("\n\nNothing left to teach. What the FAQ learned: /taught")
    await message.answer(head)
    for group in groups[:GROUPS_SHOWN]:
        await message.answer(group_text(group, t), reply_markup=group_keyboard(group, faq, t))
