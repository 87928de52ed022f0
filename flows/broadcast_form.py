"""The broadcast wizard as one form (the console): every answer checked at once, then one broadcast.

The same rules as the Telegram wizard, through the same flows: the segment parser and its live count
(flows/segments.py), the button lines and the moment to send (flows/broadcast_input.py), the coupon
campaigns with their stock and the confirming, auditing and queuing (flows/broadcasts.py). What the
form adds is the message typed as Telegram HTML (checked by flows/telegram_html.py, where the wizard
gets Telegram's own rendering of what the owner sent) and a one-time key that makes a repeated submit
return the broadcast the first one made.

Problems come back per field: a sentence to translate (`message`, marked for the catalogue, filled
with `values`) and, where a parser explains more, its own words (`detail`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.broadcast_input import ButtonSpec, InputError, parse_limit, parse_photo, parse_when
from flows.broadcasts import Broadcasts, CouponChoice, Plan
from flows.i18n import N_
from flows.markup import Html
from flows.media import Media, ref_id
from flows.messenger import Outgoing
from flows.parsing import ParseError
from flows.segments import Segment, SegmentError, SegmentView
from flows.team_text import TeamError
from flows.telegram_html import CAPTION_LIMIT, TEXT_LIMIT, Checked, MarkupError, check_markup
from storage.broadcasts import Broadcast

KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SAMPLE = 5
MARKUP_PROBLEMS = {
    "unknown_tag": N_(
        "{tag} is not a tag Telegram shows. Use b, i, u, s, a, code, pre, blockquote or tg-spoiler."
    ),
    "unclosed": N_("{tag} is not closed. Close every tag, and write &lt; for a “<” that starts no tag."),
    "unexpected_end": N_("{tag} closes a tag that was never opened."),
    "mismatched": N_("{tag} closes the wrong tag: {expected} was expected first."),
    "inside_code": N_("{tag} cannot go inside code: Telegram shows code as it is."),
    "bad_link": N_("A link must start with https://, http://, tg:// or mailto: (not “{href}”)."),
    "empty": N_("Write the message (or add a photo)."),
    "too_long": N_("The message is {length} characters; Telegram allows {limit} here."),
}


@dataclass(frozen=True)
class BroadcastRequest:
    """The form as submitted: every field as typed."""

    segment: str = ""
    text: str = ""  # Telegram HTML
    photo: str = ""  # the photo or video: an https link, an upload (`media:<id>`), or empty
    media_type: str = ""  # what `photo` is: photo (also when empty) or video
    buttons: str = ""  # `Label | target` lines
    coupon: str = ""  # a campaign key, or empty
    coupon_limit: str = ""  # empty: no limit
    send_at: str = ""  # local time of the business ("2026-01-05T18:30" from the page), empty: now
    key: str = ""  # the form's one-time key


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field."""

    field: str
    message: str  # a sentence from the catalogue (English msgid), filled with `values` after translating
    values: Mapping[str, object] = dataclasses.field(default_factory=dict)
    detail: Html | TeamError | None = None  # a parser's own explanation (Telegram HTML), in the reader's words


class Invalid(ValueError):
    """The form cannot be sent as it is; one problem per field at most."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__([p.field for p in problems])
        self.problems = problems

    def of(self, name: str) -> Problem | None:
        return next((p for p in self.problems if p.field == name), None)


@dataclass(frozen=True)
class Audience:
    """The live count under the segment field: the audience, everyone reachable, a few of them, or a problem."""

    view: SegmentView | None
    problem: Problem | None = None


@dataclass(frozen=True)
class Preview:
    """The message as customers will see it: checked markup, the photo, the buttons, and its size."""

    markup: Html
    photo: str | None
    buttons: list[ButtonSpec]
    length: int
    limit: int
    video: str | None = None

    @property
    def message(self) -> dict[str, Any]:
        """What a broadcast stores as its message."""
        return {"text": str(self.markup), "photo": self.photo, "video": self.video}


@dataclass(frozen=True)
class Ready:
    """A request that passed: what will be stored, the audience now, and how the sending will go."""

    segment: Segment
    audience: int
    fields: dict[str, Any]
    plan: Plan
    preview: Preview


@dataclass
class BroadcastForm:
    """The console's broadcast form over the wizard's flows."""

    broadcasts: Broadcasts
    media: Media | None = None  # uploads the form may name (`media:<id>`)

    async def audience(self, expression: str) -> Audience:
        """The segment's size right now, everyone reachable, and a few random customers in it."""
        try:
            return Audience(await self.broadcasts.segments.view(expression, SAMPLE))
        except SegmentError as exc:
            return Audience(None, _segment_problem(exc))

    async def coupons(self) -> list[CouponChoice]:
        """The campaigns a broadcast can carry, with the stock left."""
        return await self.broadcasts.coupon_choices()

    def preview(self, request: BroadcastRequest) -> Preview | Invalid:
        """The message, photo and buttons as Telegram will show them, or what is wrong with them."""
        problems: list[Problem] = []
        media = self._media(request, problems)
        checked = self._markup(request, media, problems)
        buttons = self._buttons(request, problems)
        if problems or checked is None:
            return Invalid(problems)
        if request.coupon:
            buttons = self.broadcasts.with_coupon_button(buttons)
        kind, value = media or ("", None)
        photo, video = (value, None) if kind == "photo" else (None, value)
        limit = CAPTION_LIMIT if media else TEXT_LIMIT
        return Preview(checked.markup, photo, buttons, checked.length, limit, video)

    async def trial(self, request: BroadcastRequest) -> Outgoing | Invalid:
        """The message as a customer would get it, for "send to me": only the message's fields checked (the
        audience, coupon stock and schedule are the broadcast's, not the message's)."""
        preview = self.preview(request)
        if isinstance(preview, Invalid):
            return preview
        missing = await self._missing_upload(preview)
        if missing is not None:
            return Invalid([missing])
        return self.broadcasts.render_message(0, preview.message, preview.buttons)

    async def check(self, request: BroadcastRequest) -> Ready:
        """Every field checked as the wizard checks its answers; `Invalid` with each field's problem."""
        problems: list[Problem] = []
        segment = self._segment(request, problems)
        preview = self.preview(request)
        if isinstance(preview, Invalid):
            problems.extend(preview.problems)
        coupon, limit = await self._coupon(request, problems)
        send_at = self._when(request, problems)
        if isinstance(preview, Preview) and (missing := await self._missing_upload(preview)) is not None:
            problems.append(missing)
        if problems or segment is None or isinstance(preview, Invalid):
            raise Invalid(problems)
        audience = await self.broadcasts.segments.count(segment)
        if not audience:
            raise Invalid(
                [Problem("segment", N_("Nobody is in this segment right now: the broadcast would reach no one."))]
            )
        fields = {
            "segment": segment.name or segment.expression,
            "message": preview.message,
            "buttons": [b.to_json() for b in preview.buttons],
            "coupon": coupon,
            "coupon_limit": limit,
            "send_at": send_at,
        }
        return Ready(segment, audience, fields, self.broadcasts.plan(audience, send_at), preview)

    async def submit(self, author: int, request: BroadcastRequest) -> tuple[Broadcast, bool]:
        """Check and create the broadcast (queued now, or scheduled); a repeated submit of the same form
        returns the broadcast the first made. (broadcast, whether it is new); `Invalid` on a problem."""
        if not KEY.match(request.key):
            raise Invalid([Problem("key", N_("This form is out of date. Reload the page and send it again."))])
        earlier = await self.broadcasts.repo.by_request_key(request.key)
        if earlier is not None:
            if earlier.created_by != author:
                raise Invalid([Problem("key", N_("This form is out of date. Reload the page and send it again."))])
            return earlier, False
        checked = await self.check(request)
        return await self.broadcasts.create(author, checked.segment, checked.fields, request.key)

    # ---- the fields -------------------------------------------------------------------------------

    def _segment(self, request: BroadcastRequest, problems: list[Problem]) -> Segment | None:
        if not request.segment.strip():  # the wizard's "everyone" is a choice, never a field left empty
            problems.append(Problem("segment", N_("Write who gets it: a segment, or “everyone”.")))
            return None
        try:
            return self.broadcasts.segments.parse(request.segment)
        except SegmentError as exc:
            problems.append(_segment_problem(exc))
            return None

    def _media(self, request: BroadcastRequest, problems: list[Problem]) -> tuple[str, str] | None:
        """(photo or video, the link or upload), or None without one."""
        kind = "video" if request.media_type == "video" else "photo"
        if ref_id(request.photo.strip()) is not None:
            return kind, request.photo.strip()
        try:
            link = parse_photo(request.photo)
        except InputError as exc:
            problems.append(
                Problem(
                    "photo",
                    N_("A photo or a video is a link starting with https:// or a file you upload."),
                    detail=exc,
                )
            )
            return None
        return (kind, link) if link else None

    async def _missing_upload(self, preview: Preview) -> Problem | None:
        """An upload the message names must be in the database, and of the kind chosen."""
        value = preview.video or preview.photo
        if self.media is None or ref_id(value) is None:
            return None
        stored = await self.media.get(value)
        if stored is None or stored.kind != ("video" if preview.video else "photo"):
            return Problem("photo", N_("There is no such uploaded file for this media type: upload it again."))
        return None

    def _markup(
        self, request: BroadcastRequest, media: tuple[str, str] | None, problems: list[Problem]
    ) -> Checked | None:
        try:
            return check_markup(request.text, limit=CAPTION_LIMIT if media else TEXT_LIMIT, required=media is None)
        except MarkupError as exc:
            problems.append(Problem("text", MARKUP_PROBLEMS[exc.code], exc.values))
            return None

    def _buttons(self, request: BroadcastRequest, problems: list[Problem]) -> list[ButtonSpec]:
        if not request.buttons.strip():
            return []
        try:
            return self.broadcasts.check_buttons(request.buttons)
        except InputError as exc:
            problems.append(Problem("buttons", N_("These buttons cannot be made."), detail=exc))
            return []

    async def _coupon(self, request: BroadcastRequest, problems: list[Problem]) -> tuple[str | None, int | None]:
        if not request.coupon:
            if request.coupon_limit.strip():
                problems.append(
                    Problem("coupon_limit", N_("A limit needs a coupon: pick one, or clear the limit."))
                )
            elif re.search(r"\|\s*coupon\s*$", request.buttons, re.IGNORECASE | re.MULTILINE):
                problems.append(Problem("coupon", N_("A coupon button needs a coupon: pick one.")))
            return None, None
        choice = next((c for c in await self.coupons() if c.key == request.coupon), None)
        if choice is None:
            problems.append(Problem("coupon", N_("That coupon is no longer in the content.")))
            return None, None
        if choice.left == 0:
            problems.append(Problem("coupon", N_("“{title}” has no coupons left."), {"title": choice.title}))
            return None, None
        if not request.coupon_limit.strip():
            return choice.key, None
        try:
            return choice.key, parse_limit(request.coupon_limit)
        except ParseError as exc:
            problems.append(
                Problem("coupon_limit", N_("Write a whole number from 1, or leave it empty."), detail=exc)
            )
            return choice.key, None

    def _when(self, request: BroadcastRequest, problems: list[Problem]) -> datetime | None:
        if not request.send_at.strip():
            return None
        broadcasts = self.broadcasts
        try:
            return parse_when(request.send_at, broadcasts.clock.now(), broadcasts.zone)
        except InputError as exc:
            problems.append(
                Problem(
                    "send_at",
                    N_("Pick a moment in the future, within a year (time in {zone})."),
                    {"zone": str(broadcasts.zone)},
                    detail=exc,
                )
            )
            return None


def _segment_problem(exc: SegmentError) -> Problem:
    return Problem("segment", N_("This segment cannot be read."), detail=exc)
