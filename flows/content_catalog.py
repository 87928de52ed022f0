"""The business's currency and catalogue (`loyalty.currency`, `loyalty.catalog`) as an editor changes them.

Pure document edits, saved through `flows.content_edits.ContentEdits.save` (the content file's model: an ISO
currency, keys used once, a title in the default language; saved segments are checked against the new
categories). What the model does not know is which sequences start on a category's purchases, so a
category a sequence's trigger names is not removed (`category_uses` names it).

Amounts are stored as numbers, so a new currency re-labels every amount (sales, revenue, coupons' amounts)
without converting anything. Purchases recorded in a category that is removed keep its key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from flows.content import Content
from flows.content_documents import Document
from flows.content_edits import ContentEdits, Outcome
from flows.content_rules import local_texts
from flows.content_summaries import summary
from flows.i18n import N_


def catalog_entry(row: Mapping[str, Any]) -> Document:
    """A category as the content file writes it, from what an editor typed: {key, title: {lang}}."""
    return {"key": str(row.get("key", "")).strip(), "title": local_texts(row.get("title") or {})}


def with_catalog(document: Document, currency: str, rows: Sequence[Mapping[str, Any]]) -> Document:
    """A copy with the currency (an ISO code, any case) and the categories in order replaced."""
    document = copy.deepcopy(document)
    found = document.get("loyalty")
    loyalty: dict[str, Any] = found if isinstance(found, dict) else {}
    document["loyalty"] = loyalty
    loyalty["currency"] = currency.strip().upper()
    loyalty["catalog"] = [catalog_entry(row) for row in rows]
    return document


def category_uses(content: Content, keys: set[str]) -> list[str]:
    """The sequences whose trigger starts on a purchase in one of the categories `keys`."""
    return [
        f"sequences[{seq.name}].trigger.category"
        for seq in content.sequences
        if seq.trigger.category is not None and seq.trigger.category in keys
    ]


async def save_catalog(
    edits: ContentEdits, currency: str, rows: Sequence[Mapping[str, Any]], by: int | None, base: int | None
) -> Outcome | list[str]:
    """The currency and categories saved as a new version, in effect at once (a sale offers the new
    categories from then on); the triggers that still name a category left out, when any (nothing saved)."""
    current = await edits.current()
    kept = {str(row.get("key", "")).strip() for row in rows}
    gone = {entry.key for entry in current.content.loyalty.catalog} - kept
    used = category_uses(current.content, gone)
    if used:
        return used
    document = with_catalog(current.document, currency, rows)
    return await edits.save(document, by, summary(N_("currency and catalogue")), base)
