"""Sequences (triggers, timed steps, buttons, exits) and the dates that start them."""

from __future__ import annotations

from datetime import date, timedelta
from datetime import time as dt_time
from typing import Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from flows import telegram_html
from flows.content.base import (
    BoundedDate,
    ContentModel,
    Invalid,
    Key,
    LocalText,
    SequenceName,
    Tag,
    invalid,
    parse_duration,
    resolve_media,
)
from flows.content_refusals import TIME
from flows.i18n import N_
from flows.parsing import MAX_COUNT, MAX_DAYS


class StepButton(ContentModel):
    type: Literal["link", "more", "interested", "stop", "tag", "sequence"]
    text: LocalText
    url: str | None = None
    tag: Tag | None = None
    sequence: SequenceName | None = None

    @model_validator(mode="after")
    def _needs(self) -> StepButton:
        needed = {"link": "url", "tag": "tag", "sequence": "sequence"}.get(self.type)
        if needed and not getattr(self, needed):
            raise invalid(N_("a {kind} button needs {field}"), kind=self.type, field=needed)
        if self.url and not self.url.startswith(("https://", "http://", "tg://")):
            raise invalid(N_("url must start with https://"))
        return self


# Room kept for the coupon line a step with `coupon` gets (the coupon_issued text) within Telegram's limits.
COUPON_LINE_ROOM = 300


class Step(ContentModel):
    delay: timedelta = timedelta(0)
    at: dt_time | None = None  # local time of day to send at, e.g. "10:00"
    text: LocalText
    photo: str | None = None
    coupon: str | None = None  # a coupon campaign: each customer gets their own code with this step
    buttons: list[StepButton] = Field(default_factory=list)

    @field_validator("delay", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)  # type: ignore[arg-type]

    @field_validator("photo")
    @classmethod
    def _photo_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        return resolve_media(value, info)

    @field_validator("at", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):  # YAML reads 10:00 as sexagesimal 600
            if not 0 <= value < 24 * 60:  # 25:00, or a number that is no time at all
                raise invalid(TIME)
            return dt_time(value // 60, value % 60)
        return value

    @model_validator(mode="after")
    def _fits_telegram(self) -> Step:
        limit = (1024 if self.photo else 4096) - (COUPON_LINE_ROOM if self.coupon else 0)
        for language, text in self.text.items():
            if len(text) > limit:
                raise invalid(
                    N_("the text is {length} characters; {limit} fit here with the coupon line")
                    if self.coupon
                    else N_("the text is {length} characters; {limit} fit here"),
                    f"text.{language}",
                    length=len(text),
                    limit=limit,
                )
            for problem in telegram_html.read(text).problems:  # Telegram would refuse the whole message
                raise Invalid(problem.said(), f"text.{language}")
        return self


class Trigger(ContentModel):
    event: Literal["start", "tag", "purchase", "inactivity", "birthday", "holiday", "manual"]
    tag: Tag | None = None  # tag: the tag that starts it; holiday: only customers with this tag (optional)
    category: str | None = None
    min_purchases: int | None = Field(None, ge=1, le=MAX_COUNT)
    max_purchases: int | None = Field(None, ge=1, le=MAX_COUNT)
    # inactivity: repeat buyers fall asleep after twice their own usual interval; one-off buyers after
    # `days` without a purchase (30 when not set).
    days: int | None = Field(None, ge=1, le=MAX_DAYS)
    holiday: Key | None = None  # holiday: the name of a date under `dates:`

    @model_validator(mode="after")
    def _tag_trigger(self) -> Trigger:
        if self.event == "tag" and not self.tag:
            raise invalid(N_("a tag trigger needs tag"))
        if self.event == "holiday" and not self.holiday:
            raise invalid(N_("a holiday trigger needs holiday (the name of a date under dates:)"))
        return self


class Exit(ContentModel):
    on_purchase: bool = True
    on_tags: list[Tag] = Field(default_factory=list)


class SequenceDef(ContentModel):
    name: SequenceName
    title: str | None = None
    trigger: Trigger
    steps: list[Step] = Field(min_length=1)
    exit: Exit = Field(default_factory=Exit)
    reentry: Literal["never"] | timedelta = "never"

    @field_validator("reentry", mode="before")
    @classmethod
    def _reentry(cls, value: object) -> object:
        if value in (None, "never"):
            return "never"
        text = str(value).removeprefix("after").strip()
        return value if isinstance(value, timedelta) else parse_duration(text)


class DateDef(ContentModel):
    """A date that starts its sequences (trigger `{event: holiday, holiday: <name>}`) in the daily run.

    Every year on `month`/`day` (29 February: on the 28th in other years), or once on `date`;
    `days_before` starts it earlier, e.g. an offer three days before Valentine's day.
    """

    name: Key
    title: str | None = None
    month: int | None = Field(None, ge=1, le=12)
    day: int | None = Field(None, ge=1, le=31)
    on_date: BoundedDate | None = Field(None, alias="date")
    days_before: int = Field(0, ge=0, le=60)

    @model_validator(mode="after")
    def _one_way(self) -> DateDef:
        yearly = self.month is not None or self.day is not None
        if yearly == (self.on_date is not None) or (yearly and (self.month is None or self.day is None)):
            raise invalid(N_("give either month and day (every year) or date (once), e.g. month: 3, day: 8"))
        if yearly:
            try:
                date(2000, self.month, self.day)  # type: ignore[arg-type]  # 2000 is a leap year
            except ValueError:
                raise invalid(
                    N_("{day}.{month} is not a day of the year"), day=str(self.day), month=str(self.month)
                ) from None
        return self

    def falls_on(self, day: date) -> bool:
        """Whether the date starts its sequences on `day` (its own day minus `days_before`)."""
        target = day + timedelta(days=self.days_before)
        if self.on_date is not None:
            return target == self.on_date
        if (target.month, target.day) == (self.month, self.day):
            return True
        leap = target.year % 4 == 0 and (target.year % 100 != 0 or target.year % 400 == 0)
        return (self.month, self.day) == (2, 29) and not leap and (target.month, target.day) == (2, 28)
