"""Targeted broadcasts: the owner's wizard, queuing through the outbox, live progress, pause/cancel, results.

The wizard's answers are stored in the `broadcasts` row as they are given (state `draft`, `step` = the
question asked), so a restart in the middle of the dialog continues where it was. Confirming turns the
draft into a broadcast that is queued at once or when its time comes; queuing and sending are the
periodic job's (`tick`), through the one outbox sender, so rate limits, quiet hours, the contact budget,
opt-outs and blocked customers all apply. A progress message in the owner's chat is edited as it goes.

Which person has a draft open is read from the database (`draft_of`), not kept in a process: with several
processes the author's next message may reach another one than the message that began the draft.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol

from flows.broadcast_input import ButtonSpec, NoCampaigns, parse_buttons
from flows.clock import Clock
from flows.content import Content
from flows.coupons import Coupons, Issued, IssueOutcome
from flows.formatting import datetime as datetime_text
from flows.formatting import duration, number
from flows.i18n import N_, Translator, translator
from flows.markup import Html, html, trusted
from flows.messenger import Button, Outgoing
from flows.segments import Segment, SegmentError, Segments
from flows.team_text import TeamText
from storage.broadcasts import (
    Broadcast,
    BroadcastsRepo,
    Counts,
    Results,
    give_back_coupon,
    offer_key,
    take_coupon,
)
from storage.contact_policy import HeldBack, held_back
from storage.coupons import coupon_by_key
from storage.customers import Customer
from storage.db import Database
from storage.events import append_click
from storage.staff import audit

log = logging.getLogger(__name__)

ButtonData = Callable[[int, int], str]  # (broadcast, button index) → callback data
ControlButtons = Callable[[Broadcast], list[list[Button]]]  # pause/resume/cancel under the progress message
STEPS = ("segment", "message", "buttons", "coupon", "limit", "preview", "when", "confirm")
PROGRESS_EVERY = timedelta(seconds=3)  # at most one edit of a progress message per this (Telegram limits edits)
PROGRESS_AFTER_END = timedelta(hours=1)  # ended broadcasts get their final figures within this
# Where a broadcast is, in words (storage.broadcasts states; "paused" is a live one on hold): the
# bot's /broadcasts and the console's pages name them alike.
STATE_NAMES = {
    "draft": N_("draft"),
    "scheduled": N_("scheduled"),
    "queuing": N_("queuing"),
    "sending": N_("sending"),
    "paused": N_("paused"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
    "discarded": N_("discarded"),
}
STATES = {
    "scheduled": N_("⏰ scheduled"),
    "queuing": N_("📥 queuing"),
    "sending": N_("📤 sending"),
    "done": N_("✅ done"),
    "cancelled": N_("✖️ cancelled"),
}


class ProgressBoard(Protocol):
    """Where progress messages are edited (the aiogram side is bot/progress.py)."""

    async def show(self, chat_id: int, message_id: int, text: Html, buttons: list[list[Button]]) -> bool:
        """Edit the message; False when it no longer exists (so we stop trying)."""
        ...


@dataclass(frozen=True)
class Press:
    """What a customer's press on a broadcast button led to."""

    action: str  # interested | coupon | preview | expired
    broadcast: Broadcast | None = None
    issued: Issued | None = None


@dataclass(frozen=True)
class Summary:
    broadcast: Broadcast
    segment: Segment
    audience: int


@dataclass(frozen=True)
class CouponChoice:
    """A coupon campaign a broadcast can carry, and how many of its stock are left (None: no limit)."""

    key: str
    title: str
    left: int | None


@dataclass(frozen=True)
class Plan:
    """What confirming means: how long sending takes at the send rate, and whether quiet hours hold it."""

    minutes: float
    quiet_until: datetime | None  # the start falls in quiet hours: the first messages go out then (UTC)


@dataclass(frozen=True)
class Progress:
    """A broadcast's live figures for a page: counts, what waits and why, and the time left."""

    broadcast: Broadcast
    counts: Counts
    held: list[HeldBack]
    seconds_left: float | None  # None when nothing is left to send (or it is paused or ended)


@dataclass
class Broadcasts:
    db: Database
    repo: BroadcastsRepo
    segments: Segments
    coupons: Coupons
    content: Content
    clock: Clock
    zone: tzinfo
    rate: float  # messages per second the sender allows: rows are spread out at this pace
    attribution_days: int
    button_data: ButtonData
    board: ProgressBoard | None = None
    controls: ControlButtons | None = None
    # When a proactive message due at a moment may go out as far as quiet hours go (the sender's rule), so
    # the estimate counts the quiet hours rows not tried yet will meet.
    earliest_send: Callable[[datetime], datetime] | None = None

    # ---- the wizard ----------------------------------------------------------------------------

    async def begin(self, created_by: int) -> Broadcast:
        """Start a new draft (an unfinished one is discarded)."""
        return await self.repo.new_draft(created_by, self.clock.now())

    async def draft_of(self, created_by: int) -> Broadcast | None:
        """The author's open draft, read from the database: a draft begun in one process is continued by
        whichever process gets the author's next message (no list in memory of who has a draft open)."""
        return await self.repo.draft_of(created_by)

    async def draft(self, broadcast_id: int, created_by: int) -> Broadcast | None:
        """The draft behind a wizard button, only for its author and only while it is a draft."""
        found = await self.repo.get(broadcast_id)
        if found is None or found.created_by != created_by or found.state != "draft":
            return None
        return found

    async def discard(self, draft: Broadcast) -> bool:
        done = await self.repo.discard(draft.id, draft.created_by)
        if done:
            await self._audit(draft.created_by, "broadcast_discarded", draft.id)
        return done

    async def choose_segment(self, draft: Broadcast, expression: str) -> int:
        """Store the audience; its current size. `SegmentError` when the expression is wrong."""
        segment = self.segments.parse(expression)
        count = await self.segments.count(segment)
        await self.repo.update_draft(
            draft.id, draft.created_by, segment=segment.name or segment.expression, step="message"
        )
        return count

    async def set_message(self, draft: Broadcast, text: str, photo: str | None, video: str | None) -> None:
        message = {"text": text, "photo": photo, "video": video}
        await self.repo.update_draft(draft.id, draft.created_by, message=message, step="buttons")

    def check_buttons(self, text: str) -> list[ButtonSpec]:
        """The owner's button lines; `InputError` when a line is wrong, `NoCampaigns` (one of them) when a
        coupon button has no campaign to give."""
        buttons = parse_buttons(text)
        if any(b.action == "coupon" for b in buttons) and not self.content.loyalty.coupons:
            raise NoCampaigns(
                TeamText(N_("There are no coupon campaigns in the content file (loyalty.coupons) to attach."))
            )
        return buttons

    async def set_buttons(self, draft: Broadcast, buttons: list[ButtonSpec]) -> str:
        """Store the buttons; the next step (a coupon to pick, or the preview)."""
        wants_coupon = any(b.action == "coupon" for b in buttons)
        step = "coupon" if (wants_coupon or not buttons) and self.content.loyalty.coupons else "preview"
        await self.repo.update_draft(draft.id, draft.created_by, buttons=[b.to_json() for b in buttons], step=step)
        return step

    async def set_coupon(self, draft: Broadcast, campaign: str | None) -> str:
        """Attach a campaign (a "Get my coupon" button is added if the owner typed none), or none."""
        if campaign is None:
            buttons = [b for b in draft.buttons if b.get("action") != "coupon"]
            await self.repo.update_draft(
                draft.id, draft.created_by, coupon=None, coupon_limit=None, buttons=buttons, step="preview"
            )
            return "preview"
        if self.content.loyalty.campaign(campaign) is None:
            raise ValueError(f"unknown campaign {campaign!r}")
        buttons = [b.to_json() for b in self.with_coupon_button([ButtonSpec.from_json(b) for b in draft.buttons])]
        await self.repo.update_draft(draft.id, draft.created_by, coupon=campaign, buttons=buttons, step="limit")
        return "limit"

    def with_coupon_button(self, buttons: list[ButtonSpec]) -> list[ButtonSpec]:
        """The buttons, with a "Get my coupon" button (the content's text) added when none is a coupon's."""
        if any(b.action == "coupon" for b in buttons):
            return buttons
        t = self.content.texts_for(None)
        return [*buttons, ButtonSpec(t("broadcast_coupon_button"), action="coupon")]

    async def coupon_choices(self) -> list[CouponChoice]:
        """The content's coupon campaigns with their titles and the stock left (for the wizard and the form)."""
        default = self.content.business.default_language
        choices = []
        for campaign in self.content.loyalty.coupons:
            left = None
            if campaign.stock is not None:
                left = max(campaign.stock - await self.coupons.repo.issued(campaign.key), 0)
            choices.append(CouponChoice(campaign.key, campaign.title.get(default) or campaign.key, left))
        return choices

    def plan(self, audience: int, send_at: datetime | None) -> Plan:
        """How long sending to `audience` takes at the send rate (at least a minute), and whether the start
        (`send_at`, or now) falls in quiet hours."""
        start = send_at or self.clock.now()
        later = self.earliest_send(start) if self.earliest_send is not None else start
        return Plan(max(audience / self.rate / 60, 1), later if later > start else None)

    async def set_limit(self, draft: Broadcast, limit: int | None) -> None:
        await self.repo.update_draft(draft.id, draft.created_by, coupon_limit=limit, step="preview")

    async def set_when(self, draft: Broadcast, send_at: datetime | None) -> None:
        await self.repo.update_draft(draft.id, draft.created_by, send_at=send_at, step="confirm")

    async def ask_when(self, draft: Broadcast) -> None:
        await self.repo.update_draft(draft.id, draft.created_by, step="when")

    async def summary(self, draft: Broadcast) -> Summary:
        """The audience as of now (a segment can change between the preview and the sending)."""
        segment = self.segments.parse(draft.segment or "")
        return Summary(draft, segment, await self.segments.count(segment))

    def render(self, broadcast: Broadcast) -> Outgoing:
        """The message exactly as customers get it (the preview uses the same rendering)."""
        specs = [ButtonSpec.from_json(b) for b in broadcast.buttons]
        return self.render_message(broadcast.id, broadcast.message or {}, specs)

    def render_message(self, broadcast_id: int, message: dict[str, Any], specs: list[ButtonSpec]) -> Outgoing:
        """A broadcast's message and buttons as customers get them; the console's "send to me" renders a
        form not yet sent with id 0 (its action buttons then answer that the broadcast is gone)."""
        rows = []
        for index, spec in enumerate(specs):
            if spec.url:
                rows.append([Button(spec.text, url=spec.url)])
            else:
                rows.append([Button(spec.text, data=self.button_data(broadcast_id, index))])
        return Outgoing(
            text=trusted(message.get("text") or ""),  # the owner's message as Telegram rendered it to HTML
            photo=message.get("photo"),
            video=message.get("video"),
            buttons=rows,
        )

    async def confirm(self, draft: Broadcast, progress_chat_id: int) -> Broadcast | None:
        """Turn the draft into a broadcast (audited); queue it now unless it is scheduled. None if stale."""
        try:
            segment = self.segments.parse(draft.segment or "")
        except SegmentError:  # the content file changed under a saved name since the draft was made
            return None
        details = _audit_details(segment, draft.coupon, draft.coupon_limit, draft.send_at)
        if not await self.repo.confirm(draft.id, draft.created_by, draft.send_at, self.clock.now(), details):
            return None
        await self.repo.set_progress_message(draft.id, progress_chat_id, None, "")
        return await self._started(draft.id)

    async def create(
        self, created_by: int, segment: Segment, fields: dict[str, Any], request_key: str
    ) -> tuple[Broadcast, bool]:
        """A whole broadcast at once (the console's form, checked by flows/broadcast_form.py): stored
        confirmed and audited as the wizard's confirm does, then queued now unless scheduled. The form's
        `request_key` makes a repeated submit return the first broadcast; (broadcast, whether new)."""
        details = _audit_details(segment, fields.get("coupon"), fields.get("coupon_limit"), fields.get("send_at"))
        broadcast, created = await self.repo.create(created_by, fields, request_key, self.clock.now(), details)
        if not created:
            return broadcast, False
        started = await self._started(broadcast.id)
        assert started is not None
        return started, True

    async def _started(self, broadcast_id: int) -> Broadcast | None:
        """After confirming: queue at once what is not scheduled (the periodic job finishes big ones)."""
        broadcast = await self.repo.get(broadcast_id)
        if broadcast is not None and broadcast.state == "queuing":
            await self._queue(broadcast_id)
            broadcast = await self.repo.get(broadcast_id)
        return broadcast

    async def attach_progress(self, broadcast: Broadcast, chat_id: int, message_id: int, text: str) -> None:
        await self.repo.set_progress_message(broadcast.id, chat_id, message_id, text)

    # ---- control -------------------------------------------------------------------------------

    async def pause(self, broadcast_id: int, actor: int) -> bool:
        """Hold what has not gone out yet (the sender skips it)."""
        return await self.repo.pause(broadcast_id, actor, self.clock.now())

    async def resume(self, broadcast_id: int, actor: int) -> bool:
        """Release a paused broadcast; its messages are spread out from now at the send rate."""
        return await self.repo.resume(broadcast_id, actor, self.clock.now(), self.rate)

    async def cancel(self, broadcast_id: int, actor: int) -> int | None:
        """Cancel the messages not sent yet; how many, or None if the broadcast had already ended."""
        return await self.repo.cancel(broadcast_id, actor, self.clock.now())

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.repo.get(broadcast_id)

    # ---- the periodic job ------------------------------------------------------------------------

    async def queue_due(self) -> int:
        """Start scheduled broadcasts whose time came, and queue what is waiting to be queued."""
        for broadcast_id in await self.repo.due_scheduled(self.clock.now()):
            await self.repo.start(broadcast_id)
        queued = 0
        for broadcast_id in await self.repo.queuing():
            queued += await self._queue(broadcast_id)
        return queued

    async def _queue(self, broadcast_id: int) -> int:
        """Queue a broadcast chunk by chunk (each its own transaction) until every customer id is covered."""
        broadcast = await self.repo.get(broadcast_id)
        if broadcast is None or broadcast.state != "queuing":
            return 0
        try:
            segment = self.segments.parse(broadcast.segment or "")
        except SegmentError as exc:
            log.error("broadcast %s: its segment no longer parses (%s); cancelling it", broadcast_id, exc.plain())
            await self.repo.cancel(broadcast_id, broadcast.created_by, self.clock.now())
            return 0
        payload = self.render(broadcast).to_payload()
        total, done = 0, False
        while not done:
            queued, done = await self.repo.queue_chunk(
                broadcast_id, segment.filters, payload, self.clock.now(), rate=self.rate
            )
            total += queued
        return total

    async def refresh(self) -> int:
        """Finish broadcasts with nothing left, and edit progress messages that changed; edits made."""
        now = self.clock.now()
        for broadcast_id in await self.repo.sending():
            await self.repo.finish_if_done(broadcast_id, now)
        edits = 0
        for broadcast in await self.repo.with_progress(now - PROGRESS_AFTER_END):
            if await self._refresh_one(broadcast, now):
                edits += 1
        return edits

    async def _refresh_one(self, broadcast: Broadcast, now: datetime) -> bool:
        if self.board is None or broadcast.progress_chat_id is None or broadcast.progress_message_id is None:
            return False
        text = await self.progress_text(broadcast)
        if text == broadcast.progress_text:
            return False
        ended = not broadcast.live
        last = broadcast.progress_at
        if not ended and last is not None and now - last < PROGRESS_EVERY:
            return False
        buttons = self.controls(broadcast) if self.controls is not None else []
        shown = await self.board.show(broadcast.progress_chat_id, broadcast.progress_message_id, text, buttons)
        if not shown:
            await self.repo.drop_progress_message(broadcast.id)
            return False
        await self.repo.set_progress_text(broadcast.id, text, now)
        return True

    async def progress_text(self, broadcast: Broadcast) -> Html:
        """The owner's live view of a broadcast (HTML), its numbers and times in its author's locale."""
        counts = await self.repo.counts(broadcast.id)
        locale = await self.repo.author_language(broadcast)
        tr = translator(locale)
        state = tr.gettext(STATES[broadcast.state]) if broadcast.state in STATES else broadcast.state
        if broadcast.paused and broadcast.live:
            state = tr.gettext("⏸ paused")
        lines = [
            html(tr.gettext("📣 <b>Broadcast #{id}</b> · {state}"), id=broadcast.id, state=state),
            html(tr.gettext("Audience: {segment}"), segment=broadcast.segment or "everyone"),
        ]
        if broadcast.state == "scheduled" and broadcast.send_at is not None:
            when = datetime_text(broadcast.send_at, locale, self.zone)
            lines.append(html(tr.gettext("Goes out {when} ({zone})"), when=when, zone=str(self.zone)))
        else:
            lines.append(Html(self._figures(counts, tr)))  # plain text, escaped
            held = await held_back(self.db, broadcast.id) if broadcast.live and not broadcast.paused else []
            lines.extend(Html(line) for line in self._remaining(broadcast, counts, held, tr))
        if broadcast.coupon:
            taken = number(broadcast.coupons_issued, locale)
            if broadcast.coupon_limit:
                line = tr.gettext("🎟 Coupons taken: {taken} of {limit}")
                lines.append(html(line, taken=taken, limit=number(broadcast.coupon_limit, locale)))
            else:
                lines.append(html(tr.gettext("🎟 Coupons taken: {taken}"), taken=taken))
        return Html("\n").join(lines)

    async def progress(self, broadcast: Broadcast) -> Progress:
        """The figures behind `progress_text`, for the console's live page."""
        counts = await self.repo.counts(broadcast.id)
        held = await held_back(self.db, broadcast.id) if broadcast.live and not broadcast.paused else []
        sending = broadcast.live and not broadcast.paused and broadcast.state != "scheduled" and counts.remaining
        return Progress(broadcast, counts, held, self._seconds_left(counts) if sending else None)

    def _seconds_left(self, counts: Counts) -> float:
        """An honest estimate: the pace, the last row's due time, and the quiet hours ahead."""
        now = self.clock.now()
        seconds = counts.remaining / self.rate
        if counts.last_due is not None:
            seconds = max(seconds, (counts.last_due - now).total_seconds())
        if self.earliest_send is not None and counts.remaining:
            seconds = max(seconds, (self.earliest_send(now) - now).total_seconds() + counts.remaining / self.rate)
        return max(seconds, 1) if seconds < 90 else round(seconds / 60) * 60  # an estimate: rounded

    @staticmethod
    def _figures(counts: Counts, tr: Translator) -> str:
        def n(value: int) -> str:
            return number(value, tr.language)

        parts = [
            tr.gettext("Delivered {n}").format(n=n(counts.delivered)),
            tr.gettext("blocked {n}").format(n=n(counts.blocked)),
            tr.gettext("failed {n}").format(n=n(counts.failed)),
        ]
        if counts.skipped:
            parts.append(tr.gettext("skipped {n} (opted out)").format(n=n(counts.skipped)))
        if counts.cancelled:
            parts.append(tr.gettext("cancelled {n}").format(n=n(counts.cancelled)))
        return " · ".join(parts)

    def _remaining(self, broadcast: Broadcast, counts: Counts, held: list[HeldBack], tr: Translator) -> list[str]:
        """What is left and an honest estimate: the pace, the quiet hours ahead, and the rows the sender
        moved later (quiet hours, contact limits), each said with until when."""
        if not broadcast.live or (broadcast.state == "sending" and not counts.remaining):
            return []
        locale = tr.language
        if broadcast.paused:
            return [
                tr.gettext("Waiting: {n} — press Resume to continue").format(n=number(counts.remaining, locale))
            ]
        estimate = self._seconds_left(counts)
        left = tr.gettext("Remaining: {n} · about {duration} left")
        lines = [left.format(n=number(counts.remaining, locale), duration=duration(estimate, locale))]
        for group in held:
            local = group.until.astimezone(self.zone)
            if group.reason == "quiet hours":
                quiet = tr.gettext("🌙 {n} waiting for quiet hours to end ({time})")
                lines.append(quiet.format(n=number(group.count, locale), time=f"{local:%H:%M}"))
            else:
                until = datetime_text(group.until, locale, self.zone)
                limited = tr.gettext("⏳ {n} held by contact limits until {until}")
                lines.append(limited.format(n=number(group.count, locale), until=until))
        return lines

    # ---- customers' buttons --------------------------------------------------------------------------

    async def press(self, customer: Customer, broadcast_id: int, index: int, presser_tg_id: int) -> Press:
        """A press on a broadcast's button: only by someone it was delivered to (a preview: its author)."""
        broadcast = await self.repo.get(broadcast_id)
        if broadcast is None or not 0 <= index < len(broadcast.buttons):
            return Press("expired")
        if not await self.repo.delivered_to(broadcast_id, customer.id):
            return Press("preview" if broadcast.created_by == presser_tg_id else "expired", broadcast)
        spec = ButtonSpec.from_json(broadcast.buttons[index])
        if spec.action is None:
            return Press("expired", broadcast)
        now = self.clock.now()
        async with self.db.transaction() as tx:  # a second press still acts, but counts once
            await append_click(
                tx, customer.id, now, {"broadcast": broadcast_id, "button": index, "action": spec.action}
            )
        if spec.action == "coupon":
            return Press("coupon", broadcast, await self.claim_coupon(customer, broadcast))
        return Press(spec.action, broadcast)

    async def claim_coupon(self, customer: Customer, broadcast: Broadcast) -> Issued:
        """One coupon per recipient, a unique code each, never more than the broadcast's limit or the
        campaign's stock (both conditional updates in one transaction: concurrent presses cannot overshoot)."""
        if broadcast.coupon is None:
            return Issued(IssueOutcome.NOT_AVAILABLE)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            existing = await coupon_by_key(tx, f"broadcast:{broadcast.id}:{customer.id}")
            if existing is not None:
                return Issued(IssueOutcome.ALREADY, existing)
            if not await take_coupon(tx, broadcast.id):
                return Issued(IssueOutcome.SOLD_OUT)
            issued = await self.coupons.issue_in(
                tx, broadcast.coupon, customer, "broadcast", f"{broadcast.id}:{customer.id}", now, notify=False
            )
            if issued.outcome is not IssueOutcome.ISSUED:
                await give_back_coupon(tx, broadcast.id)
            return issued

    @staticmethod
    def offer(broadcast_id: int) -> str:
        return offer_key(broadcast_id)

    # ---- results ---------------------------------------------------------------------------------------

    async def results(self, limit: int = 10) -> list[tuple[Broadcast, Results]]:
        """The latest broadcasts with delivery, clicks, leads and attributed purchases."""
        return [(b, await self.repo.results(b, self.attribution_days)) for b in await self.repo.recent(limit)]

    async def results_of(self, broadcast: Broadcast) -> Results:
        """One broadcast's delivery, clicks, leads, coupons, purchases and revenue (attributed as in /broadcasts)."""
        return await self.repo.results(broadcast, self.attribution_days)

    async def _audit(self, actor: int, action: str, broadcast_id: int) -> None:
        async with self.db.transaction() as tx:
            await audit(tx, actor, action, str(broadcast_id), self.clock.now())


def _audit_details(
    segment: Segment, coupon: str | None, limit: int | None, send_at: datetime | None
) -> dict[str, Any]:
    details: dict[str, Any] = {"segment": segment.label, "coupon": coupon, "limit": limit}
    if send_at is not None:
        details["send_at"] = send_at.isoformat()
    return details
