"""Warm-up sequences made, re-keyed, removed and their steps reordered — the shape of `sequences:` in the content.

Pure document edits, saved through `flows.content_edits.ContentEdits.save` (the content file's model, a new
version, in effect at once), like `flows.content_rules` which changes a sequence's settings and steps.

What happens to customers on a sequence that is removed or re-keyed: enrolments name their sequence by its
key, so from the save on nobody is on a sequence of that key any more. Each such enrolment ends as
`exited` (reason `removed`) when its next step falls due (`flows.sequences.Sequences.advance`): the
remaining steps are not sent, a message already handed to the outbox is cancelled, and a re-keyed sequence
starts afresh by its trigger (its re-entry rule knows only the new key). A sequence another sequence's
button starts cannot be removed or re-keyed until that button is changed: `references` names each one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from flows.content import Content
from flows.content_documents import Document
from flows.content_edits import ContentEdits, Outcome
from flows.content_rules import with_settings
from flows.content_summaries import summary
from flows.i18n import N_


def references(content: Content, name: str) -> list[str]:
    """The places outside sequence `name` that name it: buttons of other sequences' steps that start it."""
    found = []
    for seq in content.sequences:
        if seq.name == name:
            continue  # its own buttons go (or are re-keyed) with it
        for index, step in enumerate(seq.steps, 1):
            for number, button in enumerate(step.buttons, 1):
                if button.type == "sequence" and button.sequence == name:
                    found.append(f"sequences[{seq.name}].steps[{index}].buttons[{number}]")
    return found


def _sequences(document: Document) -> list[Any]:
    found = document.get("sequences")
    items: list[Any] = found if isinstance(found, list) else []
    document["sequences"] = items
    return items


def _position(items: list[Any], name: str) -> int | None:
    return next((i for i, s in enumerate(items) if isinstance(s, dict) and s.get("name") == name), None)


def with_new_sequence(
    document: Document,
    name: str,
    title: str,
    trigger: Mapping[str, str],
    exit_: Mapping[str, Any],
    reentry: str,
    first_step: Document,
) -> Document:
    """A copy with a sequence added at the end: its key, title, trigger, exits, re-entry and first step (the
    model wants at least one). A key already used is left to the model to name."""
    alone = with_settings({"sequences": [{"name": name.strip()}]}, name.strip(), title, trigger, exit_, reentry)
    assert alone is not None  # made apart, so that a key already in use does not find the other sequence
    document = copy.deepcopy(document)
    _sequences(document).append({**alone["sequences"][0], "steps": [first_step]})
    return document


def with_sequence_removed(document: Document, name: str) -> Document | None:
    """A copy without sequence `name`; None when there is none."""
    document = copy.deepcopy(document)
    items = _sequences(document)
    index = _position(items, name)
    if index is None:
        return None
    del items[index]
    return document


def with_sequence_rekeyed(document: Document, old: str, new: str) -> Document | None:
    """A copy with sequence `old` named `new`, its own buttons that start it following; None when there is
    no `old`. A `new` already used, or not a key, is left to the model to name."""
    document = copy.deepcopy(document)
    items = _sequences(document)
    index = _position(items, old)
    if index is None:
        return None
    sequence = items[index]
    sequence["name"] = new.strip()
    for step in sequence.get("steps") or []:
        for button in (step.get("buttons") or []) if isinstance(step, dict) else []:
            if isinstance(button, dict) and button.get("type") == "sequence" and button.get("sequence") == old:
                button["sequence"] = new.strip()
    return document


def with_step_moved(document: Document, name: str, index: int, by: int) -> Document | None:
    """A copy with step `index` (from 1) of sequence `name` moved `by` places (-1: earlier, 1: later); None
    when there is no such sequence or step or it cannot move that way."""
    document = copy.deepcopy(document)
    items = _sequences(document)
    position = _position(items, name)
    if position is None:
        return None
    steps: list[Any] = list(items[position].get("steps") or [])
    target = index - 1 + by
    if not (1 <= index <= len(steps) and 0 <= target < len(steps)):
        return None
    steps.insert(target, steps.pop(index - 1))
    items[position]["steps"] = steps
    return document


async def add_sequence(
    edits: ContentEdits,
    name: str,
    title: str,
    trigger: Mapping[str, str],
    exit_: Mapping[str, Any],
    reentry: str,
    first_step: Document,
    by: int | None,
    base: int | None,
) -> Outcome:
    """A new sequence saved as a new version; customers enter it by its trigger from now on."""
    document = with_new_sequence(
        (await edits.current()).document, name, title, trigger, exit_, reentry, first_step
    )
    return await edits.save(document, by, summary(N_("sequence {name} added"), name=name.strip()), base)


async def remove_sequence(
    edits: ContentEdits, name: str, by: int | None, base: int | None
) -> Outcome | list[str] | None:
    """Sequence `name` taken out (customers on it get none of its remaining steps); the places that still
    start it when something does (nothing saved); None when there is no such sequence."""
    current = await edits.current()
    used = references(current.content, name)
    if used:
        return used
    document = with_sequence_removed(current.document, name)
    if document is None:
        return None
    return await edits.save(document, by, summary(N_("sequence {name} removed"), name=name), base)


async def rekey_sequence(
    edits: ContentEdits, old: str, new: str, by: int | None, base: int | None
) -> Outcome | list[str] | None:
    """Sequence `old` named `new` (customers on it leave it, as on a removal); the places that still start it
    by its old key when something does; None when there is no such sequence."""
    current = await edits.current()
    used = references(current.content, old)
    if used:
        return used
    document = with_sequence_rekeyed(current.document, old, new)
    if document is None:
        return None
    return await edits.save(
        document, by, summary(N_("sequence {old} renamed to {new}"), old=old, new=new.strip()), base
    )


async def move_step(
    edits: ContentEdits, name: str, index: int, by_places: int, by: int | None, base: int | None
) -> Outcome | None:
    """Step `index` moved earlier (-1) or later (1). A customer on the sequence keeps their place by number:
    the step now at their next number is the one they get."""
    document = with_step_moved((await edits.current()).document, name, index, by_places)
    if document is None:
        return None
    form = (
        N_("sequence {name}: step {index} moved earlier")
        if by_places < 0
        else N_("sequence {name}: step {index} moved later")
    )
    return await edits.save(document, by, summary(form, name=name, index=index), base)
