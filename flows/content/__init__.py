"""The owner's content file (YAML), validated into pydantic models: one module per part of the file."""

from flows.content.base import LANGUAGE_NAMES, LANGUAGES, ContentError, parse_duration
from flows.content.handoff import FaqEntry, Handoff
from flows.content.loyalty import CatalogEntry, CouponCampaign, LoyaltyRules, Tier
from flows.content.model import Content, example_content_path, load_content
from flows.content.sequences import SequenceDef, Step, StepButton
from flows.content.texts import TEXT_KEYS, Html, Texts

__all__ = [
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "TEXT_KEYS",
    "CatalogEntry",
    "Content",
    "ContentError",
    "CouponCampaign",
    "FaqEntry",
    "Handoff",
    "Html",
    "LoyaltyRules",
    "SequenceDef",
    "Step",
    "StepButton",
    "Texts",
    "Tier",
    "example_content_path",
    "load_content",
    "parse_duration",
]
