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

from flows.content_documents import Document
from flows.content_edits import ContentEdits, Outcome
from flows.content_rules import local_texts, number
from flows.content_summaries import summary
from flows.i18n import N_

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
