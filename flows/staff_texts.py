"""The team's frame: command menu descriptions and /help sections for owners, managers and cashiers.

The texts are gettext msgids (flows/i18n.py; translations in `flows/locales/*/LC_MESSAGES/bot_staff.po`),
marked with `N_` here and translated for the reader when a menu or /help is built. Customer-facing help
stays in the content file (`texts.<language>.help`); the customer menu's one-line descriptions live here
too, because they are part of the bot's frame (like Telegram's own buttons), not the owner's words, and a
new required content key would break every owner's existing content file.
"""

from __future__ import annotations

from flows.formatting import number
from flows.i18n import N_, Translator, translator
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
CASHIER_COMMANDS = ("sale", "redeem", "console")
MANAGER_COMMANDS = (*CASHIER_COMMANDS, "points", "segment", "broadcast", "broadcasts")
OWNER_COMMANDS = ("stats", "leads", "questions", "taught", "sequences", "preview", "staff", *MANAGER_COMMANDS)
ROLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "customer": (),
    "cashier": CASHIER_COMMANDS,
    "manager": MANAGER_COMMANDS,
    "owner": OWNER_COMMANDS,
}

# Each command's one line in the menu (English msgids; Telegram allows 3–256 characters).
DESCRIPTIONS: dict[str, str] = {
    "start": N_("Start"),
    "card": N_("My loyalty card"),
    "balance": N_("Points and history"),
    "coupons": N_("My coupons"),
    "invite": N_("Invite a friend"),
    "faq": N_("Questions and answers"),
    "manager": N_("Talk to a manager"),
    "profile": N_("My profile"),
    "language": N_("Language"),
    "help": N_("What the bot can do"),
    "stop": N_("No more offers"),
    "sale": N_("Record a sale: CARD AMOUNT"),
    "redeem": N_("Redeem a coupon: CODE"),
    "points": N_("Correct points: CARD +50 reason"),
    "segment": N_("Count a segment of customers"),
    "broadcast": N_("Send a message to a segment"),
    "broadcasts": N_("Latest broadcasts and their results"),
    "console": N_("The console: a sign-in link for the browser"),
    "stats": N_("The business in numbers"),
    "leads": N_("Leads and their outcomes"),
    "questions": N_("Questions the FAQ answered and missed"),
    "taught": N_("What the FAQ learned, to undo"),
    "sequences": N_("How each sequence performs"),
    "preview": N_("Preview a sequence: NAME"),
    "staff": N_("Your team: invite and revoke"),
}

OWNER_HELP = N_(
    "<b>For owners</b>\n"
    "/stats [7d|30d|90d|365d|month|year|all] — the business in numbers, with charts\n"
    "/leads — leads and their outcomes; /questions — what the FAQ answered and missed, to teach it "
    "with one tap; /taught — what it learned, to undo\n"
    "/sequences — how each sequence performs; /preview NAME — a sequence as customers see it\n"
    "/staff — invite a cashier or a manager with a one-time link, list the team, revoke access"
)
CASHIER_HELP = N_(
    "<b>At the counter</b>\n"
    "/sale CARD AMOUNT [category] — record a sale (or scan the customer's card QR)\n"
    "/redeem CODE — redeem a customer's coupon"
)
MANAGER_HELP = N_(
    "<b>For managers</b>\n"
    "/points CARD +50 reason — correct a customer's points\n"
    "/segment EXPRESSION — how many customers match, with examples\n"
    "/broadcast [segment] — a message to a segment: preview, now or later, live progress\n"
    "/broadcasts — the latest broadcasts and what they brought"
)
CUSTOMER_HELP_HEADING = N_("<b>As a customer</b>")

# /help sections each role reads, before the customer help.
ROLE_SECTIONS: dict[str, tuple[str, ...]] = {
    "customer": (),
    "cashier": (CASHIER_HELP,),
    "manager": (CASHIER_HELP, MANAGER_HELP),
    "owner": (OWNER_HELP, CASHIER_HELP, MANAGER_HELP),
}


def menu(role: str | None, language: str | None) -> list[tuple[str, str]]:
    """(command, description) pairs of the menu for a role (None: a customer), in `language`."""
    tr = translator(language)
    own = ROLE_COMMANDS[role or "customer"]
    commands = [*own, *(c for c in CUSTOMER_COMMANDS if c not in own)]
    return [(command, tr.gettext(DESCRIPTIONS[command])) for command in commands]


def help_text(role: str | None, language: str | None, customer_help: Html) -> Html:
    """/help for a role: its team sections first (in the reader's language), then the customer help (from
    the content file)."""
    sections = ROLE_SECTIONS[role or "customer"]
    if not sections:
        return customer_help
    tr = translator(language)
    parts = [trusted(tr.gettext(section)) for section in sections]
    parts.append(trusted(tr.gettext(CUSTOMER_HELP_HEADING) + "\n") + customer_help)
    return Html("\n\n").join(parts)


ROLE_NAMES: dict[str, str] = {"owner": N_("owner"), "manager": N_("manager"), "cashier": N_("cashier")}


def role_name(role: str, tr: Translator) -> str:
    """A role as the reader calls it ("cashier", "кассир")."""
    return tr.gettext(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def points(n: int, tr: Translator) -> str:
    """`1 point`, `1 500 баллов`: the number in the reader's format, the word in the form their language needs."""
    return tr.ngettext("{n} point", "{n} points", n).format(n=number(n, tr.language))


def purchases(n: int, tr: Translator) -> str:
    """`1 purchase`, `5 покупок`."""
    return tr.ngettext("{n} purchase", "{n} purchases", n).format(n=number(n, tr.language))


def customers(n: int, tr: Translator) -> str:
    """`1 customer`, `21 клиент`."""
    return tr.ngettext("{n} customer", "{n} customers", n).format(n=number(n, tr.language))
