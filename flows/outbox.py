"""The single sender: drains the outbox under Telegram's rate limits and the no-spam rules.

Rules are checked when a message is about to go, not only when it was queued: a customer who opted out
or blocked the bot in the meantime gets nothing; quiet hours and the contact budget move a message
later instead of dropping it. A row is claimed before the call and confirmed after, so after a crash
a row whose fate is unknown is never sent again (a missed message is better than spam).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo

from flows.chat_actions import ACTION_KIND, ChatActions
from flows.clock import Clock
from flows.i18n import N_, translator
from flows.liveness import Liveness
from flows.markup import trusted
from flows.messenger import Delivery, DeliveryResult, Messenger, Outgoing
from flows.pacing import Pacer
from flows.team_text import TeamText
from storage.customers import Customer, CustomersRepo
from storage.outbox import NewMessage, OutboxRepo, QueuedMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendPolicy:
    quiet_start: time | None = time(21, 0)  # None switches quiet hours off
    quiet_end: time = time(9, 0)
    budget_day: int = 2
    budget_week: int = 6
    max_attempts: int = 5
    concurrency: int = 8
    horizon: float = 5.0  # how long one drain may wait for busy chats before leaving them to the next
    zone: tzinfo = UTC
    halt_seconds: float = 300.0  # after a revoked token or a conflict, how long before sending is tried again
    confirm_attempts: int = 4  # recording an outcome is retried (e.g. "database is locked") this often
    # Broadcasts come first: while one is due for a customer within this time, automatic messages leave
    # the last slot of each budget to it (README "Contact policy"). Zero: no reserve.
    broadcast_reserve: timedelta = timedelta(0)


def quiet_until(moment: datetime, policy: SendPolicy) -> datetime | None:
    """The end of the quiet hours `moment` falls in (UTC), or None when it is not quiet then."""
    start, end = policy.quiet_start, policy.quiet_end
    if start is None or start == end:
        return None
    local = moment.astimezone(policy.zone)
    now = local.time()
    wraps = start > end  # e.g. 21:00–09:00 spans midnight
    quiet = (now >= start or now < end) if wraps else (start <= now < end)
    if not quiet:
        return None
    day = local.date() + timedelta(days=1) if wraps and now >= start else local.date()
    return datetime.combine(day, end, tzinfo=policy.zone).astimezone(UTC)


@dataclass
class DrainReport:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, what: str) -> None:
        self.counts[what] += 1

    def __getitem__(self, what: str) -> int:
        return self.counts[what]


class Sender:
    """Drains due outbox rows; one instance per process.

    Pacing is the shared `Pacer`'s (the same budget direct replies spend), so a drain asks it which chats
    may be written to now. Each claimed row is sent in its own task and ends in exactly one recorded
    outcome; nothing that happens to one row (an odd error, a locked database) touches another.
    """

    def __init__(
        self,
        outbox: OutboxRepo,
        customers: CustomersRepo,
        messenger: Messenger,
        clock: Clock,
        policy: SendPolicy,
        pacer: Pacer | None = None,
        actions: ChatActions | None = None,
    ) -> None:
        self.outbox = outbox
        self.customers = customers
        self.messenger = messenger
        self.actions = actions  # rows of kind `chat_action` (flows/chat_actions.py) go here, not to the messenger
        self.clock = clock
        self.policy = policy
        self.pacer = pacer or Pacer(clock)
        # Called when a group became a supergroup (old id, new id), so the app can remember the new id.
        self.on_migrate: Callable[[int, int], Awaitable[None]] | None = None
        # Called when Telegram says a row's forum topic is gone; True when the hook re-queued it elsewhere.
        self.on_topic_lost: Callable[[QueuedMessage], Awaitable[bool]] | None = None
        # When the next broadcast that may reach a customer is due, if before a moment (the reserve's window).
        self.broadcast_ahead: Callable[[int, datetime], Awaitable[datetime | None]] | None = None
        # This process as an instance (flows/liveness.py): claims name it, and rows claimed by instances
        # it reports dead are recovered. Without one (a Sender on its own) every other claimer is dead.
        self.liveness: Liveness | None = None
        self._claimer = secrets.token_hex(6)
        self._sending: set[int] = set()  # chats with a message in flight: the next one waits for it
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._halted_until = -math.inf
        self._stopping = False
        self._cut_short = False

    def earliest_send(self, moment: datetime) -> datetime:
        """When a proactive message due at `moment` can go out, as far as quiet hours go."""
        return quiet_until(moment, self.policy) or moment

    async def wait_idle(self) -> None:
        """Return once no drain is running."""
        async with self._lock:
            pass

    async def stop(self) -> None:
        """At shutdown: start no new send; sends in flight finish and record their outcome first."""
        self._stopping = True
        await self.wait_idle()

    @property
    def claimer(self) -> str:
        """The instance id this sender's claims record."""
        return self.liveness.instance_id if self.liveness is not None else self._claimer

    async def recover(self) -> int:
        """Rows left 'sending' by a process that is gone (a crash, a kill) become 'unknown' and are never
        resent; whoever relies on one (`on_fail`) is told it may not have been delivered.

        Run at start-up and before every drain. Gone: its instance was not heard from for the lease
        (flows/liveness.py), so a live process's rows in flight are never touched, wherever it runs; rows
        of this sender itself count only between drains, where nothing of its own is in flight (an
        outcome it could not record)."""
        alive_since = self.liveness.alive_since() if self.liveness is not None else self.clock.now()
        lost = await self.outbox.interrupted(alive_since, self.claimer)
        recovered = 0
        for row in lost:
            recovered += await self._give_up(
                row,
                "unknown",
                "interrupted while sending",
                TeamText(_STOPPED_MID_SEND),
                unknown=True,
                was="sending",
            )
        if recovered:
            log.warning(
                "%d message(s) were interrupted mid-send by a process that stopped; not resending them", recovered
            )
        return recovered

    @property
    def halted(self) -> bool:
        return self.clock.monotonic() < self._halted_until

    async def drain(self, limit: int = 500) -> DrainReport:
        """Send what is due now, at most `limit` rows; one drain at a time.

        Rows go out in due order, each chat's in its own order. A chat whose budget is spent (or that
        Telegram asked to pause) is waited for while other chats are served, up to `horizon` seconds;
        what is left then waits for the next drain.
        """
        work = asyncio.ensure_future(self._drain(limit))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # Cancelled mid-way (a job cut off at exit): start no new row, but let the row being claimed and
            # the sends in flight finish and record their outcome, so none is left 'sending'.
            self._cut_short = True
            await work
            raise

    async def _drain(self, limit: int) -> DrainReport:
        report = DrainReport()
        if self._stopping or self.halted:
            return report
        async with self._lock:
            self._cut_short = False
            await self.recover()
            queue = await self.outbox.due(self.clock.now(), limit)
            gate = asyncio.Semaphore(self.policy.concurrency)
            deadline = self.clock.monotonic() + self.policy.horizon
            try:
                while queue and not (self._stopping or self._cut_short or self.halted):
                    row = self._next_ready(queue)
                    if row is None:
                        if not await self._wait_for_a_chat(queue, deadline):
                            break
                        continue
                    queue.remove(row)
                    try:
                        queue = await self._start(row, queue, report, gate)
                    except Exception as exc:  # e.g. a locked database: this row waits, the others go on
                        log.warning("outbox row %s left for the next drain: %r", row.id, exc)
                        report.add("deferred")
            finally:
                while self._tasks:  # every send started here records its outcome before the drain ends
                    await asyncio.wait(set(self._tasks))
            report.counts["waiting"] += len(queue)
        return report

    async def _start(
        self, row: QueuedMessage, queue: list[QueuedMessage], report: DrainReport, gate: asyncio.Semaphore
    ) -> list[QueuedMessage]:
        """Check, claim and start sending one row; returns what is left of the queue."""
        if not await self._allowed(row, report):
            return queue
        resolved = await self._resolve_reply(row)
        if resolved is None:  # its target is not sent yet: this chat waits for the next drain
            report.add("waiting")
            return [other for other in queue if other.chat_id != row.chat_id]
        await gate.acquire()
        try:
            claimed = await self.outbox.claim(resolved.id, self.clock.now(), self.claimer)
        except BaseException:
            gate.release()
            raise
        if not claimed:  # sent, cancelled or paused meanwhile, or its chat busy in another process
            gate.release()
            return [other for other in queue if other.chat_id != row.chat_id]
        try:
            free = await self._budget_still_free(resolved, report)
        except BaseException:
            gate.release()
            raise
        if not free:
            gate.release()
            return [other for other in queue if other.chat_id != row.chat_id]
        self._sending.add(resolved.chat_id)
        task = asyncio.create_task(self._send(resolved, report, gate))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return queue

    async def _budget_still_free(self, row: QueuedMessage, report: DrainReport) -> bool:
        """Once claimed, a proactive row checks the contact budget again: another process may have sent to
        the customer since `_allowed` looked (the claim holds the chat, so every earlier send is recorded
        now). Over budget, or on an error here, the row goes back to wait, never left 'sending'."""
        if row.transactional or row.customer_id is None:
            return True
        try:
            customer = await self.customers.get(row.customer_id)
            frees = await self._budget_frees_at(customer, automatic=row.broadcast_id is None) if customer else None
        except Exception:
            await self.outbox.release(row.id, self.clock.now(), "budget check failed")
            raise
        if frees is None:
            return True
        await self.outbox.release(row.id, frees, "contact budget")
        report.add("postponed")
        return False

    def _next_ready(self, queue: list[QueuedMessage]) -> QueuedMessage | None:
        """The first row whose chat may be written to now; only a chat's first row counts (its order)."""
        looked: set[int] = set()
        for row in queue:
            if row.chat_id in looked:
                continue
            looked.add(row.chat_id)
            if row.chat_id not in self._sending and self.pacer.free_in(row.chat_id) <= 0:
                return row
        return None

    async def _wait_for_a_chat(self, queue: list[QueuedMessage], deadline: float) -> bool:
        """Wait until some queued chat may be written to; False when that is past the deadline."""
        chats = {row.chat_id for row in queue}
        idle = [self.pacer.free_in(chat) for chat in chats if chat not in self._sending]
        if idle:
            wait = max(min(idle), 0.0)
            if self.clock.monotonic() + wait > deadline:
                return False
            await self.clock.sleep(wait)
            return True
        if not self._tasks:
            return False
        await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)  # a chat in flight frees
        return True

    async def _resolve_reply(self, row: QueuedMessage) -> QueuedMessage | None:
        """A row answering another row's message learns that message's id; None while it is not sent yet."""
        target_id = row.payload.get("reply_to_outbox")
        if target_id is None:
            return row
        target = await self.outbox.get(int(target_id))
        if target is not None and target.state in ("pending", "sending"):
            return None
        message = Outgoing.from_payload(row.payload).replying_to(target.tg_message_id if target else None)
        return replace(row, payload=row.payload | message.to_payload() | {"reply_to_outbox": None})

    async def _give_up(
        self,
        row: QueuedMessage,
        state: str,
        reason: str,
        why: TeamText,
        *,
        unknown: bool = False,
        was: str = "sending",
    ) -> bool:
        """End a row for good; a row that asked to be reported (`on_fail`) queues its notice with it.

        A fate that is unknown uses the notice's `unknown_text` when it has one ("may not have been
        delivered"), so nobody is told a message failed that may well have arrived. `why` is written in the
        notice's `language` (the language of its text; English for notices queued before it was recorded).
        Only a row still in state `was` is ended (False otherwise: another process claimed it meanwhile)."""
        notice = row.payload.get("on_fail")
        follow_up = None
        if notice:
            template = trusted(str((unknown and notice.get("unknown_text")) or notice["text"]))
            if unknown and not notice.get("unknown_text"):  # an older notice: don't claim it failed
                why = TeamText(N_("it may have arrived or not ({why})"), why=why)
            # queued as Html; the reason is escaped by replace
            text = template.replace("{reason}", why.text(translator(notice.get("language"))))
            message = Outgoing(text=text, thread_id=notice.get("thread_id"), reply_to=notice.get("reply_to"))
            follow_up = NewMessage(
                key=f"failed:{row.id}",
                chat_id=int(notice["chat_id"]),
                kind="notice",
                payload=message.to_payload(),
                due_at=self.clock.now(),
                transactional=True,
                lead_id=row.lead_id,
            )
        return await self.outbox.finish(row.id, state, reason, follow_up, self.clock.now(), was=was)

    async def _allowed(self, row: QueuedMessage, report: DrainReport) -> bool:
        """Check opt-out, reachability, quiet hours and the contact budget; act on a no."""
        customer = await self.customers.get(row.customer_id) if row.customer_id else None
        if row.customer_id and (customer is None or customer.tg_id is None):
            await self._give_up(
                row,
                "cancelled",
                "customer data deleted",
                TeamText(N_("the customer deleted their data")),
                was="pending",
            )
            report.add("cancelled")
            return False
        if customer is not None and customer.unreachable:
            await self._give_up(row, "cancelled", "customer blocked the bot", TeamText(_BLOCKED), was="pending")
            report.add("cancelled")
            return False
        if row.transactional:
            return True
        if customer is not None and customer.opted_out:
            await self.outbox.finish(row.id, "cancelled", "customer opted out", was="pending")
            report.add("cancelled")
            return False
        later = quiet_until(self.clock.now(), self.policy)
        if later is not None:
            await self.outbox.postpone(row.id, later, "quiet hours")
            report.add("postponed")
            return False
        if customer is not None:
            budget_free = await self._budget_frees_at(customer, automatic=row.broadcast_id is None)
            if budget_free is not None:
                await self.outbox.postpone(row.id, budget_free, "contact budget")
                report.add("postponed")
                return False
        return True

    async def _budget_frees_at(self, customer: Customer, *, automatic: bool = False) -> datetime | None:
        """When the customer may next get a proactive message, or None if they may now.

        An automatic message (not a broadcast) may not take the last slot of a budget while a broadcast is
        due for the customer within `broadcast_reserve`: it waits until the broadcast went out (or a slot
        is free even with one kept back)."""
        now = self.clock.now()
        week = await self.outbox.proactive_sent_since(customer.id, now - timedelta(days=7))
        day = [moment for moment in week if moment > now - timedelta(days=1)]
        frees = _frees_at(day, week, self.policy.budget_day, self.policy.budget_week)
        if frees is not None or not automatic or not self.policy.broadcast_reserve or self.broadcast_ahead is None:
            return frees
        reserved = _frees_at(day, week, self.policy.budget_day - 1, self.policy.budget_week - 1)
        if reserved is None:
            return None
        ahead = await self.broadcast_ahead(customer.id, now + self.policy.broadcast_reserve)
        if ahead is None:
            return None
        # Look again once the broadcast is due (it keeps its slot while it waits to go out).
        return min(reserved, max(ahead, now + timedelta(minutes=1)))

    async def _send(self, row: QueuedMessage, report: DrainReport, gate: asyncio.Semaphore) -> None:
        try:
            try:
                if row.kind == ACTION_KIND:
                    result = await self._perform(row)
                else:
                    result = await self.messenger.deliver(row.chat_id, Outgoing.from_payload(row.payload))
            except Exception as exc:  # the messenger classifies; anything else may have gone out
                log.warning("sending outbox row %s failed unexpectedly: %r", row.id, exc)
                result = DeliveryResult(Delivery.UNKNOWN, error=type(exc).__name__)
            await self._record(row, result, report)
        finally:
            self._sending.discard(row.chat_id)
            gate.release()

    async def _perform(self, row: QueuedMessage) -> DeliveryResult:
        if self.actions is None:
            return DeliveryResult(Delivery.REJECTED, error="no executor for chat actions")
        return await self.actions.perform(row.chat_id, row.payload)

    async def _record(self, row: QueuedMessage, result: DeliveryResult, report: DrainReport) -> None:
        """Store the outcome, retrying a failed write (e.g. "database is locked"); a row whose outcome cannot
        be stored stays 'sending', which the next drain (after a crash: a live process) turns 'unknown': never sent twice."""
        for attempt in range(1, self.policy.confirm_attempts + 1):
            try:
                await self._settle(row, result, report)
                return
            except Exception as exc:
                if attempt == self.policy.confirm_attempts:
                    log.warning(
                        "could not record outcome %s of outbox row %s: %r", result.status.value, row.id, exc
                    )
                    report.add("unrecorded")
                    return
                await self.clock.sleep(0.05 * 2**attempt)

    async def _settle(self, row: QueuedMessage, result: DeliveryResult, report: DrainReport) -> None:
        now = self.clock.now()
        status = result.status
        if status is Delivery.SENT:
            await self.outbox.mark_sent(row.id, result.message_id, now)
        elif status is Delivery.RETRY_AFTER:  # the pacer already holds the chat; the row waits as long
            later = now + timedelta(seconds=result.retry_after)
            await self.outbox.release(row.id, later, f"429: retry after {result.retry_after:g}s")
        elif status is Delivery.BLOCKED:
            await self._blocked(row, result)
        elif status is Delivery.REJECTED and await self._topic_lost(row, result):
            await self.outbox.finish(
                row.id, "failed", f"topic gone, sent again in a new one: {result.error}", was="sending"
            )
        elif status is Delivery.REJECTED:
            error = result.error or "rejected by Telegram"
            await self._give_up(row, "failed", error, TeamText(N_("Telegram refused it: {error}"), error=error))
        elif status is Delivery.UNKNOWN:
            await self._give_up(
                row, "unknown", f"fate unknown: {result.error}", TeamText(_MAYBE_LOST), unknown=True
            )
        elif status is Delivery.MIGRATED and result.new_chat_id is not None:
            await self._migrated(row, result.new_chat_id)
        elif status is Delivery.STOPPED:
            self._halt(result.error or "refused")
            await self.outbox.release(row.id, now, f"not sent: {result.error}")
        else:
            report.add(await self._transient(row, result))
            return
        report.add(_REPORTED.get(status, status.value))

    async def _topic_lost(self, row: QueuedMessage, result: DeliveryResult) -> bool:
        """A message for a forum topic that no longer exists goes to the hook, which may re-queue it."""
        if row.payload.get("thread_id") is None or self.on_topic_lost is None:
            return False
        if not any(sign in (result.error or "").lower() for sign in _TOPIC_GONE):
            return False
        return await self.on_topic_lost(row)

    async def _blocked(self, row: QueuedMessage, result: DeliveryResult) -> None:
        await self._give_up(row, "failed", result.error or "blocked by the user", TeamText(_BLOCKED))
        if row.customer_id is not None:
            await self.customers.set_unreachable(row.customer_id, self.clock.now())
            await self.outbox.cancel_pending_for_customer(row.customer_id, "customer blocked the bot")

    async def _transient(self, row: QueuedMessage, result: DeliveryResult) -> str:
        """Telegram did not take it: try again later, with a growing pause, a few times."""
        if row.attempts + 1 >= self.policy.max_attempts:
            error = f"gave up after {row.attempts + 1} attempts: {result.error}"
            await self._give_up(row, "failed", error, TeamText(N_("Telegram could not be reached")))
            return "failed"
        backoff = timedelta(seconds=min(5 * 2**row.attempts, 3600))
        await self.outbox.retry_later(row.id, self.clock.now() + backoff, result.error or "transient error")
        return "retrying"

    async def _migrated(self, row: QueuedMessage, new_chat_id: int) -> None:
        """The group became a supergroup: this row and everything queued for the group follow it."""
        await self.outbox.release(row.id, self.clock.now(), f"chat moved to {new_chat_id}")
        moved = await self.outbox.move_chat(row.chat_id, new_chat_id)
        log.warning(
            "chat %s is now supergroup %s; %d queued message(s) follow it", row.chat_id, new_chat_id, moved
        )
        if self.on_migrate is not None:
            await self.on_migrate(row.chat_id, new_chat_id)

    def _halt(self, error: str) -> None:
        """A revoked token or a second instance: stop sending (one log line), leave every row pending."""
        if not self.halted:
            log.error(
                "Telegram refused the bot (%s): sending stops for %g s, queued messages stay pending. "
                "Check BOT_TOKEN and that only one instance of the bot runs.",
                error,
                self.policy.halt_seconds,
            )
        self._halted_until = self.clock.monotonic() + self.policy.halt_seconds


def _frees_at(day: list[datetime], week: list[datetime], day_limit: int, week_limit: int) -> datetime | None:
    """When a budget of `day_limit` per 24 h and `week_limit` per 7 days has room again, given the send times
    (oldest first); None when it has room now. A limit of zero never has room (`datetime.max`)."""
    if day_limit <= 0 or week_limit <= 0:
        return datetime.max.replace(tzinfo=UTC)
    frees = []
    if len(day) >= day_limit:
        frees.append(day[-day_limit] + timedelta(days=1))
    if len(week) >= week_limit:
        frees.append(week[-week_limit] + timedelta(days=7))
    return max(frees) if frees else None


# How Telegram says a forum topic no longer exists ("Bad Request: message thread not found", TOPIC_DELETED …).
_TOPIC_GONE = ("thread not found", "topic_deleted", "topic_id_invalid")
# Why a message someone relies on did not arrive, as the notice to them says (flows/i18n.py).
_MAYBE_LOST = N_("Telegram's answer was lost after sending")
_STOPPED_MID_SEND = N_("the bot stopped while sending")
_BLOCKED = N_("the customer has blocked the bot")
# How outcomes are counted in a drain's report.
_REPORTED = {
    Delivery.BLOCKED: "blocked",
    Delivery.REJECTED: "failed",
    Delivery.STOPPED: "halted",
}
