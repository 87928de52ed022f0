"""The lead card managers see: who the customer is, what they bought, why they are here, what they wrote.

Read by the whole team in the managers' chat, so in the business's own language (the team's catalogue,
flows/i18n.py); built with `flows.markup.html`, so every value from a customer is escaped (the translated
templates are ours). Purchase and loyalty figures come from `CardFacts` providers (see
storage/customer_facts.py), "—" where there is nothing yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from flows.content import LANGUAGE_NAMES
from flows.formatting import date, moment, money, number
from flows.i18n import N_, Translator, translator
from flows.markup import Html, html
from flows.team_text import ENGLISH
from storage.customer_facts import PurchaseFacts
from storage.customers import Customer
from storage.leads import Lead
from storage.messages import RecentMessage

NONE = "—"
# The one place that names a lead's cause and state (flows/handoff.py's keys): the lead card, /leads and the
# console's customer page all read these (msgids, translated where shown).
STATES = {"open": N_("waiting"), "taken": N_("in progress"), "won": N_("won"), "lost": N_("lost")}
CAUSES = {
    "manager": N_("asked to talk to a manager"),
    "interested": N_("pressed “I'm interested”"),
    "offer": N_("is interested in an offer"),
    "faq_miss": N_("asked a question the FAQ could not answer"),
    "low_score": N_("gave a low satisfaction score"),
    "keyword": N_("wrote that they want to buy"),
    "console": N_("was handed to the managers from the console"),
}
KIND_ICONS = {
    "photo": N_("🖼 photo"),
    "document": N_("📎 document"),
    "voice": N_("🎤 voice message"),
    "video": N_("🎬 video"),
}


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


def state(key: str, tr: Translator) -> str:
    """A lead's state in `tr`'s language (`waiting`); an unknown key as it is."""
    return tr.gettext(STATES[key]) if key in STATES else key


def cause(key: str, tr: Translator) -> str:
    """What the customer did, in `tr`'s language (`asked to talk to a manager`); an unknown key as it is."""
    return tr.gettext(CAUSES[key]) if key in CAUSES else key


def cause_line(lead: Lead, tr: Translator = ENGLISH) -> Html:
    """Why this lead exists, e.g. `pressed “I'm interested” — welcome step 2`."""
    line = cause(lead.cause, tr)
    details = [part for part in (lead.offer, lead.context) if part]
    if lead.offer and lead.context and lead.context.startswith(lead.offer):
        details = [lead.context]
    return Html(line) + (html(": <i>{}</i>", _short(" · ".join(details), 300)) if details else "")


def status_line(lead: Lead, zone: tzinfo, tr: Translator = ENGLISH) -> Html:
    """Where the lead stands: waiting (and how often the team was reminded), taken by whom, or closed."""
    if lead.state == "open":
        line = html(tr.gettext("⏳ <b>Waiting</b> — nobody took it yet"))
        if lead.reminders:
            line += html(tr.gettext(" · reminded {n}×"), n=lead.reminders)
        return line
    someone = tr.gettext("a manager")
    if lead.state == "taken":
        taken = html(tr.gettext("🙋 <b>Taken by {name}</b>"), name=lead.taken_by_name or someone)
        if lead.taken_at:
            taken += html(tr.gettext(" at {time}"), time=f"{lead.taken_at.astimezone(zone):%H:%M}")
        return taken
    mark = html(tr.gettext("✅ <b>Won</b>")) if lead.state == "won" else html(tr.gettext("✖️ <b>Lost</b>"))
    return html(tr.gettext("{outcome} — closed by {name}"), outcome=mark, name=lead.closed_by_name or someone)


def _date(moment: datetime | None, zone: tzinfo, language: str) -> str:
    return date(moment, language, zone) if moment else NONE


def render_card(data: CardData, zone: tzinfo, currency: str = "USD", locale: str = "en") -> Html:
    """The card's HTML text; at most a few hundred characters plus five short messages.

    Money in the content file's currency, numbers and dates in `locale` (flows.formatting)."""
    c, f, lead = data.customer, data.facts, data.lead
    tr = translator(locale)
    name = " ".join(p for p in (c.first_name, c.last_name) if p) or tr.gettext("customer #{id}").format(id=c.id)
    username = f"@{c.username}" if c.username else NONE
    language = LANGUAGE_NAMES.get((c.preferred_language or "").split("-")[0], c.preferred_language or NONE)
    if f.count is None:
        purchases = tr.gettext("purchases: {none}").format(none=NONE)
    else:
        bought = tr.ngettext("{n} purchase", "{n} purchases", f.count).format(n=number(f.count, locale))
        purchases = tr.gettext("{purchases} for {money}").format(
            purchases=bought, money=money(f.total or Decimal(0), currency, locale)
        )
    points = NONE if f.points is None else number(f.points, locale)
    lines = [
        html(tr.gettext("🔔 <b>Lead #{id}</b> · {name} {username}"), id=lead.id, name=name, username=username),
        html(tr.gettext("Why: {cause}"), cause=cause_line(lead, tr)),
        html(
            tr.gettext("📱 {phone} · 🌐 {language} · source: {source}"),
            phone=c.phone or NONE,
            language=language,
            source=c.source or NONE,
        ),
        html(tr.gettext("⭐ tier: {tier} · points: {points}"), tier=f.tier or NONE, points=points),
        html(tr.gettext("🛒 {purchases} · last: {day}"), purchases=purchases, day=_date(f.last_at, zone, locale)),
        html(tr.gettext("🏷 tags: {tags}"), tags=", ".join(data.tags) if data.tags else NONE),
    ]
    if data.recent:
        lines.append(html(tr.gettext("💬 <b>Last messages</b>:")))
        for message in data.recent:
            body = message.text or ""
            known = KIND_ICONS.get(message.kind)
            kind = (tr.gettext(known) if known else message.kind) if message.kind != "text" else ""
            shown = _short(" ".join(p for p in (f"[{kind}]" if kind else "", body) if p), 200)
            lines.append(html("  {} — {}", moment(message.at, locale, zone), shown))
    lines.append(status_line(lead, zone, tr))
    return Html("\n").join(lines)
