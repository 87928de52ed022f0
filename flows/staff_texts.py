"""The team's words: command menu descriptions and /help sections for owners, managers and cashiers.

Message ids (`cmd.sale`, `help.cashier`) name English texts whose translations live in the team's gettext
catalogue (flows/i18n.py, `flows_staff.po`). Customer-facing help
stays in the content file (`texts.<language>.help`); the customer menu's one-line descriptions live here
too, because they are part of the bot's frame (like Telegram's own buttons), not the owner's words, and a
new required content key would break every owner's existing content file.
"""

from __future__ import annotations

from flows.i18n import N_, translator
from flows.markup import Html, trusted

# The commands each role sees in its menu, in menu order. A role's menu is its own commands, then the
# customer ones (owners and staff can use the bot as customers too).
CUSTOMER_COMMANDS = (
    "start",
    "card",
    "balance",
    "coupons",
    "invite",
    "faq",
    "manager",
    "profile",
    "language",
    "help",
    "stop",
)
CASHIER_COMMANDS = ("sale", "redeem")
MANAGER_COMMANDS = (*CASHIER_COMMANDS, "points", "segment", "broadcast", "broadcasts")
OWNER_COMMANDS = ("stats", "leads", "questions", "taught", "sequences", "preview", "staff", *MANAGER_COMMANDS)
ROLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "customer": (),
    "cashier": CASHIER_COMMANDS,
    "manager": MANAGER_COMMANDS,
    "owner": OWNER_COMMANDS,
}
# /help sections each role reads, before the customer help.
ROLE_SECTIONS: dict[str, tuple[str, ...]] = {
    "customer": (),
    "cashier": ("help.cashier",),
    "manager": ("help.cashier", "help.manager"),
    "owner": ("help.owner", "help.cashier", "help.manager"),
}

# The English texts, marked for the catalogue (flows/locales/*/flows_staff.po holds Russian and Ukrainian). The
# menu's one-word descriptions carry a context, so that "Start" here never takes another area's translation.
MENU_CONTEXT = "command menu"  # written out in each marking call: babel reads literals only
_MENU = translator("en")  # English is the msgid itself: marking through it extracts context and text
ENGLISH: dict[str, str] = {
    "cmd.start": _MENU.pgettext("command menu", "Start"),
    "cmd.card": _MENU.pgettext("command menu", "My loyalty card"),
    "cmd.balance": _MENU.pgettext("command menu", "Points and history"),
    "cmd.coupons": _MENU.pgettext("command menu", "My coupons"),
    "cmd.invite": _MENU.pgettext("command menu", "Invite a friend"),
    "cmd.faq": _MENU.pgettext("command menu", "Questions and answers"),
    "cmd.manager": _MENU.pgettext("command menu", "Talk to a manager"),
    "cmd.profile": _MENU.pgettext("command menu", "My profile"),
    "cmd.language": _MENU.pgettext("command menu", "Language"),
    "cmd.help": _MENU.pgettext("command menu", "What the bot can do"),
    "cmd.stop": _MENU.pgettext("command menu", "No more offers"),
    "cmd.sale": _MENU.pgettext("command menu", "Record a sale: CARD AMOUNT"),
    "cmd.redeem": _MENU.pgettext("command menu", "Redeem a coupon: CODE"),
    "cmd.points": _MENU.pgettext("command menu", "Correct points: CARD +50 reason"),
    "cmd.segment": _MENU.pgettext("command menu", "Count a segment of customers"),
    "cmd.broadcast": _MENU.pgettext("command menu", "Send a message to a segment"),
    "cmd.broadcasts": _MENU.pgettext("command menu", "Latest broadcasts and their results"),
    "cmd.stats": _MENU.pgettext("command menu", "The business in numbers"),
    "cmd.leads": _MENU.pgettext("command menu", "Leads and their outcomes"),
    "cmd.questions": _MENU.pgettext("command menu", "Questions the FAQ answered and missed"),
    "cmd.taught": _MENU.pgettext("command menu", "What the FAQ learned, to undo"),
    "cmd.sequences": _MENU.pgettext("command menu", "How each sequence performs"),
    "cmd.preview": _MENU.pgettext("command menu", "Preview a sequence: NAME"),
    "cmd.staff": _MENU.pgettext("command menu", "Your team: invite and revoke"),
    "help.owner": N_(
        "<b>For owners</b>\n"
        "/stats [7d|30d|90d|365d|month|year|all] — the business in numbers, with charts\n"
        "/leads — leads and their outcomes; /questions — what the FAQ answered and missed, to teach it "
        "with one tap; /taught — what it learned, to undo\n"
        "/sequences — how each sequence performs; /preview NAME — a sequence as customers see it\n"
        "/staff — invite a cashier or a manager with a one-time link, list the team, revoke access"
    ),
    "help.cashier": N_(
        "<b>At the counter</b>\n"
        "/sale CARD AMOUNT [category] — record a sale (or scan the customer's card QR)\n"
        "/redeem CODE — redeem a customer's coupon"
    ),
    "help.manager": N_(
        "<b>For managers</b>\n"
        "/points CARD +50 reason — correct a customer's points\n"
        "/segment EXPRESSION — how many customers match, with examples\n"
        "/broadcast [segment] — a message to a segment: preview, now or later, live progress\n"
        "/broadcasts — the latest broadcasts and what they brought"
    ),
    "help.customer": N_("<b>As a customer</b>"),
}
DEFAULT_LANGUAGE = "en"


def text(language: str, message_id: str) -> str:
    """The catalogue's text for a message id, in `language` (English when we have no catalogue for it)."""
    tr = translator(language)
    if message_id.startswith("cmd."):
        return tr.pgettext(MENU_CONTEXT, ENGLISH[message_id])
    return tr.gettext(ENGLISH[message_id])


def menu(role: str | None, language: str) -> list[tuple[str, str]]:
    """(command, description) pairs of the menu for a role (None: a customer), in `language`."""
    own = ROLE_COMMANDS[role or "customer"]
    commands = [*own, *(c for c in CUSTOMER_COMMANDS if c not in own)]
    return [(command, text(language, f"cmd.{command}")) for command in commands]


def help_text(role: str | None, language: str, customer_help: Html) -> Html:
    """/help for a role: its team sections first, then the customer help (from the content file)."""
    sections = ROLE_SECTIONS[role or "customer"]
    if not sections:
        return customer_help
    parts = [trusted(text(language, section)) for section in sections]
    parts.append(trusted(text(language, "help.customer") + "\n") + customer_help)
    return Html("\n\n").join(parts)
