"""The lead card managers see: who the customer is, what they bought, why they are here, what they wrote.

Manager-facing, so English; built with `flows.markup.html`, so every value from a customer is escaped. Purchase and loyalty figures
come from `CardFacts` providers (see storage/customer_facts.py), "—" where there is nothing yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from flows.content import LANGUAGE_NAMES
from flows.formatting import count, date, moment, money, number
from flows.markup import Html, html
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
    "console": "was handed to the managers from the console",
}
KIND_ICONS = {"photo": "🖼 photo", "document": "📎 document", "voice": "🎤 voice message", "video": "🎬 video"}


@dataclass(frozen=True)
class CardData:
    lead: Lead
    customer: Customer
    tags: list[str]
    facts: PurchaseFacts
    recent: list[RecentMessage]


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cause_line(lead: Lead) -> Html:
    """Why this lead exists, e.g. `pressed “I'm interested” — welcome step 2`."""
    line = CAUSES.get(lead.cause, lead.cause)
    details = [part for part in (lead.offer, lead.context) if part]
    if lead.offer and lead.context and lead.context.startswith(lead.offer):
        details = [lead.context]
    return Html(line) + (html(": <i>{}</i>", _short(" · ".join(details), 300)) if details else "")


def status_line(lead: Lead, zone: tzinfo) -> Html:
    if lead.state == "open":
        waited = f" · reminded {lead.reminders}×" if lead.reminders else ""
        return html("⏳ <b>Waiting</b> — nobody took it yet{}", waited)
    if lead.state == "taken":
        at = f" at {lead.taken_at.astimezone(zone):%H:%M}" if lead.taken_at else ""
        return html("🙋 <b>Taken by {}</b>{}", lead.taken_by_name or "a manager", at)
    mark = html("✅ <b>Won</b>") if lead.state == "won" else html("✖️ <b>Lost</b>")
    return html("{} — closed by {}", mark, lead.closed_by_name or "a manager")


def _date(moment: datetime | None, zone: tzinfo, language: str) -> str:
    return date(moment, language, zone) if moment else NONE


def render_card(data: CardData, zone: tzinfo, currency: str = "USD", locale: str = "en") -> Html:
    """The card's HTML text; at most a few hundred characters plus five short messages.

    Money in the content file's currency, numbers and dates in `locale` (flows.formatting)."""
    c, f, lead = data.customer, data.facts, data.lead
    name = " ".join(p for p in (c.first_name, c.last_name) if p) or f"customer #{c.id}"
    username = f"@{c.username}" if c.username else NONE
    language = LANGUAGE_NAMES.get((c.preferred_language or "").split("-")[0], c.preferred_language or NONE)
    purchases = (
        f"purchases: {NONE}"
        if f.count is None
        else f"{count(f.count, 'purchase', 'purchases', locale)} for {money(f.total or Decimal(0), currency, locale)}"
    )
    lines = [
        html("🔔 <b>Lead #{}</b> · {} {}", lead.id, name, username),
        html("Why: {}", cause_line(lead)),
        html("📱 {} · 🌐 {} · source: {}", c.phone or NONE, language, c.source or NONE),
        html("⭐ tier: {} · points: {}", f.tier or NONE, NONE if f.points is None else number(f.points, locale)),
        html("🛒 {} · last: {}", purchases, _date(f.last_at, zone, locale)),
        html("🏷 tags: {}", ", ".join(data.tags) if data.tags else NONE),
    ]
    if data.recent:
        lines.append(html("💬 <b>Last messages</b>:"))
        for message in data.recent:
            body = message.text or ""
            kind = KIND_ICONS.get(message.kind, message.kind) if message.kind != "text" else ""
            shown = _short(" ".join(p for p in (f"[{kind}]" if kind else "", body) if p), 200)
            lines.append(html("  {} — {}", moment(message.at, locale, zone), shown))
    lines.append(status_line(lead, zone))
    return Html("\n").join(lines)
