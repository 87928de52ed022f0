"""Warm-up sequences: enrol on triggers, queue each step when due, leave on exit conditions.

Triggers and exits are read from the append-only events table behind a cursor that moves in the same
transaction as the enrolments it causes, so a crash can neither lose a trigger nor apply it twice.
Steps are queued in the outbox with the key `seq:<enrolment>:<step>`: queued once, sent once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Protocol

from flows.clock import Clock
from flows.content import Content, SequenceDef, Step, StepButton
from flows.markup import Html, html, trusted
from flows.messenger import Button, Outgoing
from storage.customers import Customer, CustomersRepo, add_tag_in
from storage.date_triggers import enroll_everyone, fell_asleep
from storage.db import Database, Row, Tx
from storage.enrollments import (
    Enrollment,
    EnrollmentsRepo,
    create_enrollment,
    end_enrollment,
    enrollment_by_id,
    last_enrollment,
    open_enrollments,
    step_queued,
)
from storage.events import append_click, append_event, events_after, last_event_id
from storage.kv import kv_get, kv_set
from storage.outbox import NewMessage, enqueue
from storage.timefmt import from_db, to_db

CURSOR_KEY = "sequences.event_cursor"
WINBACK_KEY = "sequences.winback_checked_until"  # the daily win-back looks at who fell asleep since then
DEFAULT_ONE_OFF_DAYS = 30  # one-off buyers fall asleep this long after their purchase (trigger `days`)
WATCHED_EVENTS = ("started", "tag_added", "purchase", "opted_out", "blocked", "forgotten")
ButtonData = Callable[[int, int, int], str]  # (enrolment, step, button) → callback data


def due_time(base: datetime, step: Step, zone: tzinfo) -> datetime:
    """When a step is due: `delay` after `base`, moved to the step's local `at` time if it has one.

    With a delay of a day or more, `at` picks the time on that day; with a shorter delay, the next
    time the clock shows `at` after the delay.
    """
    moment = base + step.delay
    if step.at is None:
        return moment
    local = moment.astimezone(zone)
    target = datetime.combine(local.date(), step.at, tzinfo=zone)
    if step.delay < timedelta(days=1) and target < local:
        target = datetime.combine(local.date() + timedelta(days=1), step.at, tzinfo=zone)
    return target.astimezone(base.tzinfo)


def daily_due_time(base: datetime, step: Step, zone: tzinfo) -> datetime:
    """For date triggers (birthdays, win-back, holidays), started by the daily run: `at` on that very day,
    or at once when the run is already past it — never the next day, which `due_time` would pick.
    """
    moment = base + step.delay
    if step.at is None or step.delay >= timedelta(days=1):
        return due_time(base, step, zone)
    target = datetime.combine(moment.astimezone(zone).date(), step.at, tzinfo=zone).astimezone(base.tzinfo)
    return max(target, moment)


def birthday_today(customer_day: int, customer_month: int, today: date) -> bool:
    """29 February birthdays are celebrated on 28 February in other years."""
    if (customer_month, customer_day) == (today.month, today.day):
        return True
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    return (customer_month, customer_day) == (2, 29) and not leap and (today.month, today.day) == (2, 28)


class StepCoupons(Protocol):
    async def coupon_line_in(
        self, tx: Tx, campaign: str, customer: Customer, origin: str, key: str, now: datetime
    ) -> Html | None:
        """Issue (once per key) a coupon and return the line that shows it, or None if none is left."""
        ...


SEQUENCE_GONE = "removed"  # why an enrolment ended whose sequence left the content (removed or re-keyed)


@dataclass(frozen=True)
class ButtonOutcome:
    action: str  # more | interested | left | tagged | enrolled | link | expired
    sequence: str | None = None
    detail: str | None = None


@dataclass
class Sequences:
    db: Database
    enrollments: EnrollmentsRepo
    customers: CustomersRepo
    content: Content
    clock: Clock
    zone: tzinfo
    button_data: ButtonData
    coupons: StepCoupons | None = None  # wired once the loyalty flows exist
    earliest_send: Callable[[datetime], datetime] | None = None  # the sender's quiet hours

    # ---- triggers and exits -------------------------------------------------------------------

    async def process_events(self, limit: int = 1000) -> int:
        """Apply new events (triggers and exits) once each; returns how many were read."""
        async with self.db.transaction() as tx:
            cursor = int(await kv_get(tx, CURSOR_KEY) or 0)
            newest = await last_event_id(tx)
            rows = await events_after(tx, cursor, WATCHED_EVENTS, limit)
            for row in rows:
                await self._apply(tx, row)
            moved = rows[-1]["id"] if len(rows) == limit else newest
            if moved != cursor:
                await kv_set(tx, CURSOR_KEY, str(moved))
        return len(rows)

    async def _apply(self, tx: Tx, event: Row) -> None:
        kind, customer_id = event["kind"], event["customer_id"]
        data: dict[str, Any] = json.loads(event["data"]) if event["data"] else {}
        now = self.clock.now()
        if kind in ("opted_out", "blocked", "forgotten"):
            for enrollment in await open_enrollments(tx, customer_id):
                await end_enrollment(tx, enrollment.id, "exited", kind, now)
            return
        happened = from_db(event["created_at"]) or now  # steps are timed from the trigger, not from this tick
        if kind == "purchase":
            for enrollment in await open_enrollments(tx, customer_id):
                seq = self.content.sequence(enrollment.sequence)
                # A purchase read late (the daily run enrolled first) cannot end what started after it.
                if (seq is None or seq.exit.on_purchase) and enrollment.started_at <= happened:
                    await end_enrollment(tx, enrollment.id, "exited", "purchased", now)
        if kind == "tag_added":
            for enrollment in await open_enrollments(tx, customer_id):
                seq = self.content.sequence(enrollment.sequence)
                if seq is not None and data.get("tag") in seq.exit.on_tags:
                    await end_enrollment(tx, enrollment.id, "exited", f"tag {data['tag']}", now)
        for seq in self.content.sequences:
            if self._triggered_by(seq, kind, data):
                await self._enroll(tx, customer_id, seq, happened)

    @staticmethod
    def _triggered_by(seq: SequenceDef, kind: str, data: dict[str, Any]) -> bool:
        trigger = seq.trigger
        if trigger.event == "start":
            return kind == "started" and bool(data.get("first"))
        if trigger.event == "tag":
            return kind == "tag_added" and data.get("tag") == trigger.tag
        if trigger.event == "purchase" and kind == "purchase":
            number = int(data.get("number", 1))
            categories = data.get("categories") or []
            return (
                (trigger.category is None or trigger.category in categories)
                and (trigger.min_purchases is None or number >= trigger.min_purchases)
                and (trigger.max_purchases is None or number <= trigger.max_purchases)
            )
        return False

    async def _enroll(
        self, tx: Tx, customer_id: int, seq: SequenceDef, now: datetime, *, daily: bool = False
    ) -> int | None:
        """Start a sequence for a customer if its re-entry rule allows; returns the enrolment id."""
        customer = await tx.fetch_one(
            "SELECT tg_id, opted_out, unreachable FROM customers WHERE id = ?", (customer_id,)
        )
        if customer is None or customer["tg_id"] is None or customer["opted_out"] or customer["unreachable"]:
            return None
        last = await last_enrollment(tx, customer_id, seq.name)
        if last is not None:
            if last.state in ("active", "paused") or seq.reentry == "never":
                return None
            assert isinstance(seq.reentry, timedelta)
            if now - (last.ended_at or last.started_at) < seq.reentry:
                return None
        timing = daily_due_time if daily else due_time
        enrollment_id = await create_enrollment(
            tx, customer_id, seq.name, timing(now, seq.steps[0], self.zone), now
        )
        await append_event(tx, customer_id, "enrolled", now, {"sequence": seq.name})
        return enrollment_id

    async def enroll(self, customer_id: int, name: str) -> int | None:
        """Start a sequence by hand (a button, a broadcast, the daily job)."""
        seq = self.content.sequence(name)
        if seq is None:
            raise ValueError(f"unknown sequence {name!r}")
        async with self.db.transaction() as tx:
            return await self._enroll(tx, customer_id, seq, self.clock.now())

    async def daily(self, today: date) -> int:
        """Date-driven triggers for one local day: birthdays, customers who fell asleep, holidays."""
        started = 0
        birthday = [seq for seq in self.content.sequences if seq.trigger.event == "birthday"]
        if birthday:
            for customer_id in await self.customers.birthdays_on(today):
                for seq in birthday:
                    async with self.db.transaction() as tx:
                        started += (
                            await self._enroll(tx, customer_id, seq, self.clock.now(), daily=True) is not None
                        )
        started += await self.win_back()
        started += await self.holidays(today)
        return started

    async def win_back(self) -> int:
        """Start the inactivity sequences for the customers who fell asleep since the last run.

        Asleep: no purchase for twice their own usual interval (at least 7 days; see storage.dialect.sleeps_at),
        or the trigger's `days` after a single purchase. Each sleep starts the sequence once (its re-entry
        rule still applies); a crash before the mark moves only repeats the check, which `_enroll` refuses.
        The first run ever takes everyone asleep at that moment.
        """
        sequences = [seq for seq in self.content.sequences if seq.trigger.event == "inactivity"]
        now = self.clock.now()
        started = 0
        async with self.db.transaction() as tx:
            since = from_db(await kv_get(tx, WINBACK_KEY))
        for seq in sequences:
            for customer_id in await fell_asleep(self.db, since, now, seq.trigger.days or DEFAULT_ONE_OFF_DAYS):
                async with self.db.transaction() as tx:
                    started += await self._enroll(tx, customer_id, seq, now, daily=True) is not None
        async with self.db.transaction() as tx:
            await kv_set(tx, WINBACK_KEY, to_db(now))
        return started

    async def holidays(self, today: date) -> int:
        """Start the sequences of the dates in the content file that fall on `today` (once per date and year)."""
        now = self.clock.now()
        started = 0
        for holiday in (d for d in self.content.dates if d.falls_on(today)):
            for seq in self.content.sequences:
                if seq.trigger.event != "holiday" or seq.trigger.holiday != holiday.name:
                    continue
                mark = f"holiday:{holiday.name}:{seq.name}:{today.isoformat()}"
                reentry = None if seq.reentry == "never" else now - seq.reentry  # type: ignore[operator]
                async with self.db.transaction() as tx:  # the mark and the enrolments commit together
                    if await kv_get(tx, mark) is not None:
                        continue
                    due = daily_due_time(now, seq.steps[0], self.zone)
                    started += await enroll_everyone(
                        tx, seq.name, due, now, reentry_after=reentry, tag=seq.trigger.tag
                    )
                    await kv_set(tx, mark, to_db(now))
        return started

    # ---- queuing due steps ----------------------------------------------------------------------

    async def advance(self, limit: int = 500) -> int:
        """Queue every step that is due now in the outbox; returns how many were queued."""
        now = self.clock.now()
        queued = 0
        for enrollment in await self.enrollments.due(now, limit):
            seq = self.content.sequence(enrollment.sequence)
            async with self.db.transaction() as tx:
                if seq is None:  # removed or re-keyed in the content: its remaining steps are not sent
                    await end_enrollment(tx, enrollment.id, "exited", SEQUENCE_GONE, now)
                    continue
                if enrollment.step_index >= len(seq.steps):  # steps were removed behind the customer
                    await end_enrollment(tx, enrollment.id, "finished", None, now)
                    continue
                customer = await self.customers.get(enrollment.customer_id)
                if customer is None or customer.tg_id is None:
                    await end_enrollment(tx, enrollment.id, "exited", "forgotten", now)
                    continue
                queued += await self._queue_step(tx, enrollment, seq, customer, now, transactional=False)
        return queued

    async def _queue_step(
        self,
        tx: Tx,
        enrollment: Enrollment,
        seq: SequenceDef,
        customer: Customer,
        now: datetime,
        *,
        transactional: bool,
    ) -> bool:
        """Queue the enrolment's next step and move it on, in the caller's transaction."""
        assert customer.tg_id is not None
        index = enrollment.step_index
        following = seq.steps[index + 1] if index + 1 < len(seq.steps) else None
        coupon_line = None
        campaign = seq.steps[index].coupon
        if campaign and self.coupons is not None:
            coupon_line = await self.coupons.coupon_line_in(
                tx, campaign, customer, "seq", f"{enrollment.id}:{index}", now
            )
        message = NewMessage(
            key=f"seq:{enrollment.id}:{index}",
            chat_id=customer.tg_id,
            kind="sequence",
            payload=self.render(seq, index, customer, enrollment.id, coupon_line).to_payload(),
            due_at=now,
            customer_id=customer.id,
            transactional=transactional,
            enrollment_id=enrollment.id,
            step_index=index,
        )
        await enqueue(tx, message, now)
        # Time the next step from when this one can actually go out (quiet hours hold it till morning).
        sent_from = self.earliest_send(now) if self.earliest_send else now
        next_due = due_time(sent_from, following, self.zone) if following else None
        return await step_queued(tx, enrollment, next_due, now)

    def render(
        self,
        seq: SequenceDef,
        index: int,
        customer: Customer | None,
        enrollment_id: int,
        coupon_line: Html | None = None,
        language: str | None = None,
    ) -> Outgoing:
        """A step as the customer will see it, in their language (with their coupon, when it has one);
        `language` chooses it for a preview (its buttons, with enrolment 0, answer that they expired)."""
        language = self.content.pick_language(language or (customer.preferred_language if customer else None))
        default = self.content.business.default_language
        step = seq.steps[index]
        buttons = [
            [self._button(button, language, default, enrollment_id, index, number)]
            for number, button in enumerate(step.buttons)
        ]
        text = trusted(step.text.get(language) or step.text[default])  # the owner's HTML, as written
        if coupon_line:
            text = html("{}\n\n{}", text, coupon_line)
        return Outgoing(text=text, photo=step.photo, buttons=buttons)

    def _button(
        self, button: StepButton, language: str, default: str, enrollment_id: int, step: int, number: int
    ) -> Button:
        label = button.text.get(language) or button.text[default]
        if button.type == "link":
            return Button(label, url=button.url)
        return Button(label, data=self.button_data(enrollment_id, step, number))

    # ---- buttons ---------------------------------------------------------------------------------

    async def press(self, customer: Customer, enrollment_id: int, step: int, number: int) -> ButtonOutcome:
        """A customer pressed a step's button; checks, as it takes effect, that it is theirs, that the step
        was sent to them, and that a button acting on the enrolment finds it still running."""
        enrollment = await self.enrollments.get(enrollment_id)
        seq = self.content.sequence(enrollment.sequence) if enrollment else None
        if enrollment is None or seq is None or enrollment.customer_id != customer.id:
            return ButtonOutcome("expired")
        if not (0 <= step < len(seq.steps) and 0 <= number < len(seq.steps[step].buttons)):
            return ButtonOutcome("expired")
        if step >= enrollment.step_index:  # never sent to them: a forged press
            return ButtonOutcome("expired")
        button = seq.steps[step].buttons[number]
        if button.type in ("more", "stop") and enrollment.state not in ("active", "paused"):
            # These act on the enrolment, which has ended; interest, tags and other sequences stay welcome
            # from any message they did receive.
            return ButtonOutcome("expired")
        now = self.clock.now()
        async with self.db.transaction() as tx:
            first = await append_click(
                tx,
                customer.id,
                now,
                {
                    "sequence": seq.name,
                    "enrollment": enrollment.id,
                    "step": step,
                    "number": number,
                    "button": button.type,
                },
            )
            # The press and what it records commit together (a crash cannot keep one without the other).
            if button.type == "interested" and first:
                await append_event(tx, customer.id, "interested", now, {"sequence": seq.name, "step": step})
                await add_tag_in(tx, customer.id, "interested", now)
            if button.type == "stop":
                await end_enrollment(tx, enrollment.id, "exited", "declined", now)
            if button.type == "tag":
                assert button.tag is not None
                await add_tag_in(tx, customer.id, button.tag, now)
        if button.type == "more":
            return ButtonOutcome("more" if await self._send_next_now(enrollment.id, step, customer) else "expired")
        if button.type == "interested":
            return ButtonOutcome("interested", seq.name, f"{seq.name} step {step + 1}")
        if button.type == "stop":
            return ButtonOutcome("left", seq.name)
        if button.type == "tag":
            assert button.tag is not None
            return ButtonOutcome("tagged", seq.name, button.tag)
        assert button.sequence is not None
        started = await self.enroll(customer.id, button.sequence)
        return ButtonOutcome("enrolled" if started else "expired", button.sequence)

    async def _send_next_now(self, enrollment_id: int, pressed_step: int, customer: Customer) -> bool:
        """ "Tell me more": queue the next step at once; it answers a tap, so no budget or quiet hours."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            enrollment = await enrollment_by_id(tx, enrollment_id)
            seq = self.content.sequence(enrollment.sequence) if enrollment else None
            if enrollment is None or seq is None or enrollment.state != "active":
                return False
            if enrollment.step_index != pressed_step + 1 or enrollment.step_index >= len(seq.steps):
                return False
            return await self._queue_step(tx, enrollment, seq, customer, now, transactional=True)

    async def pause(self, customer_id: int) -> int:
        """Hold a customer's sequences while a manager talks to them."""
        return await self.enrollments.pause_all(customer_id)

    async def resume(self, customer_id: int) -> int:
        """Carry on after the conversation with the manager closed."""
        return await self.enrollments.resume_all(customer_id, self.clock.now())


@dataclass
class SequenceReport:
    name: str
    title: str
    enrolled: int = 0
    active: int = 0
    paused: int = 0
    finished: int = 0
    exits: dict[str, int] | None = None
    sent: list[int] | None = None
    clicks: list[int] | None = None
    converted: int = 0

    @property
    def conversion(self) -> float:
        return self.converted / self.enrolled if self.enrolled else 0.0


async def sequence_reports(
    content: Content, enrollments: EnrollmentsRepo, now: datetime, window_days: int = 7
) -> list[SequenceReport]:
    """Per sequence: enrolled, active, finished, exits by reason, sent and clicks per step, conversion."""
    reports = {
        seq.name: SequenceReport(
            seq.name, seq.title or seq.name, exits={}, sent=[0] * len(seq.steps), clicks=[0] * len(seq.steps)
        )
        for seq in content.sequences
    }
    for row in await enrollments.stats():
        report = reports.get(row["sequence"])
        if report is None:
            continue
        report.enrolled += row["n"]
        if row["state"] == "exited":
            assert report.exits is not None
            report.exits[row["reason"] or "unknown"] = report.exits.get(row["reason"] or "unknown", 0) + row["n"]
        else:
            setattr(report, row["state"], getattr(report, row["state"]) + row["n"])
    for rows, attribute in (
        (await enrollments.sent_per_step(), "sent"),
        (await enrollments.clicks_per_step(), "clicks"),
    ):
        for row in rows:
            report = reports.get(row[0])
            per_step = getattr(report, attribute) if report else None
            if per_step is not None and row[1] is not None and 0 <= int(row[1]) < len(per_step):
                per_step[int(row[1])] += row["n"]
    for row in await enrollments.converted(window_days, now):
        if row["sequence"] in reports:
            reports[row["sequence"]].converted = row["n"]
    return list(reports.values())
