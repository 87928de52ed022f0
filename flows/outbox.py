"""The single sender: drains the outbox under Telegram's rate limits and the no-spam rules.

Rules are checked when a message is about to go, not only when it was queued: a customer who opted out
or blocked the bot in the meantime gets nothing; quiet hours and the contact budget move a message
later instead of dropping it. A row is claimed before the call and confirmed after, so after a crash
a row whose fate is unknown is never sent again (a missed message is better than spam).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo

from flows.chat_actions import ACTION_KIND, ChatActions
from flows.clock import Clock
from flows.markup import trusted
from flows.messenger import Delivery, DeliveryResult, Messenger, Outgoing
from storage.customers import Customer, CustomersRepo
from storage.outbox import NewMessage, OutboxRepo, QueuedMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendPolicy:
    rate_per_second: float = 25.0
    per_chat_interval: float = 1.0
    per_group_interval: float = 3.0  # Telegram allows about 20 messages a minute in one group
    quiet_start: time | None = time(21, 0)  # None switches quiet hours off
    quiet_end: time = time(9, 0)
    budget_day: int = 2
    budget_week: int = 6
    max_attempts: int = 5
    concurrency: int = 8
    horizon: float = 5.0  # how long one drain may wait for busy chats before leaving them to the next
    zone: tzinfo = UTC


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
    """Drains due outbox rows; one instance per process (its pacing state is in memory)."""

    def __init__(
        self,
        outbox: OutboxRepo,
        customers: CustomersRepo,
        messenger: Messenger,
        clock: Clock,
        policy: SendPolicy,
        actions: ChatActions | None = None,
    ) -> None:
        self.outbox = outbox
        self.customers = customers
        self.messenger = messenger
        self.actions = actions  # rows of kind `chat_action` (flows/chat_actions.py) go here, not to the messenger
        self.clock = clock
        self.policy = policy
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._last_to_chat: dict[int, float] = {}
        self._sending: set[int] = set()  # chats with a message in flight: the next one waits for it
        self._lock = asyncio.Lock()

    def earliest_send(self, moment: datetime) -> datetime:
        """When a proactive message due at `moment` can go out, as far as quiet hours go."""
        return quiet_until(moment, self.policy) or moment

    async def wait_idle(self) -> None:
        """Return once no drain is running (used at shutdown)."""
        async with self._lock:
            pass

    async def recover(self) -> int:
        """At start-up: rows left 'sending' by a crash become 'unknown' and are never resent."""
        lost = await self.outbox.recover_interrupted()
        if lost:
            log.warning("%d message(s) were interrupted mid-send by a crash; not resending them", lost)
        return lost

    async def drain(self, limit: int = 500) -> DrainReport:
        """Send what is due now, at most `limit` rows; one drain at a time.

        Rows go out in due order, each chat's in its own order. A chat written to less than its interval
        ago (1 s, 3 s for a group) is waited for while other chats are served, up to `horizon` seconds;
        what is left then waits for the next drain.
        """
        report = DrainReport()
        async with self._lock:
            queue = await self.outbox.due(self.clock.now(), limit)
            gate = asyncio.Semaphore(self.policy.concurrency)
            self._sending.clear()
            deadline = self.clock.monotonic() + self.policy.horizon
            async with asyncio.TaskGroup() as group:
                while queue:
                    row = self._next_ready(queue)
                    if row is None:
                        if not await self._wait_for_a_chat(queue, deadline):
                            break
                        continue
                    queue.remove(row)
                    if not await self._allowed(row, report):
                        continue
                    resolved = await self._resolve_reply(row)
                    if resolved is None:  # its target is not sent yet: this chat waits for the next drain
                        report.add("waiting")
                        queue = [other for other in queue if other.chat_id != row.chat_id]
                        continue
                    await gate.acquire()
                    await self._pace()
                    if not await self.outbox.claim(resolved.id, self.clock.now()):
                        gate.release()
                        continue
                    self._sending.add(resolved.chat_id)
                    self._last_to_chat[resolved.chat_id] = self.clock.monotonic()
                    group.create_task(self._send(resolved, report, gate))
            for _ in queue:
                report.add("waiting")
        self._forget_old_chats()
        return report

    def _next_ready(self, queue: list[QueuedMessage]) -> QueuedMessage | None:
        """The first row whose chat may be written to now; only a chat's first row counts (its order)."""
        looked: set[int] = set()
        for row in queue:
            if row.chat_id in looked:
                continue
            looked.add(row.chat_id)
            if row.chat_id not in self._sending and self._free_in(row.chat_id) <= 0:
                return row
        return None

    async def _wait_for_a_chat(self, queue: list[QueuedMessage], deadline: float) -> bool:
        """Wait until some queued chat may be written to; False when that is past the deadline."""
        chats = {row.chat_id for row in queue}
        idle = [self._free_in(chat) for chat in chats if chat not in self._sending]
        wait = min(idle) if idle else self.policy.per_chat_interval
        if self.clock.monotonic() + wait > deadline:
            return False
        if idle:
            await self.clock.sleep(max(wait, 0.0))
        else:  # every waiting chat has a send in flight: let one finish
            await asyncio.sleep(0.01)
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

    async def _give_up(self, row: QueuedMessage, state: str, reason: str, why: str) -> None:
        """End a row for good; a row that asked to be reported (`on_fail`) queues its notice with it."""
        notice = row.payload.get("on_fail")
        follow_up = None
        if notice:
            text = trusted(str(notice["text"])).replace("{reason}", why)  # queued as Html; `why` is escaped
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
        await self.outbox.finish(row.id, state, reason, follow_up, self.clock.now())

    async def _allowed(self, row: QueuedMessage, report: DrainReport) -> bool:
        """Check opt-out, reachability, quiet hours and the contact budget; act on a no."""
        customer = await self.customers.get(row.customer_id) if row.customer_id else None
        if row.customer_id and (customer is None or customer.tg_id is None):
            await self._give_up(row, "cancelled", "customer data deleted", "the customer deleted their data")
            report.add("cancelled")
            return False
        if customer is not None and customer.unreachable:
            await self._give_up(row, "cancelled", "customer blocked the bot", "the customer has blocked the bot")
            report.add("cancelled")
            return False
        if row.transactional:
            return True
        if customer is not None and customer.opted_out:
            await self.outbox.finish(row.id, "cancelled", "customer opted out")
            report.add("cancelled")
            return False
        later = quiet_until(self.clock.now(), self.policy)
        if later is not None:
            await self.outbox.postpone(row.id, later, "quiet hours")
            report.add("postponed")
            return False
        if customer is not None:
            budget_free = await self._budget_frees_at(customer)
            if budget_free is not None:
                await self.outbox.postpone(row.id, budget_free, "contact budget")
                report.add("postponed")
                return False
        return True

    async def _budget_frees_at(self, customer: Customer) -> datetime | None:
        """When the customer may next get a proactive message, or None if they may now."""
        now = self.clock.now()
        week = await self.outbox.proactive_sent_since(customer.id, now - timedelta(days=7))
        day = [moment for moment in week if moment > now - timedelta(days=1)]
        frees = []
        if len(day) >= self.policy.budget_day:
            frees.append(day[-self.policy.budget_day] + timedelta(days=1))
        if len(week) >= self.policy.budget_week:
            frees.append(week[-self.policy.budget_week] + timedelta(days=7))
        return max(frees) if frees else None

    async def _pace(self) -> None:
        """Wait for a global send slot (rate limit) and for any Telegram-imposed pause."""
        now = self.clock.monotonic()
        wait = max(self._next_slot, self._paused_until) - now
        if wait > 0:
            await self.clock.sleep(wait)
            now = self.clock.monotonic()
        self._next_slot = max(now, self._next_slot) + 1.0 / self.policy.rate_per_second

    def _free_in(self, chat_id: int) -> float:
        """Seconds until this chat may get its next message (≤ 0: now)."""
        last = self._last_to_chat.get(chat_id)
        if last is None:
            return 0.0
        interval = self.policy.per_group_interval if chat_id < 0 else self.policy.per_chat_interval
        return last + interval - self.clock.monotonic()

    def _forget_old_chats(self) -> None:
        horizon = self.clock.monotonic() - max(self.policy.per_chat_interval, self.policy.per_group_interval)
        if len(self._last_to_chat) > 10_000:
            self._last_to_chat = {c: t for c, t in self._last_to_chat.items() if t > horizon}

    async def _send(self, row: QueuedMessage, report: DrainReport, gate: asyncio.Semaphore) -> None:
        try:
            if row.kind == ACTION_KIND:
                result = await self._perform(row)
            else:
                result = await self.messenger.deliver(row.chat_id, Outgoing.from_payload(row.payload))
            await self._settle(row, result, report)
        finally:
            self._sending.discard(row.chat_id)
            gate.release()

    async def _perform(self, row: QueuedMessage) -> DeliveryResult:
        if self.actions is None:
            return DeliveryResult(Delivery.REJECTED, error="no executor for chat actions")
        return await self.actions.perform(row.chat_id, row.payload)

    async def _settle(self, row: QueuedMessage, result: DeliveryResult, report: DrainReport) -> None:
        now = self.clock.now()
        if result.status is Delivery.SENT:
            await self.outbox.mark_sent(row.id, result.message_id, now)
            report.add("sent")
        elif result.status is Delivery.RETRY_AFTER:
            # Telegram's pause applies to every send from this bot, not just this chat.
            self._paused_until = max(self._paused_until, self.clock.monotonic() + result.retry_after)
            await self.outbox.release(row.id, now, f"429: retry after {result.retry_after:g}s")
            report.add("retry_after")
        elif result.status is Delivery.BLOCKED:
            await self._give_up(
                row, "failed", result.error or "blocked by the user", "the customer has blocked the bot"
            )
            if row.customer_id is not None:
                await self.customers.set_unreachable(row.customer_id, now)
                await self.outbox.cancel_pending_for_customer(row.customer_id, "customer blocked the bot")
            report.add("blocked")
        elif result.status is Delivery.REJECTED:
            error = result.error or "rejected by Telegram"
            await self._give_up(row, "failed", error, f"Telegram refused it: {error}")
            report.add("failed")
        elif row.attempts + 1 >= self.policy.max_attempts:
            await self._give_up(
                row,
                "failed",
                f"gave up after {row.attempts + 1} attempts: {result.error}",
                "Telegram could not be reached",
            )
            report.add("failed")
        else:
            backoff = timedelta(seconds=min(5 * 2**row.attempts, 3600))
            await self.outbox.retry_later(row.id, now + backoff, result.error or "transient error")
            report.add("retrying")
