"""The content as a document: YAML in and out, validation with every problem at its key, and diffs.

The validated model (`flows.content.Content`) stays the one source of rules: a document is a plain mapping
as the content file holds it, and it counts only once `validate` turned it into a `Content`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flows.content import Content
from flows.content.base import Invalid
from flows.content.model import named_path
from flows.content_refusals import refusal
from flows.i18n import N_, Translator
from flows.team_text import ENGLISH, TeamError, TeamText, said

Document = dict[str, Any]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, init=False)
class Problem:
    """One reason a document is refused: where (`faq[prices].answer.en`, empty for the whole) and what, as a
    text translated where it is shown (a plain string is shown as it is)."""

    path: str
    said: TeamText

    def __init__(self, path: str, message: str | TeamText) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "said", said(message))

    @property
    def message(self) -> str:
        """The problem in English (the command line, logs)."""
        return str(self.said)

    def text(self, tr: Translator = ENGLISH) -> str:
        """The problem in `tr`'s language."""
        return self.said.text(tr)

    def placed(self) -> TeamText:
        """Where and what, for a place that is not next to the field (`faq[prices].answer.en: …`)."""
        return TeamText(N_("{path}: {problem}"), path=self.path, problem=self.said) if self.path else self.said

    def within(self, prefix: str) -> bool:
        """True when the problem is at `prefix` or inside it (`faq[prices]` holds `faq[prices].answer.en`)."""
        return self.path == prefix or self.path.startswith((f"{prefix}.", f"{prefix}["))


class DocumentError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in problems))
        self.problems = problems


def parse_yaml(text: str) -> Document:
    """A YAML text as a document; DocumentError naming the line when it is not YAML or not a mapping."""
    try:
        raw = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        detail = str(getattr(exc, "problem", exc))  # the YAML library's words: shown as they are
        message = (
            TeamText(N_("line {line}: not valid YAML ({detail})"), line=str(mark.line + 1), detail=detail)
            if mark
            else TeamText(N_("not valid YAML ({detail})"), detail=detail)
        )
        raise DocumentError([Problem("", message)]) from None
    if not isinstance(raw, dict):
        message = TeamText(N_("the content must be a mapping of sections (business, faq, texts…)"))
        raise DocumentError([Problem("", message)])
    return raw


_SAFE_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: ~6× faster


class _Dumper(_SAFE_DUMPER):  # type: ignore[valid-type,misc]
    """Block style for text with line breaks, so an answer reads (and diffs) line by line."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.startswith(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(document: Document) -> str:
    """The document as YAML, keys in their order; `parse_yaml` gives back an equal document."""
    return yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


# A model-wide check names its place at the start of its message ("faq[prices].answer: needs an en answer").
_LEADING_PATH = re.compile(r"^([a-z_]+(?:\[[^\]\s]+\])*(?:\.[\w-]+(?:\[[^\]\s]+\])*)*)(?:: | is )")


def _problem(document: Document, error: Any) -> Problem:
    key = named_path(document, error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, Invalid):  # our checks: the place inside the part checked, and a translatable text
        inner = cause.at
        return Problem(
            f"{key}.{inner}" if key and inner and not inner.startswith(key) else inner or key, cause.said
        )
    if isinstance(cause, TeamError):
        return Problem(key, cause.said)
    if error["type"] != "value_error":
        return Problem(key, refusal(error))
    message = str(error["msg"]).removeprefix("Value error, ")
    match = _LEADING_PATH.match(message)
    if match and ("." in match.group(1) or "[" in match.group(1) or not key):
        inner = match.group(1)
        key = f"{key}.{inner}" if key and not inner.startswith(key) else inner
        if message[match.end(1) :].startswith(": "):
            message = message[match.end(1) + 2 :]
    return Problem(key, message)


def validate(document: Document, base: Path, media: dict[int, str] | None = None) -> Content:
    """The document as content, checked exactly as the content file is; DocumentError with every problem
    pydantic reports (the model-wide checks stop at their first). `base`: where relative photo paths are;
    a path leading out of it is refused (see `flows.content.base.resolve_media`). `media`: the uploads
    the database holds (kind by id), which `media:<id>` must name."""
    context: dict[str, Any] = {"base": base, "contained": True}
    if media is not None:
        context["media"] = media
    try:
        return Content.model_validate(document, context=context)
    except ValidationError as exc:
        raise DocumentError([_problem(document, error) for error in exc.errors()]) from None


_ITEM_NAMES = ("name", "id", "key", "tag")


def _label(item: object, index: int) -> str:
    name = next((item[k] for k in _ITEM_NAMES if isinstance(item, dict) and item.get(k)), None)
    return str(name) if name is not None else str(index + 1)


def changed_keys(old: object, new: object, path: str = "") -> Iterator[str]:
    """The places where two documents differ, named as the owner reads them (`faq[prices].answer.en`);
    list items with a name or id are matched by it, so inserting one does not mark every later one."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            inner = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                yield inner
            else:
                yield from changed_keys(old[key], new[key], inner)
    elif isinstance(old, list) and isinstance(new, list) and old != new:
        before = {_label(item, i): item for i, item in enumerate(old)}
        after = {_label(item, i): item for i, item in enumerate(new)}
        if len(before) != len(old) or len(after) != len(new):  # labels repeat: compare as a whole
            yield path
            return
        for label in [*before, *(k for k in after if k not in before)]:
            inner = f"{path}[{label}]"
            if label not in before or label not in after:
                yield inner
            else:
                yield from changed_keys(before[label], after[label], inner)
        if [k for k in before if k in after] != [k for k in after if k in before]:
            yield f"{path} (order)"
    elif old != new:
        yield path


def line_diff(old: Document, new: Document, context: int = 2) -> list[str]:
    """A unified diff of the two documents' YAML (written the same way, so only real changes show)."""
    lines = difflib.unified_diff(
        dump_yaml(old).splitlines(), dump_yaml(new).splitlines(), "before", "after", n=context, lineterm=""
    )
    return list(lines)[2:]  # the two file-name lines say nothing here
