"""Form helpers shared by the loyalty and sequence editors: reading rows of fields, placing problems."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flows.content_documents import Problem
from flows.team_text import TeamText

MAX_ROWS = 20  # rows a form may post (tiers, gifts, buttons); more are ignored, not an error
_LEADING_WORD = re.compile(r"^([a-z_]+): (.+)$", re.S)


def rows(posted: Mapping[str, Any], prefix: str) -> list[int]:
    """The row numbers a form posted for `prefix` (`tier0.key`, `tier3.title.en` → [0, 3]), in order."""
    found = {int(m.group(1)) for name in posted if (m := re.match(rf"^{prefix}(\d+)\.", name))}
    return sorted(n for n in found if n < MAX_ROWS)


def text(posted: Mapping[str, Any], name: str) -> str:
    return str(posted.get(name, ""))


def per_language(posted: Mapping[str, Any], name: str, languages: Iterable[str]) -> dict[str, str]:
    return {lang: text(posted, f"{name}.{lang}") for lang in languages}


def base_version(posted: Mapping[str, Any]) -> int | None:
    typed = text(posted, "base")
    return int(typed) if typed.isdecimal() else None


def place(problems: Iterable[Problem], paths: Iterable[str]) -> tuple[dict[str, list[TeamText]], list[TeamText]]:
    """Each problem next to the most specific field path it is about; the rest for the top of the page (the
    texts are translated where the page shows them).

    A check written as a plain string may name its place inside the message (`loyalty` / "tiers: list
    them…"): the word before the colon then completes the path when that makes a known field."""
    known = sorted(set(paths), key=len, reverse=True)
    fields: dict[str, list[TeamText]] = {}
    general: list[TeamText] = []
    for problem in problems:
        leading = _LEADING_WORD.match(problem.message) if problem.said.verbatim else None
        if leading and f"{problem.path}.{leading.group(1)}" in known:
            problem = Problem(f"{problem.path}.{leading.group(1)}", leading.group(2))
        found = next((p for p in known if problem.within(p)), None)
        if found is None:
            general.append(problem.placed())
        else:
            fields.setdefault(found, []).append(problem.said)
    return fields, general


def label(key: str, index: int) -> str:
    """How the content names a list item in a problem's path: its key, else its position from 1."""
    return key or str(index + 1)
