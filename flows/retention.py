"""Bounded storage: the daily job prunes what is old and finished, so the database grows with the retention
windows, not with the age of the business.

Windows are in days; 0 keeps a kind of row forever. What analytics and attribution read is kept as long as
they read it: a broadcast's figures are frozen on it once its attribution window has passed, before its
outbox rows go; events the sequences have not read yet stay; lifecycle and consent events (started,
opted in/out, referred, forgotten) are one or two per customer and stay. Purchases and the points ledger are
the books: never pruned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from flows.clock import Clock
from flows.sequences import CURSOR_KEY
from storage import retention as store
from storage.broadcasts import BroadcastsRepo
from storage.db import Database
from storage.kv import KvRepo

log = logging.getLogger(__name__)
Prune = Callable[[datetime], Awaitable[int]]  # rows older than the moment → how many were deleted

# Few per customer, and what referrals ("was this person here before?") and consent questions read.
KEPT_EVENTS = ("started", "opted_in", "opted_out", "referred", "forgotten")
PROCESSED_UPDATES_DAYS = 3  # Telegram re-delivers an unconfirmed update for about a day
CUSTOMER_MESSAGES_DAYS = 90  # the lead card shows a customer's last few messages


@dataclass(frozen=True)
class RetentionPolicy:
    """How many days each kind of finished row is kept; 0 keeps it forever."""

    events_days: int = 180
    outbox_days: int = 90
    audit_days: int = 365
    faq_log_days: int = 180
    leads_days: int = 365
    drafts_days: int = 30
    invites_days: int = 30
    broadcasts_days: int = 365


@dataclass
class Retention:
    db: Database
    broadcasts: BroadcastsRepo
    clock: Clock
    policy: RetentionPolicy
    attribution_days: int
    batch: int = store.BATCH

    async def prune(self) -> dict[str, int]:
        """Delete what is older than its window, in small batches; rows deleted per table. A table that
        fails is logged and skipped: housekeeping never stops the daily triggers or the other tables."""
        pruned: dict[str, int] = {}
        for name, step in self.plan(self.clock.now()):
            try:
                pruned[name] = await step()
            except Exception:
                log.exception("retention: pruning %s failed; the next daily run tries again", name)
        pruned = {name: n for name, n in pruned.items() if n}
        if pruned:
            log.info("retention: pruned %s", ", ".join(f"{n:,} {name}" for name, n in pruned.items()))
        return pruned

    def plan(self, now: datetime) -> list[tuple[str, Callable[[], Awaitable[int]]]]:
        """What `prune` runs, in order (a broadcast's figures before its rows, leads before their cards);
        a window of 0 keeps its rows forever."""
        p, db, batch = self.policy, self.db, self.batch

        def by_time(table: str, column: str) -> Prune:
            return lambda before: store.prune_by_time(db, table, column, before, batch)

        windows: list[tuple[str, int, Prune]] = [
            ("broadcast rows", self.attribution_days, self._settle_broadcasts),
            ("processed_updates", PROCESSED_UPDATES_DAYS, by_time("processed_updates", "seen_at")),
            ("customer_messages", CUSTOMER_MESSAGES_DAYS, by_time("customer_messages", "created_at")),
            ("outbox", p.outbox_days, lambda before: store.prune_outbox(db, before, batch)),
            ("events", p.events_days, self._prune_events),
            ("leads", p.leads_days, lambda before: store.prune_leads(db, before, batch)),
            ("audit_log", p.audit_days, by_time("audit_log", "created_at")),
            ("faq_log", p.faq_log_days, by_time("faq_log", "created_at")),
            ("sale_drafts", p.drafts_days, by_time("sale_drafts", "updated_at")),
            ("staff_invites", p.invites_days, lambda before: store.prune_invites(db, before, batch)),
            ("broadcasts", p.broadcasts_days, lambda before: store.prune_ended_broadcasts(db, before, batch)),
            ("broadcast drafts", p.drafts_days, lambda before: store.prune_broadcast_drafts(db, before, batch)),
        ]
        return [(name, partial(prune, _ago(now, days))) for name, days, prune in windows if days]

    async def _prune_events(self, before: datetime) -> int:
        cursor = int(await KvRepo(self.db).get(CURSOR_KEY) or 0)  # what the sequences have not read stays
        return await store.prune_events(self.db, before, cursor, KEPT_EVENTS, self.batch)

    async def _settle_broadcasts(self, attributed_before: datetime) -> int:
        """Freeze the figures of broadcasts that ended before their attribution window; once past the
        outbox window too, prune their recipients' rows (the bulk of a broadcast: one row per recipient)."""
        for broadcast_id in await store.broadcasts_to_settle(self.db, attributed_before):
            broadcast = await self.broadcasts.get(broadcast_id)
            if broadcast is not None and broadcast.kept_results is None:
                await self.broadcasts.keep_results(broadcast, self.attribution_days)
        if not self.policy.outbox_days:
            return 0
        deleted = 0
        window = max(self.policy.outbox_days, self.attribution_days)
        for broadcast_id in await store.broadcasts_to_settle(self.db, _ago(self.clock.now(), window)):
            broadcast = await self.broadcasts.get(broadcast_id)
            if broadcast is not None and broadcast.kept_results is not None:
                deleted += await store.prune_broadcast_rows(self.db, broadcast_id, self.batch)
        return deleted


def _ago(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
