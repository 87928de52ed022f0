"""What the owner types in the broadcast wizard: button lines and the moment to send. Pure functions.

A mistake raises `InputError`, whose text is translated where it is shown (`error.html(tr)`, flows/team_text.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from flows.i18n import N_, Translator
from flows.markup import Html
from flows.parsing import shorten
from flows.team_text import ENGLISH, TeamError, TeamText

MAX_BUTTONS = 8
MAX_LABEL = 40
ACTIONS = {
    "interested": "interested",
    "interest": "interested",
    "lead": "interested",
    "manager": "interested",
    "coupon": "coupon",
}
_BUTTON_HELP = TeamText(
    N_(
        "One button per line, <code>Label | target</code>:\n"
        "<code>Book a class | https://example.com/book</code> — a link\n"
        "<code>I'm interested | interested</code> — hands the customer to a manager (a lead)\n"
        "<code>Get my coupon | coupon</code> — issues the coupon you pick next"
    )
)
BUTTON_HELP = _BUTTON_HELP.html()  # in English; `button_help(tr)` in the reader's language


def button_help(tr: Translator = ENGLISH) -> Html:
    """How button lines are written, in `tr`'s language."""
    return _BUTTON_HELP.html(tr)


class InputError(TeamError):
    """A line or a date the wizard cannot use; the message (HTML) says what to write instead."""

    @property
    def markup(self) -> Html:
        """The message as HTML in English (`html(tr)` in the reader's language)."""
        return self.html()


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
        raise InputError(TeamText(N_("No buttons found.\n{help}"), help=_BUTTON_HELP))
    if len(lines) > MAX_BUTTONS:
        raise InputError(
            TeamText.ngettext(
                "At most {n} button, please ({lines} lines).",
                "At most {n} buttons, please ({lines} lines).",
                MAX_BUTTONS,
                lines=len(lines),
            )
        )
    for number, line in enumerate(lines, 1):
        # The first bar separates: a link may contain one, a label rarely does.
        label, sep, target = (part.strip() for part in line.partition("|"))
        if not sep or not label:
            raise InputError(
                TeamText(
                    N_("Line {number} <code>{line}</code>: write <code>Label | target</code>.\n{help}"),
                    number=number,
                    line=shorten(line),
                    help=_BUTTON_HELP,
                )
            )
        if len(label) > MAX_LABEL:
            raise InputError(
                TeamText(
                    N_("Line {number}: the label is {length} characters; keep it to {limit}."),
                    number=number,
                    length=len(label),
                    limit=MAX_LABEL,
                )
            )
        if target.lower() in ACTIONS:
            buttons.append(ButtonSpec(label, action=ACTIONS[target.lower()]))
        elif re.match(r"^(https?|tg)://\S+$", target) and len(target) <= 512:
            buttons.append(ButtonSpec(label, url=target))
        else:
            raise InputError(
                TeamText(
                    N_(
                        "Line {number}: <code>{target}</code> is neither a link (https://…) nor "
                        "<code>interested</code> or <code>coupon</code>."
                    ),
                    number=number,
                    target=shorten(target),
                )
            )
    if sum(b.action == "coupon" for b in buttons) > 1:
        raise InputError(TeamText(N_("One coupon button is enough.")))
    return buttons


_FORMATS = (
    (re.compile(r"^(\d{1,2}):(\d{2})$"), "time"),
    (re.compile(r"^(?:tomorrow|завтра)\s+(\d{1,2}):(\d{2})$"), "tomorrow"),
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\s+(\d{1,2}):(\d{2})$"), "dm"),
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})\s+(\d{1,2}):(\d{2})$"), "dmy"),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})$"), "iso"),
)
_WHEN_HELP = TeamText(
    N_(
        "Send a date and time like <code>25.12 18:00</code>, <code>2026-12-25 18:00</code>, "
        "<code>tomorrow 10:00</code> or just <code>18:00</code>"
    )
)
WHEN_HELP = _WHEN_HELP.html()  # in English; `when_help(tr)` in the reader's language


def when_help(tr: Translator = ENGLISH) -> Html:
    """How a moment to send is written, in `tr`'s language."""
    return _WHEN_HELP.html(tr)


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
                TeamText(
                    N_("<code>{text}</code> is not a real date and time. {help}."),
                    text=shorten(text),
                    help=_WHEN_HELP,
                )
            ) from None
        if moment <= now:
            raise InputError(
                TeamText(
                    N_("{moment} has already passed. {help}."), moment=f"{moment:%d.%m.%Y %H:%M}", help=_WHEN_HELP
                )
            )
        if moment > now + timedelta(days=366):
            raise InputError(TeamText(N_("That is more than a year ahead; pick a closer date.")))
        return moment
    raise InputError(
        TeamText(N_("I could not read <code>{text}</code>. {help}."), text=shorten(text), help=_WHEN_HELP)
    )


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
