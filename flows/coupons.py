"""Coupons: issued by gift rules, claims, birthdays and sequences; redeemed once, atomically.

Stock is one conditional UPDATE on the campaign's counter, and redemption one conditional UPDATE on the
coupon, both inside the single-writer transaction: however many cashiers or customers press at once,
exactly one redemption wins and the stock is never exceeded. (The same statements hold on PostgreSQL.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import Enum

from flows.clock import Clock
from flows.codes import grouped, new_code, normalize
from flows.content import Content, CouponCampaign, Texts
from flows.formatting import datetime as datetime_text
from flows.formatting import day
from flows.i18n import N_, translator
from flows.markup import Html
from flows.notices import Notices
from flows.team_text import TeamText
from storage.coupons import (
    Coupon,
    CouponsRepo,
    count_for_customer,
    coupon_by_code,
    coupon_by_key,
    customer_has_any_tag,
    insert_coupon,
    mark_redeemed,
    take_from_stock,
)
from storage.customers import Customer
from storage.db import Database, Tx
from storage.ledger import customer_in
from storage.staff import audit

COUPON_CODE_LENGTH = 8


class IssueOutcome(Enum):
    ISSUED = "issued"
    ALREADY = "already"  # this exact issue (same key) happened before
    SOLD_OUT = "sold_out"
    LIMIT = "limit"  # the per-customer limit is reached
    NOT_AVAILABLE = "not_available"  # outside the window, not for this customer's segment, unknown


@dataclass(frozen=True)
class Issued:
    outcome: IssueOutcome
    coupon: Coupon | None = None


class RedeemOutcome(Enum):
    REDEEMED = "redeemed"
    NOT_FOUND = "not_found"
    USED = "used"
    EXPIRED = "expired"
    NOT_YET = "not_yet"
    FOREIGN = "foreign"  # belongs to another customer than the one at the counter


@dataclass(frozen=True)
class Redemption:
    outcome: RedeemOutcome
    coupon: Coupon | None = None


REDEEM_REASONS = {
    RedeemOutcome.NOT_FOUND: N_(
        "No coupon with code {code}. Check the code (letters and digits, the dash is optional)."
    ),
    RedeemOutcome.USED: N_("Coupon {code} was already used on {when}."),
    RedeemOutcome.EXPIRED: N_("Coupon {code} expired on {when}."),
    RedeemOutcome.NOT_YET: N_("Coupon {code} is valid only from {when}."),
    RedeemOutcome.FOREIGN: N_("Coupon {code} belongs to another customer."),
}


@dataclass
class Coupons:
    db: Database
    repo: CouponsRepo
    content: Content
    notices: Notices
    clock: Clock
    zone: tzinfo

    def campaign(self, key: str) -> CouponCampaign | None:
        return self.content.loyalty.campaign(key)

    def title(self, coupon: Coupon, t: Texts) -> str:
        campaign = self.campaign(coupon.campaign)
        return t.local(campaign.title, self.content.business.default_language) if campaign else coupon.campaign

    def until(self, coupon: Coupon, language: str) -> str:
        # valid_until is exclusive: the last valid local day is the day before midnight.
        last = (coupon.valid_until - timedelta(seconds=1)).astimezone(self.zone).date()
        return day(last, language)

    async def issue_in(
        self,
        tx: Tx,
        campaign_key: str,
        customer: Customer,
        origin: str,
        key: str,
        now: datetime,
        *,
        notify: bool = True,
    ) -> Issued:
        """Issue one coupon for `key` (once), honouring window, segment, per-customer limit and stock."""
        campaign = self.campaign(campaign_key)
        if campaign is None:
            return Issued(IssueOutcome.NOT_AVAILABLE)
        existing = await coupon_by_key(tx, f"{origin}:{key}")
        if existing is not None:
            return Issued(IssueOutcome.ALREADY, existing)
        local_today = now.astimezone(self.zone).date()
        if (campaign.starts and local_today < campaign.starts) or (campaign.ends and local_today > campaign.ends):
            return Issued(IssueOutcome.NOT_AVAILABLE)
        if campaign.only_tags and not await customer_has_any_tag(tx, customer.id, campaign.only_tags):
            return Issued(IssueOutcome.NOT_AVAILABLE)
        if await count_for_customer(tx, campaign.key, customer.id) >= campaign.per_customer:
            return Issued(IssueOutcome.LIMIT)
        if not await take_from_stock(tx, campaign.key, campaign.stock, now):
            return Issued(IssueOutcome.SOLD_OUT)
        code = await self._fresh_code(tx)
        # Valid to the end of the local day `valid_days` from now: "until 4 February" means all of it.
        last_day = local_today + timedelta(days=campaign.valid_days)
        valid_until = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=self.zone)
        await insert_coupon(
            tx,
            code=code,
            campaign=campaign.key,
            customer_id=customer.id,
            origin=origin,
            key=f"{origin}:{key}",
            valid_from=now,
            valid_until=valid_until,
            now=now,
        )
        coupon = await coupon_by_code(tx, code)
        assert coupon is not None
        if notify:
            t = self.notices.texts(customer)
            text = t(
                "coupon_issued",
                title=self.title(coupon, t),
                code=grouped(coupon.code),
                until=self.until(coupon, t.language),
            )
            await self.notices.to_customer(tx, customer, f"coupon:{coupon.id}", text, now)
        return Issued(IssueOutcome.ISSUED, coupon)

    async def coupon_line_in(
        self, tx: Tx, campaign: str, customer: Customer, origin: str, key: str, now: datetime
    ) -> Html | None:
        """A coupon issued with a message (a sequence step): the line to add to it, or None when sold out."""
        issued = await self.issue_in(tx, campaign, customer, origin, key, now, notify=False)
        if issued.coupon is None:
            return None
        t = self.notices.texts(customer)
        return t(
            "step_coupon",
            title=self.title(issued.coupon, t),
            code=grouped(issued.coupon.code),
            until=self.until(issued.coupon, t.language),
        )

    async def claim(self, customer: Customer, campaign_key: str) -> Issued:
        """A customer claims a claimable campaign's coupon (a link in a post, a QR on the counter)."""
        campaign = self.campaign(campaign_key)
        if campaign is None or not campaign.claimable:
            return Issued(IssueOutcome.NOT_AVAILABLE)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            # The key counts claims per customer; the per-customer limit decides how many succeed.
            claimed = await count_for_customer(tx, campaign.key, customer.id)
            return await self.issue_in(
                tx,
                campaign.key,
                customer,
                "claim",
                f"{campaign.key}:{customer.id}:{claimed + 1}",
                now,
                notify=False,
            )

    async def redeem(self, code: str, staff_tg_id: int, customer_id: int | None = None) -> Redemption:
        """Staff redeem a code (`/redeem`); the customer is told through the outbox."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            result = await self.redeem_in(tx, code, staff_tg_id, customer_id, None, now)
            if result.outcome is RedeemOutcome.REDEEMED and result.coupon is not None:
                customer = await customer_in(tx, result.coupon.customer_id)
                if customer is not None:
                    t = self.notices.texts(customer)
                    text = t("coupon_used", title=self.title(result.coupon, t), code=grouped(result.coupon.code))
                    await self.notices.to_customer(tx, customer, f"coupon-used:{result.coupon.id}", text, now)
        return result

    async def redeem_in(
        self,
        tx: Tx,
        code: str,
        staff_tg_id: int | None,
        customer_id: int | None,
        purchase_id: int | None,
        now: datetime,
    ) -> Redemption:
        """Mark a coupon used in the caller's transaction, or say exactly why it cannot be."""
        code = normalize(code)
        if await mark_redeemed(tx, code, staff_tg_id, purchase_id, customer_id, now):
            coupon = await coupon_by_code(tx, code)
            await audit(
                tx, staff_tg_id, "coupon_redeemed", code, now, customer=coupon.customer_id if coupon else None
            )
            return Redemption(RedeemOutcome.REDEEMED, coupon)
        coupon = await coupon_by_code(tx, code)
        if coupon is None:
            return Redemption(RedeemOutcome.NOT_FOUND)
        if coupon.redeemed_at is not None:
            return Redemption(RedeemOutcome.USED, coupon)
        if customer_id is not None and coupon.customer_id != customer_id:
            return Redemption(RedeemOutcome.FOREIGN, coupon)
        if coupon.valid_until <= now:
            return Redemption(RedeemOutcome.EXPIRED, coupon)
        return Redemption(RedeemOutcome.NOT_YET, coupon)

    def reason(self, result: Redemption, code: str, locale: str | None = None) -> str:
        """A staff-facing sentence for a refused redemption, in the reader's language and locale."""
        return self.refusal(result, code).text(translator(locale))

    def refusal(self, result: Redemption, code: str) -> TeamText:
        """Why a redemption was refused, to be written in whichever language reads it (flows/team_text.py)."""
        coupon = result.coupon
        moment = None
        if coupon is not None:
            moment = {
                RedeemOutcome.USED: coupon.redeemed_at,
                RedeemOutcome.EXPIRED: coupon.valid_until - timedelta(seconds=1),
                RedeemOutcome.NOT_YET: coupon.valid_from,
            }.get(result.outcome)
        zone = self.zone

        def when(language: str) -> str:
            return datetime_text(moment, language, zone) if moment is not None else ""

        shown = grouped(normalize(code)) if coupon else code
        return TeamText(REDEEM_REASONS[result.outcome], code=shown, when=when)

    async def valid_for(self, customer_id: int) -> list[Coupon]:
        """The customer's unused coupons that are still valid, soonest to expire first."""
        return await self.repo.valid_for(customer_id, self.clock.now())

    async def _fresh_code(self, tx: Tx) -> str:
        while True:
            code = new_code(COUPON_CODE_LENGTH)
            if await coupon_by_code(tx, code) is None:
                return code
