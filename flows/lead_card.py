"""The lead card managers see: who the customer is, what they bought, why they are here, what they wrote.

Manager-facing, so English; every value from a customer is HTML-escaped. Purchase and loyalty figures
come from `CardFacts` providers (see storage/customer_facts.py), "—" where there is nothing yet.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, tzinfo

from flows.content import LANGUAGE_NAMES
from storage.customer_facts import PurchaseFacts
from storage.customers import Customer
from storage.leads import Lead
from storage.messages import RecentMessage

NONE = "—"
CAUSES = {
    "manager": "asked to talk to a manager",
    "interested": "pressed “I'm interested”",
    "offer": "is interested in an offer",
    "faq_miss": "asked a question the FAQ could not answer",
    "low_score": "gave a low satisfaction score",
    "keyword": "wrote that they want to buy",
}
KIND_ICONS = {"photo": "🖼 photo", "document": "📎 document", "voice": "🎤 voice message", "video": "🎬 video"}


@dataclass(frozen=True)
class CardData:
    lead: Lead
    customer: Customer
    tags: list[str]
    facts: PurchaseFacts
    recent: list[RecentMessage]


def _e(value: object) -> str:
    return html.escape(str(value), quote=False)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cause_line(lead: Lead) -> str:
    """Why this lead exists, e.g. `pressed “I'm interested” — welcome step 2`."""
    line = CAUSES.get(lead.cause, lead.cause)
    details = [part for part in (lead.offer, lead.context) if part]
    if lead.offer and lead.context and lead.context.startswith(lead.offer):
        details = [lead.context]
    return _e(line) + (f": <i>{_e(_short(' · '.join(details), 300))}</i>" if details else "")


def status_line(lead: Lead, zone: tzinfo) -> str:
    if lead.state == "open":
        waited = f" · reminded {lead.reminders}×" if lead.reminders else ""
        return f"⏳ <b>Waiting</b> — nobody took it yet{waited}"
    if lead.state == "taken":
        at = f" at {lead.taken_at.astimezone(zone):%H:%M}" if lead.taken_at else ""
        return f"🙋 <b>Taken by {_e(lead.taken_by_name or 'a manager')}</b>{at}"
    mark = "✅ <b>Won</b>" if lead.state == "won" else "✖️ <b>Lost</b>"
    return f"{mark} — closed by {_e(lead.closed_by_name or 'a manager')}"


def _money(value: object) -> str:
    return f"{value:,.2f}".replace(",", " ") if value is not None else NONE


def _date(moment: datetime | None, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%d.%m.%Y}" if moment else NONE


def render_card(data: CardData, zone: tzinfo) -> str:
    """The card's HTML text; at most a few hundred characters plus five short messages."""
    c, f, lead = data.customer, data.facts, data.lead
    name = " ".join(p for p in (c.first_name, c.last_name) if p) or f"customer #{c.id}"
    username = f"@{_e(c.username)}" if c.username else NONE
    language = LANGUAGE_NAMES.get((c.preferred_language or "").split("-")[0], c.preferred_language or NONE)
    purchases = NONE if f.count is None else f"{f.count} for {_money(f.total)}"
    lines = [
        f"🔔 <b>Lead #{lead.id}</b> · {_e(name)} {username}",
        f"Why: {cause_line(lead)}",
        f"📱 {_e(c.phone or NONE)} · 🌐 {_e(language)} · source: {_e(c.source or NONE)}",
        f"⭐ tier: {_e(f.tier or NONE)} · points: {NONE if f.points is None else f.points}",
        f"🛒 purchases: {purchases} · last: {_date(f.last_at, zone)}",
        f"🏷 tags: {_e(', '.join(data.tags)) if data.tags else NONE}",
    ]
    if data.recent:
        lines.append("💬 <b>Last messages</b>:")
        for message in data.recent:
            body = message.text or ""
            kind = KIND_ICONS.get(message.kind, message.kind) if message.kind != "text" else ""
            shown = _short(" ".join(p for p in (f"[{kind}]" if kind else "", body) if p), 200)
            lines.append(f"  {message.at.astimezone(zone):%d.%m %H:%M} — {_e(shown)}")
    lines.append(status_line(lead, zone))
    return "\n".join(lines)
