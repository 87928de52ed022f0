"""The whole content file: business, onboarding, sequences, FAQ, loyalty, segments, dates and texts.

Loaded once at start-up into pydantic models. A problem is reported as ``file: key.path: what is wrong``
so the owner can fix it without reading a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from flows.content.base import (
    ContentError,
    ContentModel,
    Language,
    LocalText,
    all_languages,
    invalid,
    quoted,
)
from flows.content.completeness import check_complete
from flows.content.faq_concepts import FaqConcepts
from flows.content.handoff import FaqEntry, Handoff
from flows.content.loyalty import LoyaltyRules
from flows.content.segments import SegmentsConfig
from flows.content.sequences import DateDef, SequenceDef
from flows.content.texts import TEXT_KEYS, Texts, check_text
from flows.content_refusals import refusal
from flows.i18n import N_

NOT_AMONG = N_("{language} is not among languages")
NOT_OFFERED = N_("language {language} is not in business.languages")
LANGUAGE_NOT_OFFERED = N_("language is not in business.languages")
BUTTON_TEXT = N_("every button needs a {language} text")
NAME_TWICE = N_("the name is used twice")
TITLE = N_("needs a {language} title")

# libyaml's loader is ~10× faster than the pure-Python one; both are the safe loader.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Business(ContentModel):
    name: str
    default_language: Language = "en"
    languages: list[Language] = Field(default_factory=all_languages)
    # Languages that may leave texts out: the default language's text is shown instead. Any other
    # language must be complete (a missing text is an error naming it).
    fallback_to_default: list[Language] = Field(default_factory=list)

    @model_validator(mode="after")
    def _default_is_offered(self) -> Business:
        if self.default_language not in self.languages:
            raise invalid(NOT_AMONG, "default_language", language=quoted(self.default_language))
        for language in self.fallback_to_default:
            if language not in self.languages:
                raise invalid(NOT_AMONG, "fallback_to_default", language=quoted(language))
        return self


class Interest(ContentModel):
    tag: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    title: LocalText


OnboardingStep = Literal["phone", "birthday", "interests"]


def _all_steps() -> list[OnboardingStep]:
    return ["phone", "birthday", "interests"]


class Onboarding(ContentModel):
    steps: list[OnboardingStep] = Field(default_factory=_all_steps)
    interests: list[Interest] = Field(default_factory=list)

    @field_validator("steps")
    @classmethod
    def _unique_steps(cls, steps: list[str]) -> list[str]:
        if len(set(steps)) != len(steps):
            raise invalid(N_("a step is listed twice"))
        return steps

    @model_validator(mode="after")
    def _interests_when_asked(self) -> Onboarding:
        if "interests" in self.steps and not self.interests:
            raise invalid(N_("the interests step is on but no interests are listed"))
        return self


class Content(ContentModel):
    business: Business
    onboarding: Onboarding = Field(default_factory=Onboarding)
    sequences: list[SequenceDef] = Field(default_factory=list)
    faq: list[FaqEntry] = Field(default_factory=list)
    faq_concepts: FaqConcepts = Field(default_factory=dict)  # the owner's words added to the lexicon
    handoff: Handoff = Field(default_factory=Handoff)
    loyalty: LoyaltyRules = Field(default_factory=lambda: LoyaltyRules.model_validate({}))
    segments: SegmentsConfig = Field(default_factory=lambda: SegmentsConfig.model_validate({}))
    dates: list[DateDef] = Field(default_factory=list)
    texts: dict[str, dict[str, str]]

    def sequence(self, name: str) -> SequenceDef | None:
        return next((seq for seq in self.sequences if seq.name == name), None)

    def faq_entry(self, entry_id: str) -> FaqEntry | None:
        return next((entry for entry in self.faq if entry.id == entry_id), None)

    @model_validator(mode="after")
    def _check_faq(self) -> Content:
        ids = [entry.id for entry in self.faq]
        default = self.business.default_language
        for entry in self.faq:
            where = f"faq[{entry.id}]"
            if ids.count(entry.id) > 1:
                raise invalid(N_("the id is used twice"), where)
            if default not in entry.answer:
                raise invalid(N_("needs a {language} answer"), f"{where}.answer", language=default)
            if default not in entry.questions:
                raise invalid(N_("needs {language} phrasings"), f"{where}.questions", language=default)
            for language in (*entry.questions, *entry.answer):
                if language not in self.business.languages:
                    raise invalid(NOT_OFFERED, where, language=quoted(language))
            for button in entry.buttons:
                if default not in button.text:
                    raise invalid(BUTTON_TEXT, f"{where}.buttons", language=default)
                if button.faq and button.faq not in ids:
                    raise invalid(N_("unknown faq entry {name}"), f"{where}.buttons", name=quoted(button.faq))
        for language in self.handoff.intent_keywords:
            if language not in self.business.languages:
                raise invalid(LANGUAGE_NOT_OFFERED, f"handoff.intent_keywords.{language}")
        return self

    @model_validator(mode="after")
    def _check_sequences(self) -> Content:
        names = [seq.name for seq in self.sequences]
        default = self.business.default_language
        for seq in self.sequences:
            if names.count(seq.name) > 1:
                raise invalid(NAME_TWICE, f"sequences[{seq.name}]")
            for index, step in enumerate(seq.steps, 1):
                where = f"sequences[{seq.name}].steps[{index}]"
                if default not in step.text:
                    raise invalid(N_("needs a {language} text"), f"{where}.text", language=default)
                for button in step.buttons:
                    if default not in button.text:
                        raise invalid(BUTTON_TEXT, f"{where}.buttons", language=default)
                    if button.sequence and button.sequence not in names:
                        raise invalid(
                            N_("unknown sequence {name}"), f"{where}.buttons", name=quoted(button.sequence)
                        )
                if step.coupon and self.loyalty.campaign(step.coupon) is None:
                    raise invalid(
                        N_("unknown coupon campaign {name}"), f"{where}.coupon", name=quoted(step.coupon)
                    )
        dates = [d.name for d in self.dates]
        for name in dates:
            if dates.count(name) > 1:
                raise invalid(NAME_TWICE, f"dates[{name}]")
        for seq in self.sequences:
            if seq.trigger.event == "holiday" and seq.trigger.holiday not in dates:
                raise invalid(
                    N_("unknown date {name} (add it under dates:)"),
                    f"sequences[{seq.name}].trigger",
                    name=quoted(seq.trigger.holiday),
                )
        return self

    @model_validator(mode="after")
    def _check_texts(self) -> Content:
        default = self.business.default_language
        for language in self.texts:
            if language not in self.business.languages:
                raise invalid(LANGUAGE_NOT_OFFERED, f"texts.{language}")
        base = self.texts.get(default)
        if base is None:
            raise invalid(N_("the default language needs a full set of texts"), f"texts.{default}")
        for language, texts in self.texts.items():
            for key, text in texts.items():
                check_text(language, key, text)
        missing = sorted(set(TEXT_KEYS) - set(base))
        if missing:
            raise invalid(N_("missing {keys}"), f"texts.{default}", keys=", ".join(missing))
        for interest in self.onboarding.interests:
            if default not in interest.title:
                raise invalid(TITLE, f"onboarding.interests[{interest.tag}].title", language=default)
        loyalty = self.loyalty
        for where, items in (("tiers", loyalty.tiers), ("catalog", loyalty.catalog), ("coupons", loyalty.coupons)):
            for item in items:
                if default not in item.title:
                    raise invalid(TITLE, f"loyalty.{where}[{item.key}].title", language=default)
        return self

    @model_validator(mode="after")
    def _check_complete(self) -> Content:
        check_complete(self)
        return self

    @model_validator(mode="after")
    def _check_segments(self) -> Content:
        from flows.segments import check_saved  # the parser needs this model: imported when it is built

        check_saved(self)
        return self

    def texts_for(self, language: str | None) -> Texts:
        """Texts in the customer's language, falling back key by key to the default language."""
        return Texts(self.pick_language(language), self)

    def pick_language(self, language: str | None) -> str:
        code = (language or "").split("-")[0].lower()
        return code if code in self.business.languages else self.business.default_language


def load_content(path: Path | str) -> Content:
    """Read and validate the content file, raising ContentError with file, key and problem."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text("utf-8"), Loader=_YAML_LOADER)
    except FileNotFoundError:
        raise ContentError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ContentError(f"{path}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise ContentError(f"{path}: the file must be a mapping of sections (business, onboarding, texts)")
    try:
        return Content.model_validate(raw, context={"base": path.parent})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = named_path(raw, first["loc"])
        # pydantic's own refusals in the words the console uses (flows/content_refusals.py), in English
        message = (
            first["msg"].removeprefix("Value error, ") if first["type"] == "value_error" else str(refusal(first))
        )
        raise ContentError(f"{path}: {key}: {message}" if key else f"{path}: {message}") from None


# A list item is named by the first of these it has (`sequences[welcome]`), else by its position from 1.
_ITEM_NAMES = ("name", "id", "key", "tag")
_PLAIN_PART = re.compile(r"[\w-]+")


def named_path(raw: object, loc: tuple[int | str, ...]) -> str:
    """pydantic's `sequences.0.steps.1.delay` as the owner reads the file: `sequences[welcome].steps[2].delay`."""
    path = ""
    node: object = raw
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            item = node[part]
            label = next((str(item[k]) for k in _ITEM_NAMES if isinstance(item, dict) and item.get(k)), None)
            path += f"[{label or part + 1}]"
            node = item
        elif isinstance(node, dict) and part in node:
            path += f".{part}" if path else str(part)
            node = node[part]
        elif isinstance(part, int):
            path += f"[{part + 1}]"
            node = None
        elif _PLAIN_PART.fullmatch(part):
            # a key the file does not have (a missing field), or pydantic's union tag like literal['never']
            path += f".{part}" if path else str(part)
            node = None
    return path


def example_content_path() -> Path:
    """The example content shipped with the package (used by the sandbox and as the default)."""
    return Path(__file__).resolve().parents[2] / "bot" / "content" / "example.yaml"
