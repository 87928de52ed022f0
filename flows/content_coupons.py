"""Coupon campaigns (`loyalty.coupons` in the content file) as an editor changes them, one campaign at a time.

Pure document edits, saved through `flows.content_edits.ContentEdits.save`: the same model as the content
file checks them (a percent campaign needs its value, ends not before starts, a key used once), a save is a
new version and the running bot issues, shows and limits coupons by it at once. Coupons already issued keep
their code and expiry; a changed value or title is what the bot shows from then on.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from flows.content import Content
from flows.content_documents import Document
from flows.content_edits import ContentEdits, Outcome
from flows.content_rules import local_texts, number
from flows.content_summaries import summary
from flows.i18n import N_
from storage.broadcasts import BroadcastsRepo

NUMBERS = ("value", "valid_days", "stock", "per_customer")
DATES = ("starts", "ends")


def campaign_document(typed: Mapping[str, Any]) -> Document:
    """A campaign as the content file writes it, from what an editor typed: {key, title: {lang}, kind, value,
    valid_days, starts, ends, stock, per_customer, only_tags (comma separated), claimable: bool}. Blank
    optional fields are left out (the model's defaults: valid 30 days, one per customer, no stock limit)."""
    campaign: Document = {
        "key": str(typed.get("key", "")).strip(),
        "title": local_texts(typed.get("title") or {}),
        "kind": str(typed.get("kind", "")).strip() or "gift",
    }
    for key in NUMBERS:
        value = number(str(typed.get(key, "")))
        if value is not None:
            campaign[key] = value
    for key in DATES:
        if str(typed.get(key, "")).strip():
            campaign[key] = str(typed[key]).strip()
    tags = [tag.strip() for tag in str(typed.get("only_tags") or "").split(",") if tag.strip()]
    if tags:
        campaign["only_tags"] = tags
    campaign["claimable"] = bool(typed.get("claimable"))
    return campaign


def with_campaign(document: Document, key: str | None, campaign: Document) -> Document | None:
    """A copy with campaign `key` replaced (its key stays, since gifts and sequences name it), or `campaign`
    appended when `key` is None; None when there is no campaign `key`."""
    document = copy.deepcopy(document)
    found = document.get("loyalty")
    loyalty: dict[str, Any] = found if isinstance(found, dict) else {}
    document["loyalty"] = loyalty
    coupons = [c for c in loyalty.get("coupons") or [] if isinstance(c, dict)]
    if key is None:
        coupons.append(campaign)
    else:
        index = next((i for i, c in enumerate(coupons) if c.get("key") == key), None)
        if index is None:
            return None
        coupons[index] = {**campaign, "key": key}
    loyalty["coupons"] = coupons
    return document


async def save_campaign(
    edits: ContentEdits, key: str | None, typed: Mapping[str, Any], by: int | None, base: int | None
) -> Outcome | None:
    """Campaign `key` saved as typed (a new one when `key` is None) as a new version, in effect at once;
    None when there is no such campaign."""
    campaign = campaign_document(typed)
    document = with_campaign((await edits.current()).document, key, campaign)
    if document is None:
        return None
    what = summary(N_("coupon {key}"), key=key) if key else summary(N_("coupon {key} added"), key=campaign["key"])
    return await edits.save(document, by, what, base)


# --- removing a campaign, or changing its key --------------------------------------------------------
#
# Coupons already issued are rows of their own (code, customer, expiry, the campaign's key): they stay
# valid and are redeemed as before (`flows.coupons.Coupons.redeem_in` needs no campaign); where the bot
# shows their name it shows the old key once the campaign is gone. Under a new key the stock and the
# per-customer limit count from zero. A campaign that something still hands out is not removed or
# re-keyed: `references` names each place, and the owner changes those first.


def references(content: Content, key: str) -> list[str]:
    """The places in the content that hand out coupons of campaign `key`."""
    found = [
        f"sequences[{seq.name}].steps[{index}].coupon"
        for seq in content.sequences
        for index, step in enumerate(seq.steps, 1)
        if step.coupon == key
    ]
    loyalty = content.loyalty
    found += [f"loyalty.gifts[{index}]" for index, gift in enumerate(loyalty.gifts, 1) if gift.coupon == key]
    if loyalty.birthday_coupon == key:
        found.append("loyalty.birthday_coupon")
    return found


async def uses(content: Content, broadcasts: BroadcastsRepo, key: str) -> list[str]:
    """Every place that hands out campaign `key`: the content's, then broadcasts not over yet."""
    found = references(content, key)
    found += [f"broadcast #{b.id} ({b.state})" for b in await broadcasts.carrying_coupon(key)]
    return found


def with_campaign_removed(document: Document, key: str) -> Document | None:
    """A copy without campaign `key`; None when there is none."""
    document = copy.deepcopy(document)
    coupons = (document.get("loyalty") or {}).get("coupons") or []
    kept = [c for c in coupons if not (isinstance(c, dict) and c.get("key") == key)]
    if len(kept) == len(coupons):
        return None
    document["loyalty"]["coupons"] = kept
    return document


def with_campaign_rekeyed(document: Document, old: str, new: str) -> Document | None:
    """A copy with campaign `old` keyed `new`; None when there is no `old` (a bad or used `new` is named
    by the model)."""
    document = copy.deepcopy(document)
    coupons = (document.get("loyalty") or {}).get("coupons") or []
    found = next((c for c in coupons if isinstance(c, dict) and c.get("key") == old), None)
    if found is None:
        return None
    found["key"] = new.strip()
    return document


async def remove_campaign(
    edits: ContentEdits, broadcasts: BroadcastsRepo, key: str, by: int | None, base: int | None
) -> Outcome | list[str] | None:
    """Campaign `key` removed as a new version; the places that still hand it out when any (nothing saved);
    None when there is no such campaign."""
    current = await edits.current()
    used = await uses(current.content, broadcasts, key)
    if used:
        return used
    document = with_campaign_removed(current.document, key)
    if document is None:
        return None
    return await edits.save(document, by, summary(N_("coupon {key} removed"), key=key), base)


async def rekey_campaign(
    edits: ContentEdits, broadcasts: BroadcastsRepo, old: str, new: str, by: int | None, base: int | None
) -> Outcome | list[str] | None:
    """Campaign `old` keyed `new` (its claim link changes to cp-<new>); refused like a removal while
    something hands it out; None when there is no such campaign."""
    current = await edits.current()
    used = await uses(current.content, broadcasts, old)
    if used:
        return used
    document = with_campaign_rekeyed(current.document, old, new)
    if document is None:
        return None
    return await edits.save(
        document, by, summary(N_("coupon {old} renamed to {new}"), old=old, new=new.strip()), base
    )
