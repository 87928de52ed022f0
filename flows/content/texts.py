"""Customer-facing texts: the keys the code uses (with their placeholders), checks, and per-language lookup."""

from __future__ import annotations

import difflib
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from babel import Locale

from flows import telegram_html
from flows.content.base import Invalid, invalid
from flows.i18n import N_
from flows.markup import Html, html_map, trusted
from flows.team_text import TeamText

if TYPE_CHECKING:
    from flows.content.model import Content

# Every text the code refers to, with the placeholders it may use.
TEXT_KEYS: dict[str, frozenset[str]] = {
    key: frozenset(fields)
    for key, fields in {
        "welcome": {"name", "business"},
        "welcome_back": {"name", "business"},
        "resubscribed": set(),
        "ask_phone": set(),
        "phone_button": set(),
        "skip_button": set(),
        "phone_not_own": set(),
        "phone_hint": set(),
        "phone_saved": set(),
        "ask_birthday": set(),
        "birthday_hint": set(),
        "birthday_saved": {"date"},
        "ask_interests": set(),
        "interests_done_button": set(),
        "interests_saved": {"interests"},
        "interests_none": set(),
        "onboarding_done": set(),
        "help": {"business"},
        "profile": {"name", "username", "phone", "birthday", "language", "interests", "subscription", "since"},
        "not_set": set(),
        "subscribed": set(),
        "unsubscribed": set(),
        "edit_phone_button": set(),
        "edit_birthday_button": set(),
        "edit_interests_button": set(),
        "language_button": set(),
        "stopped": set(),
        "already_stopped": set(),
        "forget_confirm": set(),
        "forget_yes_button": set(),
        "forget_no_button": set(),
        "forget_done": set(),
        "forget_cancelled": set(),
        "choose_language": set(),
        "language_set": set(),
        "unknown_command": set(),
        "free_text": set(),
        "unsupported_message": set(),
        "button_expired": set(),
        "not_allowed": set(),
        "error_apology": set(),
        "interest_noted": set(),
        "sequence_left": set(),
        "tag_noted": set(),
        "step_coupon": {"title", "code", "until"},
        "faq_menu": set(),
        "faq_empty": set(),
        "faq_suggest": set(),
        "faq_none_button": set(),
        "faq_no_match": set(),
        "faq_also_asked": set(),
        "manager_button": set(),
        "lead_opened": set(),
        "lead_opened_closed": {"when"},
        "lead_already_open": set(),
        "manager_unavailable": set(),
        # loyalty
        "points_word": set(),
        "purchases_word": set(),
        "card": {"name", "code", "tier", "balance", "points", "progress"},
        "balance": {"balance", "points", "tier", "percent", "progress"},
        "balance_history": set(),
        "balance_history_empty": set(),
        "ledger_accrual": set(),
        "ledger_redemption": set(),
        "ledger_bonus": set(),
        "ledger_welcome": set(),
        "ledger_birthday": set(),
        "ledger_referral": set(),
        "ledger_expiry": set(),
        "ledger_adjustment": set(),
        "progress_next": {"count", "purchases", "tier"},
        "progress_top": {"tier"},
        "receipt": {"amount", "earned", "balance", "points", "progress"},
        "receipt_spent": {"spent", "value", "paid"},
        "receipt_coupon": {"title", "code"},
        "tier_up": {"tier", "percent", "perks"},
        "spend_request": {"points", "value", "amount", "balance"},
        "spend_yes_button": {"points"},
        "spend_no_button": set(),
        "spend_confirmed": {"points"},
        "spend_declined": set(),
        "spend_withdrawn": set(),
        "bonus_welcome": {"points"},
        "bonus_birthday": {"points", "balance"},
        "bonus_referrer": {"friend", "points", "balance"},
        "bonus_referred": {"points"},
        "points_expired": {"points", "balance"},
        "points_adjusted": {"delta", "reason", "balance"},
        "gift_coupon": {"number", "title", "code", "until"},
        "coupon_issued": {"title", "code", "until"},
        "coupon_sold_out": set(),
        "coupon_limit_reached": set(),
        "coupon_not_available": set(),
        "coupons_list": set(),
        "coupon_line": {"title", "code", "until"},
        "coupons_none": set(),
        "coupon_used": {"title", "code"},
        "invite": {"link", "points", "friend_points"},
        "referral_welcome": {"name", "points"},
        "referral_own_link": set(),
        "referral_existing": set(),
        "satisfaction_question": {"business"},
        "satisfaction_thanks": set(),
        "satisfaction_sorry": set(),
        "satisfaction_already": set(),
        # broadcasts
        "broadcast_coupon_button": set(),
    }.items()
}


def check_text(language: str, key: str, text: str) -> None:
    where = f"texts.{language}.{key}"
    if key not in TEXT_KEYS:
        close = difflib.get_close_matches(key, TEXT_KEYS, n=1)
        hint = (
            TeamText(N_("did you mean {key}?"), key=close[0])
            if close
            else TeamText(N_("see the example content file for the keys"))
        )
        raise invalid(N_("unknown text key ({hint})"), where, hint=hint)
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise invalid(
            N_("bad placeholder braces; write {open} and {close} for literal braces"), where, open="{{", close="}}"
        ) from exc
    for problem in telegram_html.read(text).problems:  # Telegram would refuse every message with this text
        raise Invalid(problem.said(), where)
    unknown = fields - TEXT_KEYS[key]
    if unknown:
        allowed = ", ".join(sorted(TEXT_KEYS[key]))
        raise invalid(
            N_("unknown placeholder {name} (allowed: {allowed})"),
            where,
            name="{" + sorted(unknown)[0] + "}",
            allowed=allowed or TeamText(N_("none")),
        )


class Texts:
    """The texts of one language; values put into a text are HTML-escaped (texts are sent as HTML)."""

    def __init__(self, language: str, content: Content) -> None:
        self.language = language
        self._own = content.texts.get(language, {})
        self._fallback = content.texts[content.business.default_language]
        self._business = content.business.name

    def __call__(self, key: str, **values: Any) -> Html:
        """The text `key` (the owner's HTML) with `values` put in, each escaped once (unless already Html)."""
        template = self._own.get(key) or self._fallback[key]
        return html_map(template, {"business": self._business, **values})

    def plural(self, key: str, count: int) -> Html:
        """The word form for `count` from a text like `point|points` (en) or `балл|балла|баллов|балла` (ru).

        Forms are listed in CLDR order of the language's categories (one, few, many, other); a missing
        form falls back to the last one given.
        """
        forms = self(key).split("|")
        tags = sorted(Locale.parse(self.language).plural_form.tags | {"other"}, key=_PLURAL_ORDER.index)
        tag = Locale.parse(self.language).plural_form(abs(count))
        index = tags.index(tag) if tag in tags else len(tags) - 1
        return trusted(forms[min(index, len(forms) - 1)].strip())

    def local(self, text: Mapping[str, str], default_language: str) -> str:
        """Pick this language from a per-language mapping (e.g. an interest title)."""
        return text.get(self.language) or text[default_language]


_PLURAL_ORDER = ("zero", "one", "two", "few", "many", "other")
