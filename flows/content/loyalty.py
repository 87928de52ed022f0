"""Loyalty rules: tiers by the rule of four, the catalog, coupon campaigns, gifts and referrals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from babel.numbers import is_currency
from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from flows.content.base import (
    MAX_MONEY,
    BoundedDate,
    ContentModel,
    Key,
    LocalText,
    Tag,
    invalid,
    parse_duration,
    quoted,
)
from flows.i18n import N_
from flows.parsing import MAX_COUNT, MAX_DAYS, MAX_POINTS

# ---- loyalty ---------------------------------------------------------------------------------------


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


class Tier(ContentModel):
    """A customer type. Reached by purchase count (the rule of four) or, when set, by total spend."""

    key: Key
    title: LocalText
    min_purchases: int = Field(ge=0, le=MAX_COUNT)
    min_spend: Decimal | None = Field(None, gt=0, le=MAX_MONEY)
    earn_percent: Decimal = Field(Decimal(5), ge=0, le=100)
    perks: LocalText = Field(default_factory=dict)


class CatalogEntry(ContentModel):
    """A category a cashier can pick for a sale; sequences can trigger on it."""

    key: Key
    title: LocalText


class CouponCampaign(ContentModel):
    key: Key
    title: LocalText
    kind: Literal["percent", "amount", "gift"] = "gift"
    value: Decimal | None = Field(None, gt=0, le=MAX_MONEY)  # the percent or the amount off
    valid_days: int = Field(30, ge=1, le=MAX_DAYS)  # how long an issued coupon stays valid
    starts: BoundedDate | None = None  # the campaign's window (local dates, inclusive)
    ends: BoundedDate | None = None
    stock: int | None = Field(None, ge=1, le=MAX_COUNT)  # at most this many coupons in total
    per_customer: int = Field(1, ge=1, le=MAX_COUNT)
    only_tags: list[Tag] = Field(default_factory=list)  # only customers with one of these tags
    claimable: bool = False  # customers may claim it with the link t.me/<bot>?start=cp-<key>

    @model_validator(mode="after")
    def _value_fits_kind(self) -> CouponCampaign:
        if self.kind != "gift" and self.value is None:
            raise invalid(N_("a {kind} coupon needs value"), kind=self.kind)
        if self.kind == "percent" and self.value is not None and self.value > 100:
            raise invalid(N_("a percent coupon cannot take off more than 100%"))
        if self.starts and self.ends and self.ends < self.starts:
            raise invalid(N_("ends is before starts"))
        return self


class GiftRule(ContentModel):
    """Cumulative gifts: on the customer's n-th purchase, a coupon of this campaign."""

    on_purchase: int = Field(ge=1, le=MAX_COUNT)
    coupon: Key


class ReferralRules(ContentModel):
    referrer_points: int = Field(0, ge=0, le=MAX_POINTS)  # for the customer who invited
    friend_points: int = Field(0, ge=0, le=MAX_POINTS)  # for the new customer, after their first purchase


class LifetimeAssumptions(ContentModel):
    """The owner's assumptions for the projected lifetime value (loyalty → lifetime in the content file).

    Unset, the projection takes the expected years from the data (1 ÷ yearly churn, at most 10).
    """

    years: Decimal | None = Field(None, gt=0, le=100)  # expected years a customer keeps buying
    gross_margin_percent: Decimal | None = Field(None, gt=0, le=100)  # the value in margin, not revenue


class LoyaltyRules(ContentModel):
    currency: str = "UAH"
    tiers: list[Tier] = Field(default_factory=_default_tiers)
    welcome_points: int = Field(0, ge=0, le=MAX_POINTS)
    birthday_points: int = Field(0, ge=0, le=MAX_POINTS)
    birthday_coupon: Key | None = None
    referral: ReferralRules = Field(default_factory=lambda: ReferralRules.model_validate({}))
    expire_after_days: int | None = Field(365, ge=1, le=MAX_DAYS)  # None: points never expire
    max_points_share: Decimal = Field(Decimal(50), ge=0, le=100)  # percent of a purchase payable with points
    satisfaction_after: timedelta = timedelta(days=1)
    catalog: list[CatalogEntry] = Field(default_factory=list)
    coupons: list[CouponCampaign] = Field(default_factory=list)
    gifts: list[GiftRule] = Field(default_factory=list)
    lifetime: LifetimeAssumptions = Field(default_factory=lambda: LifetimeAssumptions.model_validate({}))

    @field_validator("satisfaction_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return value if isinstance(value, timedelta) else parse_duration(value)  # type: ignore[arg-type]

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if not is_currency(value.upper()):
            raise invalid(
                N_("unknown currency {code} (use an ISO code such as UAH, EUR, USD)"), code=quoted(value)
            )
        return value.upper()

    @model_validator(mode="after")
    def _consistent(self) -> LoyaltyRules:
        if not self.tiers or self.tiers[0].min_purchases != 0:
            raise invalid(N_("the first tier must have min_purchases: 0 (everyone starts there)"), "tiers")
        counts = [tier.min_purchases for tier in self.tiers]
        if counts != sorted(counts) or len(set(counts)) != len(counts):
            raise invalid(N_("list them from the lowest to the highest min_purchases, each different"), "tiers")
        for kind, keys in (
            ("tiers", [t.key for t in self.tiers]),
            ("catalog", [c.key for c in self.catalog]),
            ("coupons", [c.key for c in self.coupons]),
        ):
            if len(set(keys)) != len(keys):
                raise invalid(N_("a key is used twice"), kind)
        campaigns = {c.key for c in self.coupons}
        for rule in self.gifts:
            if rule.coupon not in campaigns:
                raise invalid(
                    N_("unknown coupon {name} (define it under coupons)"), "gifts", name=quoted(rule.coupon)
                )
        if self.birthday_coupon and self.birthday_coupon not in campaigns:
            raise invalid(N_("unknown coupon {name}"), "birthday_coupon", name=quoted(self.birthday_coupon))
        return self

    def campaign(self, key: str) -> CouponCampaign | None:
        return next((c for c in self.coupons if c.key == key), None)

    def category(self, key: str) -> CatalogEntry | None:
        return next((c for c in self.catalog if c.key == key), None)

    def tier(self, key: str) -> Tier | None:
        return next((t for t in self.tiers if t.key == key), None)
