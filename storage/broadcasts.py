"""Broadcasts: the wizard's draft, queuing into the outbox set-based, pause/resume/cancel, progress, results.

Queuing is `INSERT … SELECT` over the segment's query (storage/segments.py), a chunk of customer ids per
transaction: a 100,000-customer broadcast is a handful of statements, and the single writer is free
between chunks for the updates arriving meanwhile. The chunk cursor moves in the same transaction as the
rows it covers, and every row is keyed `bc:<broadcast>:<customer>`, so a crash mid-way resumes where it
stopped and never queues anyone twice.

Rows are spread over time at the send rate (`due_at` steps one second per `rate` rows), so messages
queued after a big broadcast (a receipt, a lead card) are not stuck behind all of it.

Pausing sets a flag the sender checks when listing and claiming rows (storage/outbox.py) and parks the
pending rows far in the future, so the due-rows index scan does not wade through them; resuming spreads
them out again from now.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from storage.db import Database, Row, Tx
from storage.dialect import engine_of, json_text, plus_seconds
from storage.segments import Filter, compile_segment, max_customer_id
from storage.staff import audit
from storage.timefmt import from_db, to_db

PARKED = "9999-12-31 00:00:00"  # due_at of a paused broadcast's rows
CANCELLED_NOTE = "broadcast cancelled"
LIVE_STATES = ("scheduled", "queuing", "sending")
DRAFT_FIELDS = frozenset({"step", "segment", "message", "buttons", "coupon", "coupon_limit", "send_at"})


@dataclass(frozen=True)
class Broadcast:
    id: int
    state: str
    step: str | None
    paused: bool
    created_by: int
    segment: str | None
    message: dict[str, Any] | None
    buttons: list[dict[str, Any]]
    coupon: str | None
    coupon_limit: int | None
    coupons_issued: int
    send_at: datetime | None
    audience: int
    queue_upto: int | None
    queued_upto: int
    progress_chat_id: int | None
    progress_message_id: int | None
    progress_text: str | None
    progress_at: datetime | None
    created_at: datetime
    confirmed_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    kept_results: dict[str, Any] | None = None  # frozen before its outbox rows were pruned

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


def _broadcast(row: Row) -> Broadcast:
    return Broadcast(
        id=row["id"],
        state=row["state"],
        step=row["step"],
        paused=bool(row["paused"]),
        created_by=row["created_by"],
        segment=row["segment"],
        message=json.loads(row["message"]) if row["message"] else None,
        buttons=json.loads(row["buttons"]) if row["buttons"] else [],
        coupon=row["coupon"],
        coupon_limit=row["coupon_limit"],
        coupons_issued=row["coupons_issued"],
        send_at=from_db(row["send_at"]),
        audience=row["audience"],
        queue_upto=row["queue_upto"],
        queued_upto=row["queued_upto"],
        progress_chat_id=row["progress_chat_id"],
        progress_message_id=row["progress_message_id"],
        progress_text=row["progress_text"],
        progress_at=from_db(row["progress_at"]),
        created_at=from_db(row["created_at"]),  # type: ignore[arg-type]
        confirmed_at=from_db(row["confirmed_at"]),
        started_at=from_db(row["started_at"]),
        finished_at=from_db(row["finished_at"]),
        kept_results=json.loads(row["results"]) if row["results"] else None,
    )


@dataclass(frozen=True)
class Counts:
    """Where a broadcast's rows stand."""

    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0  # by the owner, before they went out
    skipped: int = 0  # opted out or deleted their data before their turn
    remaining: int = 0
    postponed: int = 0  # remaining, waiting for quiet hours to end or the contact budget
    last_due: datetime | None = None

    @property
    def total(self) -> int:
        return self.delivered + self.blocked + self.failed + self.cancelled + self.skipped + self.remaining


@dataclass(frozen=True)
class Results:
    """What a broadcast achieved, for /broadcasts."""

    counts: Counts
    clicks: int = 0
    clickers: int = 0
    leads: int = 0
    purchases: int = 0
    revenue_cents: int = 0
    coupons_issued: int = 0
    coupons_redeemed: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        figures = asdict(self)
        figures["counts"].pop("last_due")
        return figures

    @classmethod
    def from_json(cls, figures: dict[str, Any]) -> Results:
        return cls(**{**figures, "counts": Counts(**figures["counts"])})


def _encode(name: str, value: object) -> object:
    if name in ("message", "buttons"):
        return None if value is None else json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return to_db(value)
    return value


class BroadcastsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._engine = engine_of(db)

    # ---- the wizard's draft -----------------------------------------------------------------------

    async def new_draft(self, created_by: int, now: datetime) -> Broadcast:
        """Start a draft for this person; an unfinished earlier one is discarded."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE broadcasts SET state = 'discarded', step = NULL WHERE created_by = ? AND state = 'draft'",
                (created_by,),
            )
            draft_id = await tx.insert(
                "INSERT INTO broadcasts (state, step, created_by, created_at) VALUES ('draft', 'segment', ?, ?)",
                (created_by, to_db(now)),
            )
            row = await tx.fetch_one("SELECT * FROM broadcasts WHERE id = ?", (draft_id,))
        assert row is not None
        return _broadcast(row)

    async def draft_of(self, created_by: int) -> Broadcast | None:
        row = await self._db.fetch_one(
            "SELECT * FROM broadcasts WHERE created_by = ? AND state = 'draft' ORDER BY id DESC LIMIT 1",
            (created_by,),
        )
        return _broadcast(row) if row else None

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self._db.fetch_one("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return _broadcast(row) if row else None

    async def author_language(self, broadcast: Broadcast) -> str | None:
        """The language its author uses in the bot (the one they chose, else Telegram's), for its progress."""
        row = await self._db.fetch_one(
            "SELECT COALESCE(chosen_language, language) FROM customers WHERE tg_id = ?", (broadcast.created_by,)
        )
        return None if row is None else row[0]

    async def update_draft(self, broadcast_id: int, created_by: int, **fields: object) -> bool:
        """Store wizard answers; only the draft's author can, and only while it is a draft."""
        unknown = set(fields) - DRAFT_FIELDS
        if unknown:
            raise ValueError(f"not draft fields: {sorted(unknown)}")
        names = sorted(fields)
        sets = ", ".join(f"{name} = ?" for name in names)
        changed = await self._db.execute(
            f"UPDATE broadcasts SET {sets} WHERE id = ? AND created_by = ? AND state = 'draft'",
            (*(_encode(name, fields[name]) for name in names), broadcast_id, created_by),
        )
        return changed == 1

    async def discard(self, broadcast_id: int, created_by: int) -> bool:
        changed = await self._db.execute(
            "UPDATE broadcasts SET state = 'discarded', step = NULL WHERE id = ? AND created_by = ? AND state = 'draft'",
            (broadcast_id, created_by),
        )
        return changed == 1

    async def confirm(
        self, broadcast_id: int, created_by: int, send_at: datetime | None, now: datetime, details: dict[str, Any]
    ) -> bool:
        """The draft becomes a broadcast: scheduled for `send_at`, or queuing at once; audited."""
        state = "scheduled" if send_at is not None else "queuing"
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET state = ?, step = NULL, send_at = ?, confirmed_at = ?"
                " WHERE id = ? AND created_by = ? AND state = 'draft'",
                (state, None if send_at is None else to_db(send_at), to_db(now), broadcast_id, created_by),
            )
            if changed:
                await audit(tx, created_by, "broadcast_confirmed", str(broadcast_id), now, **details)
        return changed == 1

    async def create(
        self, created_by: int, fields: dict[str, Any], request_key: str, now: datetime, details: dict[str, Any]
    ) -> tuple[Broadcast, bool]:
        """A confirmed broadcast in one step (the console's form): scheduled for `send_at`, or queuing at
        once; audited. The form's key makes a second submit return the first one's broadcast (created False)."""
        unknown = set(fields) - DRAFT_FIELDS
        if unknown:
            raise ValueError(f"not broadcast fields: {sorted(unknown)}")
        state = "scheduled" if fields.get("send_at") is not None else "queuing"
        names = sorted(set(fields) - {"step"})
        async with self._db.transaction() as tx:
            created = await tx.execute(
                f"INSERT INTO broadcasts (state, created_by, created_at, confirmed_at, request_key, {', '.join(names)})"
                f" VALUES (?, ?, ?, ?, ?, {', '.join('?' for _ in names)})"
                " ON CONFLICT (request_key) WHERE request_key IS NOT NULL DO NOTHING",
                (state, created_by, to_db(now), to_db(now), request_key, *(_encode(n, fields[n]) for n in names)),
            )
            row = await tx.fetch_one("SELECT * FROM broadcasts WHERE request_key = ?", (request_key,))
            assert row is not None
            if created:
                await audit(tx, created_by, "broadcast_confirmed", str(row["id"]), now, **details)
        return _broadcast(row), created == 1

    async def by_request_key(self, request_key: str) -> Broadcast | None:
        row = await self._db.fetch_one("SELECT * FROM broadcasts WHERE request_key = ?", (request_key,))
        return _broadcast(row) if row else None

    # ---- queuing -------------------------------------------------------------------------------------

    async def due_scheduled(self, now: datetime) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT id FROM broadcasts WHERE state = 'scheduled' AND send_at <= ? ORDER BY send_at, id",
            (to_db(now),),
        )
        return [int(row[0]) for row in rows]

    async def start(self, broadcast_id: int) -> bool:
        """A scheduled broadcast whose time has come starts queuing."""
        changed = await self._db.execute(
            "UPDATE broadcasts SET state = 'queuing' WHERE id = ? AND state = 'scheduled'", (broadcast_id,)
        )
        return changed == 1

    async def queuing(self) -> list[int]:
        rows = await self._db.fetch_all("SELECT id FROM broadcasts WHERE state = 'queuing' ORDER BY id")
        return [int(row[0]) for row in rows]

    async def queue_chunk(
        self,
        broadcast_id: int,
        filters: Sequence[Filter],
        payload: dict[str, Any],
        now: datetime,
        *,
        rate: float,
        chunk: int = 25_000,
    ) -> tuple[int, bool]:
        """Queue the next chunk of customer ids in one transaction; (rows queued, whether all are queued)."""
        segment = compile_segment(filters)
        async with self._db.transaction() as tx:
            row = await tx.fetch_one("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
            if row is None or row["state"] != "queuing":
                return 0, True
            broadcast = _broadcast(row)
            upto = broadcast.queue_upto
            if upto is None:  # fixed at the start: customers who arrive while it queues are not included
                upto = await max_customer_id(tx)
                # The message is stored once, here; each recipient's row holds only what is theirs ('{}').
                await tx.execute(
                    "UPDATE broadcasts SET queue_upto = ?, started_at = ?, payload = ? WHERE id = ?",
                    (upto, to_db(now), json.dumps(payload, ensure_ascii=False), broadcast_id),
                )
            start, end = broadcast.queued_upto, min(broadcast.queued_upto + chunk, upto)
            queued = 0
            if end > start:
                # A paused broadcast keeps queuing, but its rows are parked from the start.
                due = (
                    "?"
                    if broadcast.paused
                    else plus_seconds(
                        self._engine,
                        "?",
                        "(? + ROW_NUMBER() OVER (ORDER BY c.id) - 1) / CAST(? AS DOUBLE PRECISION)",
                    )
                )
                due_params: tuple[Any, ...] = (
                    (PARKED,) if broadcast.paused else (to_db(now), broadcast.audience, rate)
                )
                queued = await tx.execute(
                    "INSERT INTO outbox (idempotency_key, customer_id, chat_id, kind, payload, transactional,"
                    " broadcast_id, due_at, created_at)"
                    f" SELECT 'bc:' || ? || ':' || c.id, c.id, c.tg_id, 'broadcast', '{{}}', 0, ?, {due}, ?"
                    f" {segment.sql} AND c.id > ? AND c.id <= ? ORDER BY c.id"
                    " ON CONFLICT (idempotency_key) DO NOTHING",
                    (
                        broadcast_id,
                        broadcast_id,
                        *due_params,
                        to_db(now),
                        *segment.params,
                        start,
                        end,
                    ),
                )
            done = end >= upto
            await tx.execute(
                "UPDATE broadcasts SET queued_upto = ?, audience = audience + ?,"
                " state = CASE WHEN ? THEN 'sending' ELSE state END WHERE id = ?",
                (end, max(queued, 0), int(done), broadcast_id),
            )
        return max(queued, 0), done

    # ---- pause, resume, cancel --------------------------------------------------------------------------

    async def pause(self, broadcast_id: int, actor: int, now: datetime) -> bool:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET paused = 1 WHERE id = ? AND paused = 0"
                " AND state IN ('scheduled', 'queuing', 'sending')",
                (broadcast_id,),
            )
            if changed:
                await tx.execute(
                    "UPDATE outbox SET due_at = ? WHERE broadcast_id = ? AND state = 'pending'",
                    (PARKED, broadcast_id),
                )
                await audit(tx, actor, "broadcast_paused", str(broadcast_id), now)
        return changed == 1

    async def resume(self, broadcast_id: int, actor: int, now: datetime, rate: float) -> bool:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET paused = 0 WHERE id = ? AND paused = 1"
                " AND state IN ('scheduled', 'queuing', 'sending')",
                (broadcast_id,),
            )
            if changed:
                # Spread the parked rows out from now again, in their original order (ids are consecutive
                # within a chunk, so the id offset is their rank closely enough).
                first = await tx.fetch_one(
                    "SELECT MIN(id) FROM outbox WHERE broadcast_id = ? AND state = 'pending'", (broadcast_id,)
                )
                due = plus_seconds(self._engine, "?", "(id - ?) / CAST(? AS DOUBLE PRECISION)")
                await tx.execute(
                    f"UPDATE outbox SET due_at = {due} WHERE broadcast_id = ? AND state = 'pending'",
                    (to_db(now), first[0] if first and first[0] is not None else 0, rate, broadcast_id),
                )
                await audit(tx, actor, "broadcast_resumed", str(broadcast_id), now)
        return changed == 1

    async def cancel(self, broadcast_id: int, actor: int, now: datetime) -> int | None:
        """Cancel what has not gone out yet; the number of messages cancelled, None if nothing was live."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET state = 'cancelled', paused = 0, finished_at = ?, cancelled_by = ?"
                " WHERE id = ? AND state IN ('scheduled', 'queuing', 'sending')",
                (to_db(now), actor, broadcast_id),
            )
            if not changed:
                return None
            cancelled = await tx.execute(
                "UPDATE outbox SET state = 'cancelled', last_error = ? WHERE broadcast_id = ? AND state = 'pending'",
                (CANCELLED_NOTE, broadcast_id),
            )
            await audit(tx, actor, "broadcast_cancelled", str(broadcast_id), now, messages=cancelled)
        return cancelled

    async def finish_if_done(self, broadcast_id: int, now: datetime) -> bool:
        """A sending broadcast with nothing left waiting or in flight is done."""
        changed = await self._db.execute(
            "UPDATE broadcasts SET state = 'done', finished_at = ? WHERE id = ? AND state = 'sending'"
            " AND NOT EXISTS (SELECT 1 FROM outbox WHERE broadcast_id = ? AND state IN ('pending', 'sending'))",
            (to_db(now), broadcast_id, broadcast_id),
        )
        return changed == 1

    # ---- progress ------------------------------------------------------------------------------------------

    async def counts(self, broadcast_id: int) -> Counts:
        row = await self._db.fetch_one(
            "SELECT"
            " COUNT(CASE WHEN o.state = 'sent' THEN 1 END),"
            " COUNT(CASE WHEN o.state IN ('failed', 'cancelled') AND c.unreachable = 1 THEN 1 END),"
            " COUNT(CASE WHEN o.state IN ('failed', 'unknown') AND c.unreachable = 0 THEN 1 END),"
            " COUNT(CASE WHEN o.state = 'cancelled' AND c.unreachable = 0 AND o.last_error = ? THEN 1 END),"
            " COUNT(CASE WHEN o.state = 'cancelled' AND c.unreachable = 0 AND COALESCE(o.last_error, '') <> ? THEN 1 END),"
            " COUNT(CASE WHEN o.state IN ('pending', 'sending') THEN 1 END),"
            " COUNT(CASE WHEN o.state = 'pending' AND o.last_error IN ('quiet hours', 'contact budget') THEN 1 END),"
            " MAX(CASE WHEN o.state = 'pending' AND o.due_at <> ? THEN o.due_at END)"
            " FROM outbox o JOIN customers c ON c.id = o.customer_id WHERE o.broadcast_id = ?",
            (CANCELLED_NOTE, CANCELLED_NOTE, PARKED, broadcast_id),
        )
        assert row is not None
        delivered, blocked, failed, cancelled, skipped, remaining, postponed = (int(v) for v in tuple(row)[:7])
        return Counts(delivered, blocked, failed, cancelled, skipped, remaining, postponed, from_db(row[7]))

    async def with_progress(self, since: datetime) -> list[Broadcast]:
        """Broadcasts whose progress message may need an edit: live ones, and ones that ended lately."""
        rows = await self._db.fetch_all(
            "SELECT * FROM broadcasts WHERE progress_message_id IS NOT NULL AND (state IN ('scheduled', 'queuing',"
            " 'sending') OR (state IN ('done', 'cancelled') AND finished_at >= ?)) ORDER BY id",
            (to_db(since),),
        )
        return [_broadcast(row) for row in rows]

    async def sending(self) -> list[int]:
        rows = await self._db.fetch_all("SELECT id FROM broadcasts WHERE state = 'sending' ORDER BY id")
        return [int(row[0]) for row in rows]

    async def set_progress_message(
        self, broadcast_id: int, chat_id: int, message_id: int | None, text: str
    ) -> None:
        await self._db.execute(
            "UPDATE broadcasts SET progress_chat_id = ?, progress_message_id = ?, progress_text = ? WHERE id = ?",
            (chat_id, message_id, text, broadcast_id),
        )

    async def set_progress_text(self, broadcast_id: int, text: str, now: datetime) -> None:
        await self._db.execute(
            "UPDATE broadcasts SET progress_text = ?, progress_at = ? WHERE id = ?",
            (text, to_db(now), broadcast_id),
        )

    async def drop_progress_message(self, broadcast_id: int) -> None:
        """The progress message is gone (deleted in the chat): stop editing it."""
        await self._db.execute("UPDATE broadcasts SET progress_message_id = NULL WHERE id = ?", (broadcast_id,))

    # ---- customers' side ------------------------------------------------------------------------------

    async def delivered_to(self, broadcast_id: int, customer_id: int) -> bool:
        """The broadcast reached this customer (its row for them was sent)."""
        value = await self._db.fetch_value(
            "SELECT 1 FROM outbox WHERE idempotency_key = ? AND state = 'sent'",
            (f"bc:{broadcast_id}:{customer_id}",),
        )
        return value is not None

    async def carrying_coupon(self, campaign: str) -> list[Broadcast]:
        """Broadcasts not yet over (drafts, scheduled, going out) that carry coupons of `campaign`."""
        rows = await self._db.fetch_all(
            "SELECT * FROM broadcasts WHERE coupon = ? AND state IN ('draft', 'scheduled', 'queuing', 'sending')"
            " ORDER BY id",
            (campaign,),
        )
        return [_broadcast(row) for row in rows]

    # ---- results ---------------------------------------------------------------------------------------

    async def recent(self, limit: int = 10) -> list[Broadcast]:
        rows = await self._db.fetch_all(
            "SELECT * FROM broadcasts WHERE state NOT IN ('draft', 'discarded') ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_broadcast(row) for row in rows]

    async def results(self, broadcast: Broadcast, days: int) -> Results:
        """Delivery counts; clicks and leads from it; purchases and revenue within `days` of delivery.

        A purchase is attributed to the last broadcast delivered to that customer before it (last touch),
        when it happened within `days` after that delivery.
        """
        if broadcast.kept_results is not None:  # its rows were pruned: the figures kept at that moment
            return Results.from_json(broadcast.kept_results)
        counts = await self.counts(broadcast.id)
        clicks = await self._db.fetch_one(
            "SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM events WHERE kind = 'clicked' AND created_at >= ?"
            f" AND {json_text(self._engine, 'data', 'broadcast')} = ?",
            (to_db(broadcast.confirmed_at or broadcast.created_at), str(broadcast.id)),
        )
        leads = await self._db.fetch_value(
            "SELECT COUNT(*) FROM leads WHERE offer = ?", (offer_key(broadcast.id),)
        )
        bought = await self._db.fetch_one(
            "SELECT COUNT(*), COALESCE(SUM(p.amount_cents), 0) FROM outbox o"
            " JOIN purchases p ON p.customer_id = o.customer_id AND p.purchased_at >= o.sent_at"
            f" AND p.purchased_at < {plus_seconds(self._engine, 'o.sent_at', '?')}"
            " WHERE o.broadcast_id = ? AND o.state = 'sent'"
            " AND NOT EXISTS (SELECT 1 FROM outbox later WHERE later.customer_id = o.customer_id"
            " AND later.broadcast_id IS NOT NULL AND later.broadcast_id <> o.broadcast_id AND later.state = 'sent'"
            " AND later.sent_at > o.sent_at AND later.sent_at <= p.purchased_at)",
            (days * 86400, broadcast.id),
        )
        redeemed = await self._db.fetch_value(
            "SELECT COUNT(*) FROM coupons WHERE idempotency_key LIKE ? AND redeemed_at IS NOT NULL",
            (f"broadcast:{broadcast.id}:%",),
        )
        assert clicks is not None and bought is not None
        return Results(
            counts=counts,
            clicks=int(clicks[0]),
            clickers=int(clicks[1]),
            leads=int(leads or 0),
            purchases=int(bought[0]),
            revenue_cents=int(bought[1]),
            coupons_issued=broadcast.coupons_issued,
            coupons_redeemed=int(redeemed or 0),
        )

    async def keep_results(self, broadcast: Broadcast, days: int) -> Results:
        """Freeze an ended broadcast's figures on it, so they survive the pruning of its outbox rows."""
        results = await self.results(broadcast, days)
        await self._db.execute(
            "UPDATE broadcasts SET results = ? WHERE id = ? AND results IS NULL",
            (json.dumps(results.to_json()), broadcast.id),
        )
        return results


def offer_key(broadcast_id: int) -> str:
    """What a lead from a broadcast's "I'm interested" button carries as its offer."""
    return f"broadcast:{broadcast_id}"


async def take_coupon(tx: Tx, broadcast_id: int) -> bool:
    """Count one more coupon from this broadcast; False when its limit ("only 5") is reached."""
    changed = await tx.execute(
        "UPDATE broadcasts SET coupons_issued = coupons_issued + 1 WHERE id = ?"
        " AND (coupon_limit IS NULL OR coupons_issued < coupon_limit)",
        (broadcast_id,),
    )
    return changed == 1


async def give_back_coupon(tx: Tx, broadcast_id: int) -> None:
    await tx.execute("UPDATE broadcasts SET coupons_issued = coupons_issued - 1 WHERE id = ?", (broadcast_id,))


def since(now: datetime, hours: float) -> datetime:
    return now - timedelta(hours=hours)
