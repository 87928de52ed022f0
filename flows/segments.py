"""Segments: who a broadcast goes to, written as a compact expression.

    bought:yoga !bought:massage last_purchase>30d tier:regular

Words are AND-ed; `!` in front of a word negates it; a comma lists alternatives (`lang:ru,uk`); a word
without an operator is a segment saved in the content file (`segments.saved`). `everyone` (or an empty
expression) is every reachable customer. Opted-in and reachable are always applied.

The parser turns the text into typed filters (`storage/segments.py`), checking every word against the
content file (tiers, catalog categories, languages); a mistake raises `SegmentError` naming the word, its
position and what was expected. Storage compiles the filters into one parametrised query.

RFM groups, from recency (days since the last purchase), frequency (purchases) and monetary value
(money spent), with the thresholds of `segments.rfm` in the content file (defaults in brackets); the
first rule that matches wins:

- champions: bought within `recent_days` (30), `regular_purchases` (4) or more purchases, and among
  the top `top_spend_percent` (20 %) of buyers by money spent
- loyal: bought within `active_days` (60) and `regular_purchases` or more purchases
- new: one purchase, within `recent_days`
- promising: bought within `active_days` (the rest: 2–3 purchases, or one a month or two ago)
- at_risk: two or more purchases, the last between `active_days` and `lapsing_days` (180) ago
- sleeping: one purchase, between `active_days` and `lapsing_days` ago
- lost: the last purchase more than `lapsing_days` ago
- none: no purchase yet
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation

from flows.clock import Clock
from flows.content import Content
from flows.content.base import Invalid
from flows.i18n import N_, Translator
from flows.markup import Html, html, trusted
from flows.parsing import MAX_COUNT, ParseError, ascii_digits, parse_days, parse_whole
from flows.team_text import ENGLISH, TeamError, TeamText
from storage.segments import (
    RFM_GROUPS,
    BirthdayOn,
    Bought,
    DaysSince,
    Filter,
    HasTag,
    LanguageIs,
    Not,
    PurchaseCount,
    RfmIn,
    RfmRule,
    SampleCustomer,
    SegmentsRepo,
    SourceIs,
    Spent,
    TierIs,
    TierRule,
)

EVERYONE = ("everyone", "all", "*")
# Aliases an owner is likely to type, mapped to the canonical field name.
FIELDS = {
    "tag": "tag",
    "tags": "tag",
    "lang": "lang",
    "language": "lang",
    "source": "source",
    "src": "source",
    "tier": "tier",
    "type": "tier",
    "purchases": "purchases",
    "orders": "purchases",
    "visits": "purchases",
    "spent": "spent",
    "total": "spent",
    "last_purchase": "last_purchase",
    "last": "last_purchase",
    "joined": "joined",
    "bought": "bought",
    "birthday": "birthday",
    "rfm": "rfm",
}
LIST_FIELDS = frozenset({"tag", "lang", "source", "tier", "bought", "birthday", "rfm"})  # field:a,b
NUMBER_FIELDS = frozenset({"purchases", "spent", "last_purchase", "joined"})  # field>N
_WORD = re.compile(r"^(?P<neg>!?)(?P<field>[A-Za-z_]+)(?P<op>:|>=|<=|!=|=|>|<)(?P<value>.*)$")
_TAG = re.compile(r"^[a-z0-9_-]{1,24}$")
_SOURCE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_SPENT = Decimal(10) ** 12
MAX_EXPRESSION = 500
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
BIRTHDAY_PERIODS = TeamText(
    N_("today, tomorrow, week, 14d (the next 14 days), month, next_month or a month name (dec)")
)
_FILTERS = (
    "<code>tag:vip</code> · <code>lang:ru,uk</code> · <code>source:instagram</code> · "
    "<code>tier:regular</code> · <code>purchases>=2</code> · <code>spent>5000</code> · "
    "<code>last_purchase>30d</code> · <code>joined&lt;7d</code> · <code>bought:yoga</code> · "
    "<code>!bought:massage</code> · <code>birthday:month</code> · <code>rfm:at_risk</code> · "
    "<code>everyone</code>"
)


def usage(tr: Translator = ENGLISH) -> Html:
    """How expressions are written (the filters are code, the words around them in `tr`'s language)."""
    return html(
        tr.gettext(
            "Filters (AND-ed; <code>!</code> negates; commas mean any of):\n{filters}\nRFM groups: {groups}"
        ),
        filters=trusted(_FILTERS),
        groups=", ".join(RFM_GROUPS),
    )


USAGE = usage()  # in English; `usage(tr)` in the reader's language


class SegmentError(TeamError):
    """A mistake in a segment expression: which word (1-based), and what was expected instead."""

    def __init__(self, message: str | TeamText, index: int = 0, word: str = "", expression: str = "") -> None:
        super().__init__(message)
        self.message = str(self.said)  # English, for logs and the content-file check
        self.index = index
        self.word = word
        self.expression = expression

    def plain(self) -> str:
        """One line for logs and the content file check (English)."""
        return f"word {self.index} `{self.word}`: {self.message}" if self.index else str(self.message)

    def located(self) -> TeamText:
        """The message with the word it is about, in one line (the content's check, the console's fields)."""
        if not self.index:
            return self.said
        return TeamText(
            N_("word {index} `{word}`: {problem}"), index=str(self.index), word=self.word, problem=self.said
        )

    def html(self, tr: Translator = ENGLISH) -> Html:
        """For the chat: the message in `tr`'s language, then the expression with the wrong word marked."""
        if not self.index:
            return html("❌ {}", self.said.html(tr))
        words = self.expression.split()
        start = sum(len(w) + 1 for w in words[: self.index - 1])
        marker = " " * start + "^" * max(len(self.word), 1)
        line = html(
            tr.gettext("❌ Word {index} <code>{word}</code>: {problem}"),
            index=self.index,
            word=self.word,
            problem=self.said.html(tr),
        )
        return line + html("\n<pre>{}\n{}</pre>", " ".join(words), marker)


@dataclass(frozen=True)
class Vocabulary:
    """What words may name: from the content file."""

    languages: tuple[str, ...]
    default_language: str
    tiers: tuple[TierRule, ...]
    categories: tuple[str, ...]  # empty: no catalog, so any category key is accepted
    saved: dict[str, str]
    rfm: RfmRule

    @classmethod
    def of(cls, content: Content) -> Vocabulary:
        loyalty = content.loyalty
        tiers = tuple(
            TierRule(
                t.key, t.min_purchases, None if t.min_spend is None else int(t.min_spend * 100)
            )  # spend in cents, as stored
            for t in loyalty.tiers
        )
        rfm = content.segments.rfm
        return cls(
            languages=tuple(content.business.languages),
            default_language=content.business.default_language,
            tiers=tiers,
            categories=tuple(c.key for c in loyalty.catalog),
            saved=dict(content.segments.saved),
            rfm=RfmRule(
                rfm.recent_days, rfm.active_days, rfm.lapsing_days, rfm.regular_purchases, rfm.top_spend_percent
            ),
        )


@dataclass(frozen=True)
class Segment:
    """A parsed expression: its text, the saved name it came from (if any) and its filters."""

    expression: str
    filters: tuple[Filter, ...]
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.expression or "everyone"


def _suggest(word: str, options: Sequence[str]) -> TeamText | str:
    close = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.6)
    return TeamText(N_(" — did you mean {word}?"), word=close[0]) if close else ""


def birthday_days(period: str, today: date) -> tuple[tuple[int, int], ...] | None:
    """(month, day) pairs a birthday period covers from `today` (local), or None if it is not a period.

    29 February counts on 28 February in years without it, as the daily birthday job does.
    """
    span: list[date]
    if period == "today":
        span = [today]
    elif period == "tomorrow":
        span = [today + timedelta(days=1)]
    elif period in ("week", "7d"):
        span = [today + timedelta(days=n) for n in range(7)]
    elif re.fullmatch(r"\d{1,3}d", period) and 1 <= int(period[:-1]) <= 366:
        span = [today + timedelta(days=n) for n in range(int(period[:-1]))]
    elif period in ("month", "this_month"):
        span = [today.replace(day=d) for d in range(1, calendar.monthrange(today.year, today.month)[1] + 1)]
    elif period == "next_month":
        first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        span = [first.replace(day=d) for d in range(1, calendar.monthrange(first.year, first.month)[1] + 1)]
    elif period[:3] in _MONTHS and (len(period) == 3 or period in _full_months()):
        month = _MONTHS[period[:3]]
        return tuple((month, d) for d in range(1, 30 if month == 2 else calendar.monthrange(2001, month)[1] + 1))
    else:
        return None
    days = {(d.month, d.day) for d in span}
    days |= {(2, 29) for d in span if (d.month, d.day) == (2, 28) and not calendar.isleap(d.year)}
    return tuple(sorted(days))


def _full_months() -> set[str]:
    return {name.lower() for name in calendar.month_name if name}


def parse(expression: str, vocabulary: Vocabulary, now: datetime, zone: tzinfo) -> Segment:
    """Parse an expression (or a saved segment's name) into filters; `SegmentError` on a mistake."""
    text = " ".join(expression.split())
    if len(text) > MAX_EXPRESSION:  # the answer quotes it, and must fit in one message
        raise SegmentError(
            TeamText(
                N_("an expression has at most {limit} characters, this one {length}"),
                limit=MAX_EXPRESSION,
                length=len(text),
            )
        )
    if text.lower() in ("", *EVERYONE):
        return Segment(text, ())
    if text in vocabulary.saved:
        inner = parse_words(vocabulary.saved[text], vocabulary, now, zone, allow_saved=False)
        return Segment(vocabulary.saved[text], inner, name=text)
    return Segment(text, parse_words(text, vocabulary, now, zone, allow_saved=True))


def parse_words(
    text: str, vocabulary: Vocabulary, now: datetime, zone: tzinfo, *, allow_saved: bool
) -> tuple[Filter, ...]:
    filters: list[Filter] = []
    words = text.split()
    for index, word in enumerate(words, 1):
        try:
            filters.extend(_word(word, vocabulary, now, zone, allow_saved))
        except SegmentError as exc:
            raise SegmentError(exc.said, index, word, " ".join(words)) from None
    return tuple(filters)


def _word(word: str, v: Vocabulary, now: datetime, zone: tzinfo, allow_saved: bool) -> list[Filter]:
    match = _WORD.match(word)
    if match is None:
        bare = word.lstrip("!")
        if bare in v.saved and allow_saved:
            inner = parse_words(v.saved[bare], v, now, zone, allow_saved=False)
            return [Not(_all_of(inner))] if word.startswith("!") and inner else list(inner)
        if bare.lower() in EVERYONE:
            raise SegmentError(TeamText(N_("`everyone` stands alone; leave it out when there are other filters")))
        if bare.lower() in FIELDS:
            raise SegmentError(_value_after(bare, FIELDS[bare.lower()]))
        names = list(v.saved) if allow_saved else []
        hint = _suggest(bare, [*names, *FIELDS])
        saved = TeamText(N_(" Saved segments: {names}."), names=", ".join(names)) if names else ""
        raise SegmentError(
            TeamText(
                N_("expected a filter like tag:vip or purchases>=2, or a saved segment name{hint}.{saved}"),
                hint=hint,
                saved=saved,
            )
        )
    negated = match["neg"] == "!"
    raw_field, op, value = match["field"].lower(), match["op"], match["value"]
    field = FIELDS.get(raw_field)
    if field is None:
        raise SegmentError(
            TeamText(N_("unknown filter `{name}`{hint}"), name=raw_field, hint=_suggest(raw_field, list(FIELDS)))
        )
    if not value:
        raise SegmentError(_value_after(f"`{raw_field}{op}`", field))
    if field in LIST_FIELDS:
        if op not in (":", "="):
            raise SegmentError(
                TeamText(
                    N_("{name} takes `:` and a value, e.g. {example}"), name=raw_field, example=_example(field)
                )
            )
        values = [part for part in value.split(",")]
        if any(not part for part in values):
            raise SegmentError(TeamText(N_("an empty value between commas")))
        item = _list_filter(field, values, v, now, zone)
    else:
        item = _number_filter(field, "=" if op == ":" else op, value, v, now)
    return [Not(item) if negated else item]


def _all_of(filters: tuple[Filter, ...]) -> Filter:
    """A saved segment negated as a whole: `!vip` is "not (all of vip's filters)"."""
    if len(filters) == 1:
        return filters[0]
    # NOT (a AND b) == (NOT a) OR (NOT b) has no OR filter here; keep it simple and refuse it.
    raise SegmentError(TeamText(N_("only a saved segment with a single filter can be negated with !")))


def _value_after(name: str, field: str) -> TeamText:
    return TeamText(N_("expected a value after {name}, e.g. {example}"), name=name, example=_example(field))


def _example(field: str) -> str:
    return {
        "tag": "tag:vip",
        "lang": "lang:ru",
        "source": "source:instagram",
        "tier": "tier:regular",
        "purchases": "purchases>=2",
        "spent": "spent>5000",
        "last_purchase": "last_purchase>30d",
        "joined": "joined<7d",
        "bought": "bought:yoga",
        "birthday": "birthday:month",
        "rfm": "rfm:at_risk",
    }[field]


def _list_filter(field: str, values: list[str], v: Vocabulary, now: datetime, zone: tzinfo) -> Filter:
    lowered = [value.lower() for value in values]
    if field == "tag":
        for value in lowered:
            if not _TAG.match(value):
                raise SegmentError(
                    TeamText(N_("`{value}` is not a tag (a–z, 0–9, _ and -, up to 24)"), value=value)
                )
        return HasTag(tuple(lowered))
    if field == "lang":
        for value in lowered:
            if value not in v.languages:
                raise SegmentError(
                    TeamText(
                        N_("unknown language `{value}`; the bot speaks {languages}"),
                        value=value,
                        languages=", ".join(v.languages),
                    )
                )
        return LanguageIs(tuple(lowered), v.languages, v.default_language)
    if field == "source":
        for value in values:
            if not _SOURCE.match(value):
                raise SegmentError(TeamText(N_("`{value}` is not a source (letters, digits, _ . -)"), value=value))
        return SourceIs(tuple(values))
    if field == "tier":
        keys = [t.key for t in v.tiers]
        for value in lowered:
            if value not in keys:
                raise SegmentError(
                    TeamText(
                        N_("unknown tier `{value}`{hint} (tiers: {tiers})"),
                        value=value,
                        hint=_suggest(value, keys),
                        tiers=", ".join(keys),
                    )
                )
        return TierIs(tuple(lowered), v.tiers)
    if field == "bought":
        for value in lowered:
            if v.categories and value not in v.categories:
                raise SegmentError(
                    TeamText(
                        N_("unknown category `{value}`{hint} (categories: {categories})"),
                        value=value,
                        hint=_suggest(value, v.categories),
                        categories=", ".join(v.categories),
                    )
                )
            if not _TAG.match(value):
                raise SegmentError(TeamText(N_("`{value}` is not a category key"), value=value))
        return Bought(tuple(lowered))
    if field == "birthday":
        today = now.astimezone(zone).date()
        days: set[tuple[int, int]] = set()
        for value in lowered:
            found = birthday_days(value, today)
            if found is None:
                raise SegmentError(
                    TeamText(N_("unknown period `{value}`; use {periods}"), value=value, periods=BIRTHDAY_PERIODS)
                )
            days.update(found)
        return BirthdayOn(tuple(sorted(days)))
    assert field == "rfm"
    for value in lowered:
        if value.replace("-", "_") not in RFM_GROUPS:
            raise SegmentError(
                TeamText(
                    N_("unknown RFM group `{value}`{hint} (groups: {groups})"),
                    value=value,
                    hint=_suggest(value, RFM_GROUPS),
                    groups=", ".join(RFM_GROUPS),
                )
            )
    return RfmIn(tuple(value.replace("-", "_") for value in lowered), v.rfm, now)


def _number_filter(field: str, op: str, value: str, v: Vocabulary, now: datetime) -> Filter:
    if field == "purchases":
        try:
            return PurchaseCount(
                op, parse_whole(value, maximum=MAX_COUNT, what=TeamText(N_("number of purchases")))
            )
        except ParseError as exc:
            raise SegmentError(_for_example(exc, f"purchases{op}2")) from None
    if field == "spent":
        try:
            amount = Decimal(ascii_digits(value).replace(",", "."))
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0 or amount > MAX_SPENT:
            raise SegmentError(
                TeamText(
                    N_("expected an amount of money after {op}, e.g. {example}"), op=op, example=f"spent{op}5000"
                )
            )
        return Spent(op, int(amount * 100))
    try:
        days = parse_days(value)
    except ParseError as exc:
        raise SegmentError(_for_example(exc, f"{field}{op}30d")) from None
    return DaysSince("last" if field == "last_purchase" else "joined", op, days, now)


def _for_example(problem: ParseError, example: str) -> TeamText:
    return TeamText(N_("{problem} E.g. {example}"), problem=problem.said, example=example)


@dataclass(frozen=True)
class SegmentView:
    """What /segment answers: the audience size, everyone reachable, and a few sample customers."""

    segment: Segment
    count: int
    reachable: int
    sample: list[SampleCustomer]


@dataclass
class Segments:
    repo: SegmentsRepo
    content: Content
    clock: Clock
    zone: tzinfo

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.of(self.content)

    def parse(self, expression: str) -> Segment:
        """Parse an expression or a saved segment's name, as of now; `SegmentError` on a mistake."""
        return parse(expression, self.vocabulary, self.clock.now(), self.zone)

    async def count(self, segment: Segment) -> int:
        """How many reachable customers the segment has right now."""
        return await self.repo.count(segment.filters)

    async def view(self, expression: str, sample_size: int = 5) -> SegmentView:
        """Audience size and a few random customers of a segment (for /segment and the wizard)."""
        segment = self.parse(expression)
        count = await self.repo.count(segment.filters)
        reachable = await self.repo.reachable()
        sample = await self.repo.sample(segment.filters, sample_size) if count else []
        return SegmentView(segment, count, reachable, sample)


def check_saved(content: Content) -> None:
    """Parse every saved segment of a content file; ValueError naming the segment and the word."""
    vocabulary = Vocabulary.of(content)
    moment = datetime(2001, 1, 1, tzinfo=UTC)  # the date does not matter: only words are checked
    for name, expression in content.segments.saved.items():
        try:
            parse_words(expression, vocabulary, moment, UTC, allow_saved=False)
        except SegmentError as exc:
            raise Invalid(exc.located(), f"segments.saved.{name}") from None
