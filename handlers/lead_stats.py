"""Owners' numbers for handoff and the FAQ: /leads and /questions."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from aiogram import F
from aiogram.filters import Command
from aiogram.types import Message

from flows.clock import Clock
from flows.faq import Faq
from flows.handoff import Handoff, duration_text
from flows.markup import Html, html
from handlers.filters import IsOwner
from handlers.render import pack_blocks
from handlers.routing import RouterSpec
from storage.leads import Lead

router = RouterSpec("lead_stats", message_filters=(F.chat.type == "private",))
DAYS = 30
STATE_NAMES = {"open": "waiting", "taken": "in progress", "won": "won", "lost": "lost"}


def _minutes(value: float) -> str:
    return duration_text(timedelta(minutes=value))


@router.message(Command("leads"), IsOwner())
async def leads_report(message: Message, handoff: Handoff, clock: Clock) -> None:
    """Leads per state, time to first answer, won/lost and who is waiting now."""
    stats = await handoff.stats(DAYS)
    total = sum(stats.by_state.values())
    states = " · ".join(f"{name} {stats.by_state.get(state, 0)}" for state, name in STATE_NAMES.items())
    lines = [html("<b>Leads, last {} days</b>: {}", DAYS, total), Html(states)]
    won, lost = stats.by_state.get("won", 0), stats.by_state.get("lost", 0)
    if won + lost:
        lines.append(html("won {} / lost {} — {:.0%} won", won, lost, won / (won + lost)))
        if stats.no_answer:
            lines.append(html("closed for silence (no answer): {} of the lost", stats.no_answer))
    if stats.answer_minutes:
        times = stats.answer_minutes
        lines.append(
            html(
                "first answer: median {}, slowest {} ({} answered)",
                _minutes(statistics.median(times)),
                _minutes(max(times)),
                len(times),
            )
        )
    else:
        lines.append(Html("first answer: no lead answered yet"))
    if stats.by_cause:
        lines.append(html("why: {}", ", ".join(f"{cause} {n}" for cause, n in sorted(stats.by_cause.items()))))
    blocks = [Html("\n").join(lines)]
    open_leads = await handoff.leads.open_leads()
    if open_leads:
        now = clock.now()
        rows = [html("<b>Open now</b> (who holds it · how long the customer has waited):")]
        rows += [_open_line(lead, name, now) for lead, name in open_leads]
        blocks.append(Html("\n").join(rows))
    for text in pack_blocks(blocks):
        await message.answer(text)


def _open_line(lead: Lead, name: str, now: datetime) -> Html:
    """`#3 Anna — Olga · waiting 2 h 15 min`; nobody's lead and an answered customer are said so."""
    holder = (
        html("{}", lead.taken_by_name) if lead.state == "taken" and lead.taken_by_name else Html("nobody took it")
    )
    since = lead.waiting_since
    if since is None:
        wait = html("answered; quiet for {}", duration_text(now - lead.last_activity))
    else:
        wait = html("waiting {}", duration_text(now - since))
    return html("#{} {} — {} · {}", lead.id, name, holder, wait)


@router.message(Command("questions"), IsOwner())
async def questions_report(message: Message, faq: Faq) -> None:
    """How the FAQ did, and the questions it could not answer (what to add next)."""
    counts = await faq.counts(DAYS)
    head = html(
        "<b>Questions, last {} days</b>\nanswered {} · offered a choice {} · unanswered {}",
        DAYS,
        counts.answered,
        counts.suggested,
        counts.missed,
    )
    blocks = [head]
    if counts.top_missed:
        blocks.append(html("<b>Not in the FAQ yet</b> (most asked first):"))
        blocks += [html("{}× {}", n, text[:300]) for text, n in counts.top_missed]
    for text in pack_blocks(blocks, separator="\n"):
        await message.answer(text)
