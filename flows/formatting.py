"""Money, points and dates in the customer's language (babel)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, get_currency_symbol

from flows.content import Texts
from flows.markup import Html, html


def money(value: Decimal, currency: str, language: str) -> str:
    """`1 500,50 ₴` for uk; `1,500.50 UAH` for en, whose CLDR data has no sign for the hryvnia."""
    if get_currency_symbol(currency, locale=language) == currency:
        return f"{format_decimal(value, format='#,##0.00', locale=language)} {currency}"
    return format_currency(value, currency, locale=language)


def points(count: int, t: Texts) -> Html:
    """`120 points`, `1 балл`, `5 балів`."""
    return html("{} {}", format_decimal(abs(count), locale=t.language), t.plural("points_word", count))


def signed_points(count: int, t: Texts) -> Html:
    sign = "+" if count > 0 else "−"
    return html("{}{}", sign, points(count, t))


def day(value: date, language: str) -> str:
    """`4 February 2026` / `4 февраля 2026 г.`."""
    return format_date(value, "long", locale=language)


def short_day(value: date, language: str) -> str:
    return (
        format_date(value, "dd.MM", locale=language)
        if language != "en"
        else format_date(value, "MMM d", locale="en")
    )
