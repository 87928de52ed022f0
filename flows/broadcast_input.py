"""What the owner types in the broadcast wizard: button lines and the moment to send. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from flows.markup import Html, html
from flows.parsing import parse_whole, shorten

MAX_BUTTONS = 8
MAX_COUPON_LIMIT = 1_000_000
MAX_LABEL = 40
ACTIONS = {
    "interested": "interested",
    "interest": "interested",
    "lead": "interested",
    "manager": "interested",
    "coupon": "coupon",
}
BUTTON_HELP = html(
    "One button per line, <code>Label | target</code>:\n"
    "<code>Book a class | https://example.com/book</code> — a link\n"
    "<code>I'm interested | interested</code> — hands the customer to a manager (a lead)\n"
    "<code>Get my coupon | coupon</code> — issues the coupon you pick next"
)


class InputError(ValueError):
    """A line or a date the wizard cannot use; the message (HTML) says what to write instead."""

    def __init__(self, markup: Html) -> None:
        super().__init__(markup)
        self.markup = markup


class NoCampaigns(InputError):
    """A coupon button, but the content has no coupon campaign to give."""


@dataclass(frozen=True)
class ButtonSpec:
    """A button as the owner wrote it: a link, or an action the bot performs when pressed."""

    text: str
    url: str | None = None
    action: str | None = None  # interested | coupon

    def to_json(self) -> dict[str, str]:
        return {
            "text": self.text,
            **({"url": self.url} if self.url else {}),
            **({"action": self.action} if self.action else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> ButtonSpec:
        return cls(data["text"], data.get("url"), data.get("action"))


def parse_buttons(text: str) -> list[ButtonSpec]:
    """`Label | https://…`, `Label | interested` or `Label | coupon`, one per line."""
    buttons: list[ButtonSpec] = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(html("No buttons found.\n{}", BUTTON_HELP))
    if len(lines) > MAX_BUTTONS:
        raise InputError(html("At most {} buttons, please ({} lines).", MAX_BUTTONS, len(lines)))
    for number, line in enumerate(lines, 1):
        # The first bar separates: a link may contain one, a label rarely does.
        label, sep, target = (part.strip() for part in line.partition("|"))
        if not sep or not label:
            raise InputError(
                html(
                    "Line {} <code>{}</code>: write <code>Label | target</code>.\n{}",
                    number,
                    shorten(line),
                    BUTTON_HELP,
                )
            )
        if len(label) > MAX_LABEL:
            raise InputError(
                html("Line {}: the label is {} characters; keep it to {}.", number, len(label), MAX_LABEL)
            )
        if target.lower() in ACTIONS:
            buttons.append(ButtonSpec(label, action=ACTIONS[target.lower()]))
        elif re.match(r"^(https?|tg)://\S+$", target) and len(target) <= 512:
            buttons.append(ButtonSpec(label, url=target))
        else:
            raise InputError(
                html(
                    "Line {}: <code>{}</code> is neither a link (https://…) nor "
                    "<code>interested</code> or <code>coupon</code>.",
                    number,
                    shorten(target),
                )
            )
    if sum(b.action == "coupon" for b in buttons) > 1:
        raise InputError(Html("One coupon button is enough."))
    return buttons


def parse_limit(text: str | None, what: str = "number of coupons") -> int:
    """How many coupons a broadcast may give at most: a whole number from 1; `ParseError` otherwise (naming
    `what`, in the reader's language)."""
    return parse_whole(text, minimum=1, maximum=MAX_COUPON_LIMIT, what=what)


def parse_photo(text: str) -> str | None:
    """A photo for a broadcast given as a link (the console's form): https only; None when empty.

    Never a path: the sender would read a local file with that name and send it to every recipient."""
    link = text.strip()
    if not link:
        return None
    if not re.match(r"^https://[^\s/]+\.[^\s]+$", link) or len(link) > 1024:
        raise InputError(
            Html("A photo is a link starting with https:// (for example, to the picture on your site).")
        )
    return link


_FORMATS = (
    (re.compile(r"^(\d{1,2}):(\d{2})$"), "time"),
    (re.compile(r"^(?:tomorrow|завтра)\s+(\d{1,2}):(\d{2})$"), "tomorrow"),
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\s+(\d{1,2}):(\d{2})$"), "dm"),
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})\s+(\d{1,2}):(\d{2})$"), "dmy"),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ t](\d{1,2}):(\d{2})$"), "iso"),  # lowered: "T" is "t"
)
WHEN_HELP = html(
    "Send a date and time like <code>25.12 18:00</code>, <code>2026-12-25 18:00</code>, <code>tomorrow 10:00</code> or just <code>18:00</code>"
)


def parse_when(text: str, now: datetime, zone: tzinfo) -> datetime:
    """A moment the owner typed, in the business's zone, as an aware datetime; must be in the next year."""
    cleaned = " ".join(text.lower().split())
    local_now = now.astimezone(zone)
    for pattern, kind in _FORMATS:
        match = pattern.match(cleaned)
        if match is None:
            continue
        numbers = [int(n) for n in match.groups()]
        try:
            moment = _moment(kind, numbers, local_now, zone)
        except ValueError:
            raise InputError(
                html("<code>{}</code> is not a real date and time. {}.", shorten(text), WHEN_HELP)
            ) from None
        if moment <= now:
            raise InputError(html("{:%d.%m.%Y %H:%M} has already passed. {}.", moment, WHEN_HELP))
        if moment > now + timedelta(days=366):
            raise InputError(Html("That is more than a year ahead; pick a closer date."))
        return moment
    raise InputError(html("I could not read <code>{}</code>. {}.", shorten(text), WHEN_HELP))


def _moment(kind: str, n: list[int], local_now: datetime, zone: tzinfo) -> datetime:
    today = local_now.date()
    if kind in ("time", "tomorrow"):
        at = time(n[0], n[1])
        day = today + timedelta(days=1) if kind == "tomorrow" else today
        moment = datetime.combine(day, at, tzinfo=zone)
        if kind == "time" and moment <= local_now:  # "18:00" after six: tomorrow
            moment = datetime.combine(today + timedelta(days=1), at, tzinfo=zone)
        return moment
    if kind == "dm":
        day = date(today.year, n[1], n[0])
        if day < today:  # "05.01" typed in December: next January
            day = date(today.year + 1, n[1], n[0])
        return datetime.combine(day, time(n[2], n[3]), tzinfo=zone)
    if kind == "dmy":
        return datetime.combine(date(n[2], n[1], n[0]), time(n[3], n[4]), tzinfo=zone)
    return datetime.combine(date(n[0], n[1], n[2]), time(n[3], n[4]), tzinfo=zone)
