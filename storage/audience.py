"""Who counts as a customer and who can be reached: the ONE definition every figure, segment and export uses.

- A customer is anyone in `customers` who is not on the team: owners (OWNER_IDS, kept in `owners` by
  `set_owners` whenever the bot or the CLI opens the database) and staff not revoked (the `team` view,
  migration 0009). A forgotten customer (no Telegram id) is still a customer, anonymous.
- Reachable: a customer who has pressed /start (`started_at`), not opted out, not blocked the bot, not
  forgotten. An imported customer who never opened the bot is not reachable.

The fragments take the table alias so they can be used in any query; they have no parameters.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.db import Database


def is_customer(alias: str = "c") -> str:
    """SQL: the row `alias` of customers is a customer (not an owner, not active staff)."""
    return f"({alias}.tg_id IS NULL OR {alias}.tg_id NOT IN (SELECT tg_id FROM team))"


def is_reachable(alias: str = "c") -> str:
    """SQL: a customer the bot may write to (started it, subscribed, not blocked, not forgotten)."""
    return (
        f"({alias}.tg_id IS NOT NULL AND {alias}.started_at IS NOT NULL AND {alias}.opted_out = 0"
        f" AND {alias}.unreachable = 0 AND {is_customer(alias)})"
    )


async def set_owners(db: Database, owner_ids: Iterable[int]) -> None:
    """Make `owners` exactly OWNER_IDS (an empty list leaves no owners), in one transaction."""
    ids = sorted(set(owner_ids))
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM owners")
        await tx.executemany("INSERT INTO owners (tg_id) VALUES (?)", [(tg_id,) for tg_id in ids])
