"""Amounts of money as people type them at the counter, and as Decimal everywhere after that."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from enum import Enum

from babel.numbers import format_decimal

from flows.i18n import N_, Translator
from flows.parsing import clean
from flows.team_text import ENGLISH, TeamText

CENT = Decimal("0.01")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'_]")
_SHAPE = re.compile(r"^-?[\d.,]+$")
MAX_TEXT = 64  # longer is not an amount; and a huge text must not reach Decimal


class AmountError(Enum):
    NOT_A_NUMBER = "not_a_number"
    ZERO = "zero"
    NEGATIVE = "negative"
    TOO_PRECISE = "too_precise"
    TOO_LARGE = "too_large"


@dataclass(frozen=True)
class ParsedAmount:
    value: Decimal | None
    error: AmountError | None = None


def _to_decimal(text: str) -> Decimal | None:
    """Apply the separator rules; None when the text is not a number."""
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        # Both present: the rightmost one is the decimal separator, the other groups thousands.
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        grouping = "." if decimal_sep == "," else ","
        if text.count(decimal_sep) > 1:
            return None
        text = text.replace(grouping, "").replace(decimal_sep, ".")
    elif commas or dots:
        sep = "," if commas else "."
        groups = text.split(sep)
        thousands = len(groups[-1]) == 3 and 1 <= len(groups[0].lstrip("-")) <= 3
        if len(groups) > 2 or thousands:
            # 1,500 / 1.500 / 1,000,000: thousands (money never has three decimals).
            if not 1 <= len(groups[0].lstrip("-")) <= 3 or any(len(group) != 3 for group in groups[1:]):
                return None
            text = "".join(groups)
        else:
            text = f"{groups[0]}.{groups[1]}"
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def parse_amount(text: str, maximum: Decimal) -> ParsedAmount:
    """Read `1500`, `1 500,50`, `1500.5`, `1,500.50`; refuse zero, negative, >2 decimals, over `maximum`."""
    cleaned = _SPACES.sub("", clean(text)[:MAX_TEXT])
    if not cleaned or not _SHAPE.match(cleaned) or not any(ch.isdigit() for ch in cleaned):
        return ParsedAmount(None, AmountError.NOT_A_NUMBER)
    value = _to_decimal(cleaned)
    if value is None or not value.is_finite():
        return ParsedAmount(None, AmountError.NOT_A_NUMBER)
    if value.is_zero():
        return ParsedAmount(None, AmountError.ZERO)
    if value < 0:
        return ParsedAmount(None, AmountError.NEGATIVE)
    if value > maximum:  # before quantize: a 30-digit number does not fit its precision
        return ParsedAmount(None, AmountError.TOO_LARGE)
    if value != value.quantize(CENT, rounding=ROUND_DOWN):
        return ParsedAmount(None, AmountError.TOO_PRECISE)
    return ParsedAmount(value.quantize(CENT))


def to_cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


AMOUNT_HINTS = {
    AmountError.NOT_A_NUMBER: N_("That is not an amount. Send a number such as 1500, 1 500,50 or 1500.5."),
    AmountError.ZERO: N_("The amount cannot be zero."),
    AmountError.NEGATIVE: N_("The amount cannot be negative. Refunds are not recorded here."),
    AmountError.TOO_PRECISE: N_("At most two digits after the decimal separator, please."),
    AmountError.TOO_LARGE: N_(
        "That is more than the maximum of {maximum} for one purchase. Check the amount "
        "(the owner can raise MAX_PURCHASE_AMOUNT)."
    ),
}


def amount_hint(error: AmountError, maximum: Decimal, tr: Translator = ENGLISH) -> str:
    """A short explanation for staff (in `tr`'s language) and API clients (English)."""
    return amount_problem(error, maximum).text(tr)


def amount_problem(error: AmountError, maximum: Decimal) -> TeamText:
    """What is wrong with a typed amount, to be written in the reader's language (flows/team_text.py)."""

    def shown(language: str) -> str:  # English groups with spaces, as before
        if language == ENGLISH.language:
            return f"{maximum:,.2f}".replace(",", " ")
        return format_decimal(maximum, format="#,##0.00", locale=language)

    return TeamText(AMOUNT_HINTS[error], maximum=shown)
