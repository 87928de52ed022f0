"""Saved segments and where the RFM groups begin."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
    model_validator,
)

from flows.content.base import (
    ContentModel,
    invalid,
)
from flows.i18n import N_
from flows.parsing import MAX_COUNT, MAX_DAYS

# ---- segments ---------------------------------------------------------------------------------------

SegmentName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]


class RfmThresholds(ContentModel):
    """Where the RFM groups begin (see flows/segments.py for the rules in words)."""

    recent_days: int = Field(30, ge=1, le=MAX_DAYS)
    active_days: int = Field(60, ge=1, le=MAX_DAYS)
    lapsing_days: int = Field(180, ge=1, le=MAX_DAYS)
    regular_purchases: int = Field(4, ge=2, le=MAX_COUNT)
    top_spend_percent: int = Field(20, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> RfmThresholds:
        if not self.recent_days < self.active_days < self.lapsing_days:
            raise invalid(N_("recent_days < active_days < lapsing_days, e.g. 30, 60, 180"))
        return self


class SegmentsConfig(ContentModel):
    """Saved segments by name (`/segment vip`, the broadcast wizard) and the RFM thresholds."""

    saved: dict[SegmentName, str] = Field(default_factory=dict)
    rfm: RfmThresholds = Field(default_factory=lambda: RfmThresholds.model_validate({}))
