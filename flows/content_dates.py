"""The business's dates (`dates:` in the content file: holidays that start sequences) as an editor changes them.

A pure document edit saved through `flows.content_edits.ContentEdits.save`: the content file's model checks
it (a day of the year or one date, a name used once, no sequence left on a removed date), a save is a new
version and the daily run starts holiday sequences by it from then on.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from flows.content_documents import Document
from flows.content_edits import ContentEdits, Outcome
from flows.content_rules import number
from flows.content_summaries import summary
from flows.i18n import N_

NUMBERS = ("month", "day", "days_before")


def date_document(typed: Mapping[str, str]) -> Document:
    """A date as the content file writes it, from what an editor typed ({name, title, month, day, date,
    days_before}); blank fields are left out."""
    made: Document = {"name": typed.get("name", "").strip()}
    if typed.get("title", "").strip():
        made["title"] = typed["title"].strip()
    for key in NUMBERS:
        value = number(typed.get(key, ""))
        if value is not None:
            made[key] = value
    if typed.get("date", "").strip():
        made["date"] = typed["date"].strip()
    return made


def with_dates(document: Document, dates: Sequence[Mapping[str, str]]) -> Document:
    """A copy with the list of dates replaced by `dates`, in order."""
    document = copy.deepcopy(document)
    document["dates"] = [date_document(row) for row in dates]
    return document


async def save_dates(
    edits: ContentEdits, dates: Sequence[Mapping[str, str]], by: int | None, base: int | None
) -> Outcome:
    """The dates saved as a new version; holiday sequences start by them from the next daily run."""
    document = with_dates((await edits.current()).document, dates)
    return await edits.save(document, by, summary(N_("dates")), base)
