"""Numbers, money, points, plural choice, dates and durations for the reader's locale (babel), in one place.

Every figure a person reads goes through these helpers, so one locale shows one number format, one currency
rendering and one date style everywhere (the stats, the report, charts, cards, receipts). The team's words
come from the catalogue (flows/i18n.py: `tr.ngettext("{n} point", "{n} points", n).format(n=number(n, lang))`);
`count` with English words remains for the views not yet moved there.
"""

from __future__ import annotations

import re
from datetime import date as _date
from datetime import datetime as _datetime
from datetime import timedelta, tzinfo
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol

from flows.content import Texts
from flows.markup import Html, html

# Short unit words for durations ("2 h 15 min" / "2 ч 15 мин" / "2 год 15 хв"): abbreviations need no plural.
_UNITS = {
    "en": ("d", "h", "min", "s"),
    "ru": ("д", "ч", "мин", "с"),
    "uk": ("д", "год", "хв", "с"),
}


_TRAILING_LITERAL = re.compile(r"\s*'[^']*'\.?$")


def _lang(locale: str | None) -> str:
    """A babel locale for a Telegram language code (`pt-br` → `pt_BR`); unknown or empty → `en`."""
    if not locale:
        return "en"
    try:
        return str(Locale.parse(locale.replace("-", "_")))
    except (ValueError, TypeError, LookupError):
        return "en"


def plural_tag(n: int | float | Decimal, locale: str | None) -> str:
    """CLDR's plural category of `n` in the locale: 'one', 'few', 'many' or 'other' (and 'zero'/'two')."""
    return Locale.parse(_lang(locale)).plural_form(abs(Decimal(str(n))))


def count(
    n: int,
    one: str,
    other: str,
    locale: str | None,
    few: str | None = None,
    many: str | None = None,
) -> str:
    """The number in the locale's format and the word form CLDR's plural rules choose: `1 customer`,
    `1,500 customers`, `21 клиент`, `22 клиента`, `5 клиентов`.

    English words give `one`/`other`; Russian/Ukrainian words give `few` and `many` too, and are chosen by
    the locale's rules. English words (no `few`/`many`) are chosen by English rules: Russian calls 21 'one',
    and "21 customer" would be wrong English. A category with no form given falls back to `other`.
    """
    tag = plural_tag(n, locale if few or many else "en")
    word = {"one": one, "few": few, "many": many}.get(tag) or other
    return f"{number(n, locale)} {word}"


def number(value: int | float | Decimal, locale: str | None) -> str:
    """`1,500.5` (en) / `1 500,5` (ru, uk)."""
    return format_decimal(value, locale=_lang(locale))


def percent(value: float | None, locale: str | None) -> str:
    return "—" if value is None else format_percent(value, locale=_lang(locale))


def money(value: Decimal, currency: str, language: str | None) -> str:
    """`1 500,50 ₴` for uk; `1,500.50 UAH` for en, whose CLDR data has no sign for the hryvnia.

    The one way money is written: the currency from the content file, the reader's locale's format.
    """
    locale = _lang(language)
    if get_currency_symbol(currency, locale=locale) == currency:
        return f"{format_decimal(value, format='#,##0.00', locale=locale)} {currency}"
    return format_currency(value, currency, locale=locale)


def points(count: int, t: Texts) -> Html:
    """`120 points`, `1 балл`, `5 балів`."""
    return html("{} {}", format_decimal(abs(count), locale=_lang(t.language)), t.plural("points_word", count))


def signed_points(count: int, t: Texts) -> Html:
    sign = "+" if count > 0 else "−"
    return html("{}{}", sign, points(count, t))


def day(value: _date, language: str | None) -> str:
    """`4 February 2026` / `4 февраля 2026`: the long date without a trailing `г.`/`р.`, because texts put
    it mid-sentence ("valid until {until}. Show it…") and the abbreviation's dot made a double full stop."""
    locale = _lang(language)
    pattern = str(Locale.parse(locale).date_formats["long"].pattern)
    return format_date(value, _TRAILING_LITERAL.sub("", pattern).strip(), locale=locale)


def short_day(value: _date, language: str | None) -> str:
    locale = _lang(language)
    return (
        format_date(value, "dd.MM", locale=locale) if locale != "en" else format_date(value, "MMM d", locale="en")
    )


def date(value: _date | _datetime, locale: str | None, zone: tzinfo | None = None) -> str:
    """`Feb 4, 2026` / `4 февр. 2026 г.`; a moment is first put into the business time zone."""
    if isinstance(value, _datetime) and zone is not None:
        value = value.astimezone(zone)
    return format_date(value, "medium", locale=_lang(locale))


def datetime(value: _datetime, locale: str | None, zone: tzinfo) -> str:
    """`Feb 4, 2026, 14:05` / `4 февр. 2026 г., 14:05`, in the business time zone (24-hour clock)."""
    lang = _lang(locale)
    pattern = Locale.parse(lang).datetime_formats["medium"]
    when = value.astimezone(zone)
    return str(pattern).replace("{1}", format_date(when, "medium", locale=lang)).replace("{0}", f"{when:%H:%M}")


def moment(value: _datetime, locale: str | None, zone: tzinfo) -> str:
    """A recent moment, short: `Jan 5, 14:05` / `5 янв., 14:05` / `5 січ., 14:05` (business time zone)."""
    lang = _lang(locale)
    when = value.astimezone(zone)
    return f"{format_skeleton('MMMd', when, locale=lang)}, {when:%H:%M}"


def sentence(text: str) -> str:
    """`text` ending with one full stop: a localised date such as `2026 г.` already has one."""
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def duration(span: timedelta | float, locale: str | None = None, parts: int = 2) -> str:
    """`parts` units from the largest one there is: "2 h 15 min", "2 ч 15 мин", "2 год 15 хв", "45 s";
    `parts=4` is exact ("1 d 5 min"). Abbreviated units, so no plural forms are needed."""
    left = max(int(span.total_seconds() if isinstance(span, timedelta) else span), 0)
    if left >= 60 and parts < 4:
        left -= left % 60  # to the minute: "15 min", not "15 min 3 s" (seconds only under a minute)
    units = _UNITS.get(_lang(locale).split("_")[0], _UNITS["en"])
    amounts = []
    for size in (86400, 3600, 60, 1):
        amount, left = divmod(left, size)
        amounts.append(amount)
    first = next((i for i, amount in enumerate(amounts) if amount), None)
    if first is None:
        return f"0 {units[2]}"
    window = range(first, min(first + parts, len(units)))
    return " ".join(f"{amounts[i]} {units[i]}" for i in window if amounts[i])
