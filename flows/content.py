"""The owner's content file (YAML): texts in several languages and the onboarding set-up.

Loaded once at start-up into pydantic models. A problem is reported as ``file: key.path: what is wrong``
so the owner can fix it without reading a traceback.
"""

from __future__ import annotations

import difflib
import html
import re
import string
from collections.abc import Mapping
from datetime import date, timedelta
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from babel import Locale
from babel.numbers import is_currency
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# libyaml's loader is ~10× faster than the pure-Python one; both are the safe loader.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

LANGUAGES = ("en", "ru", "uk")

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
        "receipt_spent": {"spent", "value"},
        "receipt_coupon": {"title", "code"},
        "tier_up": {"tier", "percent", "perks"},
        "spend_request": {"points", "value", "amount", "balance"},
        "spend_yes_button": {"points"},
        "spend_no_button": set(),
        "spend_confirmed": {"points"},
        "spend_declined": set(),
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

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "uk": "Українська"}


class ContentError(ValueError):
    """The content file cannot be used; the message names file, key and problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LocalText = dict[str, str]


Language = Literal["en", "ru", "uk"]


def _all_languages() -> list[Language]:
    return ["en", "ru", "uk"]


class Business(_Model):
    name: str
    default_language: Language = "en"
    languages: list[Language] = Field(default_factory=_all_languages)

    @model_validator(mode="after")
    def _default_is_offered(self) -> Business:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not among languages")
        return self


class Interest(_Model):
    tag: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    title: LocalText


OnboardingStep = Literal["phone", "birthday", "interests"]


def _all_steps() -> list[OnboardingStep]:
    return ["phone", "birthday", "interests"]


class Onboarding(_Model):
    steps: list[OnboardingStep] = Field(default_factory=_all_steps)
    interests: list[Interest] = Field(default_factory=list)

    @field_validator("steps")
    @classmethod
    def _unique_steps(cls, steps: list[str]) -> list[str]:
        if len(set(steps)) != len(steps):
            raise ValueError("a step is listed twice")
        return steps

    @model_validator(mode="after")
    def _interests_when_asked(self) -> Onboarding:
        if "interests" in self.steps and not self.interests:
            raise ValueError("the interests step is on but no interests are listed")
        return self


_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int) -> timedelta:
    """`30s`, `10m`, `2h`, `3d`, `1w`, `1d 12h` or a bare number of seconds."""
    if isinstance(text, int) or str(text).strip().isdigit():
        return timedelta(seconds=int(text))
    cleaned = str(text).strip().lower()
    parts = _DURATION.findall(cleaned)
    if not parts or _DURATION.sub("", cleaned).strip():
        raise ValueError(f"{text!r} is not a duration (write e.g. 30s, 10m, 2h, 3d)")
    return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[unit] for n, unit in parts))


def resolve_media(value: str | None, info: ValidationInfo) -> str | None:
    """An URL or a Telegram file_id stays as it is; a file path is taken relative to the content file."""
    if value is None or "://" in value or ("/" not in value and "." not in value):
        return value
    base = Path((info.context or {}).get("base", "."))
    path = (base / value).resolve()
    if not path.is_file():
        raise ValueError(f"photo file {value!r} not found next to the content file")
    return str(path)


Tag = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,24}$")]
SequenceName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,24}$")]


class StepButton(_Model):
    type: Literal["link", "more", "interested", "stop", "tag", "sequence"]
    text: LocalText
    url: str | None = None
    tag: Tag | None = None
    sequence: SequenceName | None = None

    @model_validator(mode="after")
    def _needs(self) -> StepButton:
        needed = {"link": "url", "tag": "tag", "sequence": "sequence"}.get(self.type)
        if needed and not getattr(self, needed):
            raise ValueError(f"a {self.type} button needs {needed}")
        if self.url and not self.url.startswith(("https://", "http://", "tg://")):
            raise ValueError("url must start with https://")
        return self


# Room kept for the coupon line a step with `coupon` gets (the coupon_issued text) within Telegram's limits.
COUPON_LINE_ROOM = 300


class Step(_Model):
    delay: timedelta = timedelta(0)
    at: dt_time | None = None  # local time of day to send at, e.g. "10:00"
    text: LocalText
    photo: str | None = None
    coupon: str | None = None  # a coupon campaign: each customer gets their own code with this step
    buttons: list[StepButton] = Field(default_factory=list)

    @field_validator("delay", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)  # type: ignore[arg-type]

    @field_validator("photo")
    @classmethod
    def _photo_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        return resolve_media(value, info)

    @field_validator("at", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> object:
        if isinstance(value, int):  # YAML reads 10:00 as sexagesimal 600
            return dt_time(value // 60, value % 60)
        return value

    @model_validator(mode="after")
    def _fits_telegram(self) -> Step:
        limit = (1024 if self.photo else 4096) - (COUPON_LINE_ROOM if self.coupon else 0)
        for language, text in self.text.items():
            if len(text) > limit:
                what = " with the coupon line" if self.coupon else ""
                raise ValueError(f"text.{language} is {len(text)} characters; {limit} fit here{what}")
        return self


class Trigger(_Model):
    event: Literal["start", "tag", "purchase", "inactivity", "birthday", "holiday", "manual"]
    tag: Tag | None = None  # tag: the tag that starts it; holiday: only customers with this tag (optional)
    category: str | None = None
    min_purchases: int | None = Field(None, ge=1)
    max_purchases: int | None = Field(None, ge=1)
    # inactivity: repeat buyers fall asleep after twice their own usual interval; one-off buyers after
    # `days` without a purchase (30 when not set).
    days: int | None = Field(None, ge=1)
    holiday: Key | None = None  # holiday: the name of a date under `dates:`

    @model_validator(mode="after")
    def _tag_trigger(self) -> Trigger:
        if self.event == "tag" and not self.tag:
            raise ValueError("a tag trigger needs tag")
        if self.event == "holiday" and not self.holiday:
            raise ValueError("a holiday trigger needs holiday (the name of a date under dates:)")
        return self


class Exit(_Model):
    on_purchase: bool = True
    on_tags: list[Tag] = Field(default_factory=list)


class SequenceDef(_Model):
    name: SequenceName
    title: str | None = None
    trigger: Trigger
    steps: list[Step] = Field(min_length=1)
    exit: Exit = Field(default_factory=Exit)
    reentry: Literal["never"] | timedelta = "never"

    @field_validator("reentry", mode="before")
    @classmethod
    def _reentry(cls, value: object) -> object:
        if value in (None, "never"):
            return "never"
        text = str(value).removeprefix("after").strip()
        return value if isinstance(value, timedelta) else parse_duration(text)


FaqId = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]


class FaqButton(_Model):
    type: Literal["link", "manager", "faq"]
    text: LocalText
    url: str | None = None
    faq: FaqId | None = None

    @model_validator(mode="after")
    def _needs(self) -> FaqButton:
        if self.type == "link" and not (self.url or "").startswith(("https://", "http://", "tg://")):
            raise ValueError("a link button needs url starting with https://")
        if self.type == "faq" and not self.faq:
            raise ValueError("a faq button needs faq (the id of another entry)")
        return self


class FaqEntry(_Model):
    """One question with several phrasings per language, and its answer."""

    id: FaqId
    title: LocalText = Field(default_factory=dict)  # the label in /faq; default: the first phrasing
    questions: dict[str, list[str]]
    answer: LocalText
    photo: str | None = None
    buttons: list[FaqButton] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fits_telegram(self) -> FaqEntry:
        limit = 1024 if self.photo else 4096
        for language, text in self.answer.items():
            if len(text) > limit:
                raise ValueError(f"answer.{language} is {len(text)} characters; Telegram allows {limit} here")
        for language, phrasings in self.questions.items():
            if not phrasings or not all(p.strip() for p in phrasings):
                raise ValueError(f"questions.{language}: list at least one non-empty phrasing")
        return self

    def label(self, language: str, default: str) -> str:
        """The menu label in a language: its title, else its first phrasing."""
        title = self.title.get(language) or self.title.get(default)
        if title:
            return title
        phrasings = (
            self.questions.get(language) or self.questions.get(default) or next(iter(self.questions.values()))
        )
        return phrasings[0]


_HOURS = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Handoff(_Model):
    """Handing customers to a manager: working hours (local time) and buying-intent keywords."""

    # e.g. {mon: "09:00-20:00", sat: "10:00-16:00"}; a day not listed is a day off; empty: always open.
    working_hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], str] = Field(
        default_factory=dict
    )
    intent_keywords: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("working_hours")
    @classmethod
    def _ranges(cls, hours: dict[str, str]) -> dict[str, str]:
        for day, text in hours.items():
            match = _HOURS.match(str(text))
            if not match:
                raise ValueError(f"{day}: write hours as HH:MM-HH:MM, e.g. 09:00-20:00")
            try:
                start, end = (dt_time.fromisoformat(part.zfill(5)) for part in match.groups())
            except ValueError:
                raise ValueError(f"{day}: {text!r} is not a time range") from None
            if start >= end:
                raise ValueError(f"{day}: opening {start:%H:%M} must be before closing {end:%H:%M}")
        return hours

    def hours_of(self, weekday: int) -> tuple[dt_time, dt_time] | None:
        """Opening and closing time on a weekday (0 = Monday), or None on a day off."""
        text = self.working_hours.get(WEEKDAYS[weekday])  # type: ignore[call-overload]
        if text is None:
            return None
        match = _HOURS.match(text)
        assert match is not None
        start, end = (dt_time.fromisoformat(part.zfill(5)) for part in match.groups())
        return start, end


# ---- loyalty ---------------------------------------------------------------------------------------

Key = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,24}$")]


def _default_tiers() -> list[Tier]:
    return [
        Tier(
            key="new",
            title={"en": "New", "ru": "Новый гость", "uk": "Новий гість"},
            min_purchases=0,
            min_spend=None,
            earn_percent=Decimal(3),
        ),
        Tier(
            key="episodic",
            title={"en": "Returning", "ru": "Снова с нами", "uk": "Знову з нами"},
            min_purchases=2,
            min_spend=None,
            earn_percent=Decimal(5),
        ),
        Tier(
            key="regular",
            title={"en": "Regular", "ru": "Постоянный гость", "uk": "Постійний гість"},
            min_purchases=4,
            min_spend=None,
            earn_percent=Decimal(7),
        ),
    ]


class Tier(_Model):
    """A customer type. Reached by purchase count (the rule of four) or, when set, by total spend."""

    key: Key
    title: LocalText
    min_purchases: int = Field(ge=0)
    min_spend: Decimal | None = Field(None, gt=0)
    earn_percent: Decimal = Field(Decimal(5), ge=0, le=100)
    perks: LocalText = Field(default_factory=dict)


class CatalogEntry(_Model):
    """A category a cashier can pick for a sale; sequences can trigger on it."""

    key: Key
    title: LocalText


class CouponCampaign(_Model):
    key: Key
    title: LocalText
    kind: Literal["percent", "amount", "gift"] = "gift"
    value: Decimal | None = Field(None, gt=0)  # the percent or the amount off
    valid_days: int = Field(30, ge=1)  # how long an issued coupon stays valid
    starts: date | None = None  # the campaign's window (local dates, inclusive)
    ends: date | None = None
    stock: int | None = Field(None, ge=1)  # at most this many coupons in total
    per_customer: int = Field(1, ge=1)
    only_tags: list[Tag] = Field(default_factory=list)  # only customers with one of these tags
    claimable: bool = False  # customers may claim it with the link t.me/<bot>?start=cp-<key>

    @model_validator(mode="after")
    def _value_fits_kind(self) -> CouponCampaign:
        if self.kind != "gift" and self.value is None:
            raise ValueError(f"a {self.kind} coupon needs value")
        if self.kind == "percent" and self.value is not None and self.value > 100:
            raise ValueError("a percent coupon cannot take off more than 100%")
        if self.starts and self.ends and self.ends < self.starts:
            raise ValueError("ends is before starts")
        return self


class GiftRule(_Model):
    """Cumulative gifts: on the customer's n-th purchase, a coupon of this campaign."""

    on_purchase: int = Field(ge=1)
    coupon: Key


class ReferralRules(_Model):
    referrer_points: int = Field(0, ge=0)  # for the customer who invited
    friend_points: int = Field(0, ge=0)  # for the new customer, after their first purchase


class LoyaltyRules(_Model):
    currency: str = "UAH"
    tiers: list[Tier] = Field(default_factory=_default_tiers)
    welcome_points: int = Field(0, ge=0)
    birthday_points: int = Field(0, ge=0)
    birthday_coupon: Key | None = None
    referral: ReferralRules = Field(default_factory=lambda: ReferralRules.model_validate({}))
    expire_after_days: int | None = Field(365, ge=1)  # None: points never expire
    max_points_share: Decimal = Field(Decimal(50), ge=0, le=100)  # percent of a purchase payable with points
    satisfaction_after: timedelta = timedelta(days=1)
    catalog: list[CatalogEntry] = Field(default_factory=list)
    coupons: list[CouponCampaign] = Field(default_factory=list)
    gifts: list[GiftRule] = Field(default_factory=list)

    @field_validator("satisfaction_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return value if isinstance(value, timedelta) else parse_duration(value)  # type: ignore[arg-type]

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if not is_currency(value.upper()):
            raise ValueError(f"unknown currency {value!r} (use an ISO code such as UAH, EUR, USD)")
        return value.upper()

    @model_validator(mode="after")
    def _consistent(self) -> LoyaltyRules:
        if not self.tiers or self.tiers[0].min_purchases != 0:
            raise ValueError("tiers: the first tier must have min_purchases: 0 (everyone starts there)")
        counts = [tier.min_purchases for tier in self.tiers]
        if counts != sorted(counts) or len(set(counts)) != len(counts):
            raise ValueError("tiers: list them from the lowest to the highest min_purchases, each different")
        for kind, keys in (
            ("tiers", [t.key for t in self.tiers]),
            ("catalog", [c.key for c in self.catalog]),
            ("coupons", [c.key for c in self.coupons]),
        ):
            if len(set(keys)) != len(keys):
                raise ValueError(f"{kind}: a key is used twice")
        campaigns = {c.key for c in self.coupons}
        for rule in self.gifts:
            if rule.coupon not in campaigns:
                raise ValueError(f"gifts: unknown coupon {rule.coupon!r} (define it under coupons)")
        if self.birthday_coupon and self.birthday_coupon not in campaigns:
            raise ValueError(f"birthday_coupon: unknown coupon {self.birthday_coupon!r}")
        return self

    def campaign(self, key: str) -> CouponCampaign | None:
        return next((c for c in self.coupons if c.key == key), None)

    def category(self, key: str) -> CatalogEntry | None:
        return next((c for c in self.catalog if c.key == key), None)

    def tier(self, key: str) -> Tier | None:
        return next((t for t in self.tiers if t.key == key), None)


# ---- segments ---------------------------------------------------------------------------------------

SegmentName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]


class RfmThresholds(_Model):
    """Where the RFM groups begin (see flows/segments.py for the rules in words)."""

    recent_days: int = Field(30, ge=1)
    active_days: int = Field(60, ge=1)
    lapsing_days: int = Field(180, ge=1)
    regular_purchases: int = Field(4, ge=2)
    top_spend_percent: int = Field(20, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> RfmThresholds:
        if not self.recent_days < self.active_days < self.lapsing_days:
            raise ValueError("recent_days < active_days < lapsing_days, e.g. 30, 60, 180")
        return self


class SegmentsConfig(_Model):
    """Saved segments by name (`/segment vip`, the broadcast wizard) and the RFM thresholds."""

    saved: dict[SegmentName, str] = Field(default_factory=dict)
    rfm: RfmThresholds = Field(default_factory=lambda: RfmThresholds.model_validate({}))


class DateDef(_Model):
    """A date that starts its sequences (trigger `{event: holiday, holiday: <name>}`) in the daily run.

    Every year on `month`/`day` (29 February: on the 28th in other years), or once on `date`;
    `days_before` starts it earlier, e.g. an offer three days before Valentine's day.
    """

    name: Key
    title: str | None = None
    month: int | None = Field(None, ge=1, le=12)
    day: int | None = Field(None, ge=1, le=31)
    on_date: date | None = Field(None, alias="date")
    days_before: int = Field(0, ge=0, le=60)

    @model_validator(mode="after")
    def _one_way(self) -> DateDef:
        yearly = self.month is not None or self.day is not None
        if yearly == (self.on_date is not None) or (yearly and (self.month is None or self.day is None)):
            raise ValueError("give either month and day (every year) or date (once), e.g. month: 3, day: 8")
        if yearly:
            try:
                date(2000, self.month, self.day)  # type: ignore[arg-type]  # 2000 is a leap year
            except ValueError:
                raise ValueError(f"{self.day}.{self.month} is not a day of the year") from None
        return self

    def falls_on(self, day: date) -> bool:
        """Whether the date starts its sequences on `day` (its own day minus `days_before`)."""
        target = day + timedelta(days=self.days_before)
        if self.on_date is not None:
            return target == self.on_date
        if (target.month, target.day) == (self.month, self.day):
            return True
        leap = target.year % 4 == 0 and (target.year % 100 != 0 or target.year % 400 == 0)
        return (self.month, self.day) == (2, 29) and not leap and (target.month, target.day) == (2, 28)


class Content(_Model):
    business: Business
    onboarding: Onboarding = Field(default_factory=Onboarding)
    sequences: list[SequenceDef] = Field(default_factory=list)
    faq: list[FaqEntry] = Field(default_factory=list)
    handoff: Handoff = Field(default_factory=Handoff)
    loyalty: LoyaltyRules = Field(default_factory=lambda: LoyaltyRules.model_validate({}))
    segments: SegmentsConfig = Field(default_factory=lambda: SegmentsConfig.model_validate({}))
    dates: list[DateDef] = Field(default_factory=list)
    texts: dict[str, dict[str, str]]

    def sequence(self, name: str) -> SequenceDef | None:
        return next((seq for seq in self.sequences if seq.name == name), None)

    def faq_entry(self, entry_id: str) -> FaqEntry | None:
        return next((entry for entry in self.faq if entry.id == entry_id), None)

    @model_validator(mode="after")
    def _check_faq(self) -> Content:
        ids = [entry.id for entry in self.faq]
        default = self.business.default_language
        for entry in self.faq:
            where = f"faq.{entry.id}"
            if ids.count(entry.id) > 1:
                raise ValueError(f"{where}: the id is used twice")
            if default not in entry.answer:
                raise ValueError(f"{where}.answer: needs a {default} answer")
            if default not in entry.questions:
                raise ValueError(f"{where}.questions: needs {default} phrasings")
            for language in (*entry.questions, *entry.answer):
                if language not in self.business.languages:
                    raise ValueError(f"{where}: language {language!r} is not in business.languages")
            for button in entry.buttons:
                if default not in button.text:
                    raise ValueError(f"{where}.buttons: every button needs a {default} text")
                if button.faq and button.faq not in ids:
                    raise ValueError(f"{where}.buttons: unknown faq entry {button.faq!r}")
        for language in self.handoff.intent_keywords:
            if language not in self.business.languages:
                raise ValueError(f"handoff.intent_keywords.{language}: language is not in business.languages")
        return self

    @model_validator(mode="after")
    def _check_sequences(self) -> Content:
        names = [seq.name for seq in self.sequences]
        default = self.business.default_language
        for seq in self.sequences:
            if names.count(seq.name) > 1:
                raise ValueError(f"sequences.{seq.name}: the name is used twice")
            for index, step in enumerate(seq.steps, 1):
                where = f"sequences.{seq.name}.steps.{index}"
                if default not in step.text:
                    raise ValueError(f"{where}.text: needs a {default} text")
                for button in step.buttons:
                    if default not in button.text:
                        raise ValueError(f"{where}.buttons: every button needs a {default} text")
                    if button.sequence and button.sequence not in names:
                        raise ValueError(f"{where}.buttons: unknown sequence {button.sequence!r}")
                if step.coupon and self.loyalty.campaign(step.coupon) is None:
                    raise ValueError(f"{where}.coupon: unknown coupon campaign {step.coupon!r}")
        dates = [d.name for d in self.dates]
        for name in dates:
            if dates.count(name) > 1:
                raise ValueError(f"dates.{name}: the name is used twice")
        for seq in self.sequences:
            if seq.trigger.event == "holiday" and seq.trigger.holiday not in dates:
                raise ValueError(
                    f"sequences.{seq.name}.trigger: unknown date {seq.trigger.holiday!r} (add it under dates:)"
                )
        return self

    @model_validator(mode="after")
    def _check_texts(self) -> Content:
        default = self.business.default_language
        for language in self.texts:
            if language not in self.business.languages:
                raise ValueError(f"texts.{language}: language is not in business.languages")
        base = self.texts.get(default)
        if base is None:
            raise ValueError(f"texts.{default}: the default language needs a full set of texts")
        for language, texts in self.texts.items():
            for key, text in texts.items():
                _check_text(language, key, text)
        missing = sorted(set(TEXT_KEYS) - set(base))
        if missing:
            raise ValueError(f"texts.{default}: missing {', '.join(missing)}")
        for interest in self.onboarding.interests:
            if default not in interest.title:
                raise ValueError(f"onboarding.interests.{interest.tag}.title: needs a {default} title")
        loyalty = self.loyalty
        for where, items in (("tiers", loyalty.tiers), ("catalog", loyalty.catalog), ("coupons", loyalty.coupons)):
            for item in items:
                if default not in item.title:
                    raise ValueError(f"loyalty.{where}.{item.key}.title: needs a {default} title")
        return self

    @model_validator(mode="after")
    def _check_segments(self) -> Content:
        from flows.segments import check_saved  # the parser needs this model: imported when it is built

        check_saved(self)
        return self

    def texts_for(self, language: str | None) -> Texts:
        """Texts in the customer's language, falling back key by key to the default language."""
        return Texts(self.pick_language(language), self)

    def pick_language(self, language: str | None) -> str:
        code = (language or "").split("-")[0].lower()
        return code if code in self.business.languages else self.business.default_language


def _check_text(language: str, key: str, text: str) -> None:
    where = f"texts.{language}.{key}"
    if key not in TEXT_KEYS:
        close = difflib.get_close_matches(key, TEXT_KEYS, n=1)
        hint = f"did you mean {close[0]}?" if close else "see the example content file for the keys"
        raise ValueError(f"{where}: unknown text key ({hint})")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(
            f"{where}: bad placeholder braces ({exc}); write {{{{ and }}}} for literal braces"
        ) from exc
    unknown = fields - TEXT_KEYS[key]
    if unknown:
        allowed = ", ".join(sorted(TEXT_KEYS[key])) or "none"
        raise ValueError(f"{where}: unknown placeholder {{{sorted(unknown)[0]}}} (allowed: {allowed})")


class Html(str):
    """Text that is already HTML (a rendered text): `Texts` puts it in as is instead of escaping it."""

    __slots__ = ()


class Texts:
    """The texts of one language; values put into a text are HTML-escaped (texts are sent as HTML)."""

    def __init__(self, language: str, content: Content) -> None:
        self.language = language
        self._own = content.texts.get(language, {})
        self._fallback = content.texts[content.business.default_language]
        self._business = content.business.name

    def __call__(self, key: str, **values: Any) -> str:
        template = self._own.get(key) or self._fallback[key]
        safe = {
            name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
            for name, value in values.items()
        }
        safe.setdefault("business", html.escape(self._business, quote=False))
        return template.format_map(_Defaulting(safe))

    def plural(self, key: str, count: int) -> str:
        """The word form for `count` from a text like `point|points` (en) or `балл|балла|баллов|балла` (ru).

        Forms are listed in CLDR order of the language's categories (one, few, many, other); a missing
        form falls back to the last one given.
        """
        forms = self(key).split("|")
        tags = sorted(Locale.parse(self.language).plural_form.tags | {"other"}, key=_PLURAL_ORDER.index)
        tag = Locale.parse(self.language).plural_form(abs(count))
        index = tags.index(tag) if tag in tags else len(tags) - 1
        return forms[min(index, len(forms) - 1)].strip()

    def local(self, text: Mapping[str, str], default_language: str) -> str:
        """Pick this language from a per-language mapping (e.g. an interest title)."""
        return text.get(self.language) or text[default_language]


_PLURAL_ORDER = ("zero", "one", "two", "few", "many", "other")


class _Defaulting(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def load_content(path: Path | str) -> Content:
    """Read and validate the content file, raising ContentError with file, key and problem."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text("utf-8"), Loader=_YAML_LOADER)
    except FileNotFoundError:
        raise ContentError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ContentError(f"{path}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise ContentError(f"{path}: the file must be a mapping of sections (business, onboarding, texts)")
    try:
        return Content.model_validate(raw, context={"base": path.parent})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ContentError(f"{path}: {key}: {message}" if key else f"{path}: {message}") from None


def example_content_path() -> Path:
    """The example content shipped with the package (used by the sandbox and as the default)."""
    return Path(__file__).resolve().parent.parent / "bot" / "content" / "example.yaml"
