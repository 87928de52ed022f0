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
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.clock import Clock
from flows.sequences import CURSOR_KEY
from storage import retention as store
from storage.broadcasts import BroadcastsRepo
from storage.db import Database
from storage.kv import KvRepo

log = logging.getLogger(__name__)

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
        """Delete what is older than its window, in small batches; rows deleted per table."""
        now = self.clock.now()
        p, batch = self.policy, self.batch
        pruned: dict[str, int] = {}
        pruned["broadcast rows"] = await self._settle_broadcasts(now)
        if p.outbox_days:
            pruned["outbox"] = await store.prune_outbox(self.db, _ago(now, p.outbox_days), batch)
        if p.events_days:
            cursor = int(await KvRepo(self.db).get(CURSOR_KEY) or 0)
            pruned["events"] = await store.prune_events(
                self.db, _ago(now, p.events_days), cursor, KEPT_EVENTS, batch
            )
        if p.leads_days:
            pruned["leads"] = await store.prune_leads(self.db, _ago(now, p.leads_days), batch)
        for table, column, days in (
            ("audit_log", "created_at", p.audit_days),
            ("faq_log", "created_at", p.faq_log_days),
            ("sale_drafts", "updated_at", p.drafts_days),
            ("customer_messages", "created_at", CUSTOMER_MESSAGES_DAYS),
        ):
            if days:
                pruned[table] = await store.prune_by_time(self.db, table, column, _ago(now, days), batch)
        pruned["processed_updates"] = await store.prune_processed_updates(
            self.db, _ago(now, PROCESSED_UPDATES_DAYS), batch
        )
        if p.invites_days:
            pruned["staff_invites"] = await store.prune_invites(self.db, _ago(now, p.invites_days), batch)
        if p.broadcasts_days:
            pruned["broadcasts"] = await store.prune_ended_broadcasts(self.db, _ago(now, p.broadcasts_days), batch)
        if p.drafts_days:
            pruned["broadcast drafts"] = await store.prune_broadcast_drafts(
                self.db, _ago(now, p.drafts_days), batch
            )
        pruned = {table: n for table, n in pruned.items() if n}
        if pruned:
            log.info("retention: pruned %s", ", ".join(f"{n:,} {table}" for table, n in pruned.items()))
        return pruned

    async def _settle_broadcasts(self, now: datetime) -> int:
        """Freeze the figures of broadcasts whose attribution window has passed; then, once past the outbox
        window too, prune their recipients' rows (the bulk of a broadcast: one row per recipient)."""
        for broadcast_id in await store.broadcasts_to_settle(self.db, _ago(now, self.attribution_days)):
            broadcast = await self.broadcasts.get(broadcast_id)
            if broadcast is not None and broadcast.kept_results is None:
                await self.broadcasts.keep_results(broadcast, self.attribution_days)
        if not self.policy.outbox_days:
            return 0
        deleted = 0
        window = max(self.policy.outbox_days, self.attribution_days)
        for broadcast_id in await store.broadcasts_to_settle(self.db, _ago(now, window)):
            broadcast = await self.broadcasts.get(broadcast_id)
            if broadcast is not None and broadcast.kept_results is not None:
                deleted += await store.prune_broadcast_rows(self.db, broadcast_id, self.batch)
        return deleted


def _ago(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
