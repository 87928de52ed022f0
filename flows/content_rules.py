"""The loyalty rules and the warm-up sequences as an editor changes them, one part of the document at a time.

Pure document edits: each function returns a copy of the content document with one part replaced, and
`save_*` hands it to `flows.content_edits.ContentEdits.save` — so validation (the same model as the content
file), versions and the switch into the running bot stay in one place. Numbers arrive as typed: what reads
as a number is stored as one, anything else is kept as text so that the model names it at its field.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from flows.content.sequences import SequenceDef
from flows.content_documents import Document, Problem
from flows.content_edits import ContentEdits, Outcome
from flows.content_summaries import summary
from flows.i18n import N_

_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?\d+[.,]\d+$")


def number(text: str) -> int | float | str | None:
    """A typed number as the content file would hold it; blank → None, not a number → the text itself."""
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        return None
    if _INTEGER.match(cleaned):
        return int(cleaned)
    if _DECIMAL.match(cleaned):
        return float(cleaned.replace(",", "."))
    return text.strip()


def local_texts(values: Mapping[str, str]) -> dict[str, str]:
    """Texts per language with the empty ones left out (a missing default one is named by validation)."""
    return {lang: _lines(text) for lang, text in values.items() if text.strip()}


def _section(document: Document, key: str) -> dict[str, Any]:
    found = document.get(key)
    section: dict[str, Any] = found if isinstance(found, dict) else {}
    document[key] = section
    return section


def _set(target: dict[str, Any], key: str, value: object) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


# --- loyalty --------------------------------------------------------------------------------------


def with_loyalty(
    document: Document,
    points: Mapping[str, str],
    tiers: Sequence[Mapping[str, Any]],
    gifts: Sequence[Mapping[str, str]],
) -> Document:
    """A copy with the loyalty rules an editor changes: points rules (`welcome_points`, `birthday_points`,
    `birthday_coupon`, `referrer_points`, `friend_points`, `expire_after_days` — blank: never —,
    `max_points_share`), the tiers in order ({key, title: {lang}, min_purchases, min_spend, earn_percent,
    perks: {lang}}) and the gifts ({on_purchase, coupon}). Currency, catalog and coupon campaigns stay."""
    document = copy.deepcopy(document)
    loyalty = _section(document, "loyalty")
    for key in ("welcome_points", "birthday_points", "max_points_share"):
        if key in points:
            loyalty[key] = number(points[key]) if points[key].strip() else 0
    if "expire_after_days" in points:
        loyalty["expire_after_days"] = number(points["expire_after_days"])  # None: points never expire
    if "birthday_coupon" in points:
        _set(loyalty, "birthday_coupon", points["birthday_coupon"].strip() or None)
    referral = _section(loyalty, "referral")
    for key in ("referrer_points", "friend_points"):
        if key in points:
            referral[key] = number(points[key]) if points[key].strip() else 0
    loyalty["tiers"] = [_tier(row) for row in tiers]
    loyalty["gifts"] = [
        {"on_purchase": number(row.get("on_purchase", "")), "coupon": row.get("coupon", "")} for row in gifts
    ]
    return document


def _tier(row: Mapping[str, Any]) -> Document:
    tier: Document = {"key": str(row.get("key", "")).strip(), "title": local_texts(row.get("title") or {})}
    tier["min_purchases"] = number(str(row.get("min_purchases", "")))
    for key in ("min_spend", "earn_percent"):
        _set(tier, key, number(str(row.get(key, ""))))
    perks = local_texts(row.get("perks") or {})
    if perks:
        tier["perks"] = perks
    return tier


async def save_loyalty(
    edits: ContentEdits,
    points: Mapping[str, str],
    tiers: Sequence[Mapping[str, Any]],
    gifts: Sequence[Mapping[str, str]],
    by: int | None,
    base: int | None,
) -> Outcome:
    """The loyalty rules saved as a new version, in effect at once (refused with every problem by its key)."""
    document = with_loyalty((await edits.current()).document, points, tiers, gifts)
    return await edits.save(document, by, summary(N_("loyalty rules")), base)


# --- sequences ------------------------------------------------------------------------------------


def _sequence(document: Document, name: str) -> dict[str, Any] | None:
    for item in document.get("sequences") or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def step_document(
    delay: str,
    at: str,
    text: Mapping[str, str],
    coupon: str,
    buttons: Sequence[Mapping[str, Any]],
    photo: str | None = None,
) -> Document:
    """A step as the content file writes it, from what an editor typed (buttons: {type, text: {lang},
    url, tag, sequence}; a row without a type is left out)."""
    step: Document = {"delay": delay.strip() or "0s"}
    if at.strip():
        step["at"] = at.strip()
    step["text"] = local_texts(text)
    if photo:
        step["photo"] = photo
    if coupon.strip():
        step["coupon"] = coupon.strip()
    made = []
    for button in buttons:
        if not str(button.get("type") or "").strip():
            continue
        item: Document = {"type": str(button["type"]).strip(), "text": local_texts(button.get("text") or {})}
        for key in ("url", "tag", "sequence"):
            if str(button.get(key) or "").strip():
                item[key] = str(button[key]).strip()
        made.append(item)
    if made:
        step["buttons"] = made
    return step


def with_step(
    document: Document, name: str, index: int, step: Document | None, *, keep_photo: bool = True
) -> Document | None:
    """A copy with step `index` (from 1) of sequence `name` replaced, appended (index one past the last)
    or removed (step None); None when there is no such sequence or step. `keep_photo`: a step given
    without a photo keeps the one it had (an editor that does not show photos)."""
    document = copy.deepcopy(document)
    sequence = _sequence(document, name)
    if sequence is None:
        return None
    steps: list[Any] = list(sequence.get("steps") or [])
    if not 1 <= index <= len(steps) + (step is not None):
        return None
    if step is None:
        del steps[index - 1]
    elif index == len(steps) + 1:
        steps.append(step)
    else:
        kept = keep_photo and isinstance(steps[index - 1], dict) and "photo" in steps[index - 1]
        if kept and "photo" not in step:
            step = {**step, "photo": steps[index - 1]["photo"]}  # the editor does not change photos
        steps[index - 1] = step
    sequence["steps"] = steps
    return document


def with_settings(
    document: Document, name: str, title: str, trigger: Mapping[str, str], exit_: Mapping[str, Any], reentry: str
) -> Document | None:
    """A copy with a sequence's title, trigger ({event, tag, category, min_purchases, max_purchases, days,
    holiday}), exit ({on_purchase: bool, on_tags: text, comma separated}) and re-entry (`never` or a
    duration such as `90d`) replaced; None when there is no such sequence."""
    document = copy.deepcopy(document)
    sequence = _sequence(document, name)
    if sequence is None:
        return None
    _set(sequence, "title", title.strip() or None)
    made: Document = {"event": trigger.get("event", "").strip()}
    for key in ("tag", "category", "holiday"):
        _set(made, key, trigger.get(key, "").strip() or None)
    for key in ("min_purchases", "max_purchases", "days"):
        _set(made, key, number(trigger.get(key, "")))
    sequence["trigger"] = made
    tags = [tag.strip() for tag in str(exit_.get("on_tags") or "").split(",") if tag.strip()]
    sequence["exit"] = {"on_purchase": bool(exit_.get("on_purchase")), "on_tags": tags}
    cleaned = reentry.strip()
    sequence["reentry"] = "never" if cleaned in ("", "never") else cleaned
    return document


async def save_step(
    edits: ContentEdits,
    name: str,
    index: int,
    step: Document | None,
    by: int | None,
    base: int | None,
    *,
    keep_photo: bool = True,
) -> Outcome | None:
    """One step of a sequence saved (added, removed); None when there is no such sequence or step. Customers
    already on the sequence get the new step when it falls due (a queued message keeps its old text)."""
    document = with_step((await edits.current()).document, name, index, step, keep_photo=keep_photo)
    if document is None:
        return None
    what = (
        N_("sequence {name}: step {index} removed") if step is None else N_("sequence {name}: step {index} saved")
    )
    return await edits.save(document, by, summary(what, name=name, index=index), base)


async def try_step(
    edits: ContentEdits, name: str, index: int, step: Document, *, keep_photo: bool = True
) -> SequenceDef | list[Problem] | None:
    """The sequence with the step as typed, checked as a save would check it, without saving it (the
    console's preview and "send to me"); None when there is no such sequence or step."""
    document = with_step((await edits.current()).document, name, index, step, keep_photo=keep_photo)
    if document is None:
        return None
    content = await edits.try_document(document)
    return content if isinstance(content, list) else content.sequence(name)


async def save_settings(
    edits: ContentEdits,
    name: str,
    title: str,
    trigger: Mapping[str, str],
    exit_: Mapping[str, Any],
    reentry: str,
    by: int | None,
    base: int | None,
) -> Outcome | None:
    """A sequence's trigger, exits and re-entry saved; None when there is no such sequence."""
    document = with_settings((await edits.current()).document, name, title, trigger, exit_, reentry)
    if document is None:
        return None
    return await edits.save(document, by, summary(N_("sequence {name}: trigger and exits"), name=name), base)


def _lines(text: str) -> str:
    """Browsers send line breaks as CRLF; the content keeps LF, without trailing blanks."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n"))


# --- onboarding -----------------------------------------------------------------------------------


def with_onboarding(document: Document, steps: Sequence[str], interests: Sequence[Mapping[str, Any]]) -> Document:
    """A copy with the onboarding questions replaced: the steps asked, in order (`phone`, `birthday`,
    `interests`), and the interests offered ({tag, title: {lang}})."""
    document = copy.deepcopy(document)
    onboarding = _section(document, "onboarding")
    onboarding["steps"] = list(steps)
    onboarding["interests"] = [
        {"tag": str(row.get("tag", "")).strip(), "title": local_texts(row.get("title") or {})} for row in interests
    ]
    return document


async def save_onboarding(
    edits: ContentEdits,
    steps: Sequence[str],
    interests: Sequence[Mapping[str, Any]],
    by: int | None,
    base: int | None,
) -> Outcome:
    """The onboarding questions saved; a customer who starts from now on is asked the new ones."""
    document = with_onboarding((await edits.current()).document, steps, interests)
    return await edits.save(document, by, summary(N_("onboarding questions")), base)
