"""The FAQ evaluation data of issue 11: three small businesses' FAQs and customers' questions.

Written blind, before any tuning of the matcher. Tune on `questions_tune.yaml` only;
`questions_held_out.yaml` is for the final measurement and must never be tuned on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import TypeAdapter

from flows.content.handoff import FaqEntry

HERE = Path(__file__).resolve().parent
BUSINESSES = ("studio", "coffee", "carservice")
Business = Literal["studio", "coffee", "carservice"]
Kind = Literal["paraphrase", "typo", "form", "mixed", "emoji", "out_of_scope"]
Part = Literal["tune", "held_out"]

_ENTRIES = TypeAdapter(list[FaqEntry])


@dataclass(frozen=True)
class EvalQuestion:
    """One customer message and the entry that should answer it (None: no entry does)."""

    business: Business
    lang: Literal["en", "ru", "uk"]
    kind: Kind
    q: str
    expect: str | None


def _read(name: str) -> object:
    return yaml.safe_load((HERE / name).read_text("utf-8"))


def load_business(name: str) -> list[FaqEntry]:
    """One business's FAQ entries, validated through the real content model."""
    raw = _read(f"{name}.yaml")
    if not isinstance(raw, dict) or set(raw) != {"faq"}:
        raise ValueError(f"{name}.yaml: expected a single top-level key 'faq'")
    return _ENTRIES.validate_python(raw["faq"])


_QUESTIONS = TypeAdapter(list[EvalQuestion])


def load_questions(part: Part) -> list[EvalQuestion]:
    """The customer questions of one part of the split: 'tune' or 'held_out'."""
    return _QUESTIONS.validate_python(_read(f"questions_{part}.yaml"), strict=False)
