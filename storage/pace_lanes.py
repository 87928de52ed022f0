"""The send budget's lanes in PostgreSQL, shared by every bot process (migration 0024's twin).

A lane is a chat's token bucket and Telegram's pause for it; lane 0 is the whole bot's. A chat's lane
number is a keyed hash of its id (BLAKE2b, keyed with a secret every process knows and the database does
not: the bot token), so the table names nobody, not even a customer who was just forgotten; 64 bits make
two chats sharing a lane a non-event. Times are microseconds since the Unix epoch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from storage.db import Database

BOT_LANE = 0
_SPEND = "SELECT wait_us, lane_tat, lane_paused, bot_paused FROM pace_spend(?, ?, ?, ?, ?, ?)"
_HOLD = (
    "INSERT INTO pace_lanes (lane, paused_until) VALUES (?, ?)"
    " ON CONFLICT (lane) DO UPDATE SET paused_until = GREATEST(pace_lanes.paused_until, excluded.paused_until)"
)
# A lane whose bucket is full again and whose pause is over is the same as no row: dropping it changes
# nothing. Rows being spent from right now are skipped rather than waited for.
_PRUNE = (
    "DELETE FROM pace_lanes WHERE lane IN ("
    " SELECT lane FROM pace_lanes WHERE tat <= ? AND paused_until <= ? FOR UPDATE SKIP LOCKED)"
)


@dataclass(frozen=True)
class Bucket:
    """A token bucket as GCRA keeps it: microseconds per token and how many tokens it holds when full."""

    emission_us: int
    burst: int


@dataclass(frozen=True)
class Spent:
    """What `pace_spend` answered: 0 µs to wait when the tokens were taken, and the lanes as they now are."""

    wait_us: int
    tat: int  # the chat's bucket: its theoretical arrival time
    paused_until: int  # the chat's pause
    bot_paused_until: int


class PaceLanesRepo:
    """`pace_lanes` and `pace_spend`: one round trip per message, one statement per pause."""

    def __init__(self, db: Database, secret: bytes) -> None:
        self._db = db
        self._key = hashlib.blake2b(secret, digest_size=32).digest()  # any length of secret → a BLAKE2b key

    def lane_of(self, chat_id: int | None) -> int:
        """The lane of `chat_id` (None: the whole bot's, 0), a signed 64-bit number never 0 for a chat."""
        if chat_id is None:
            return BOT_LANE
        digest = hashlib.blake2b(str(chat_id).encode(), key=self._key, digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True) or 1

    async def spend(self, chat_id: int, now_us: int, chat: Bucket, bot: Bucket) -> Spent:
        """Take a token of the chat's and the bot's bucket at `now_us`, both or neither (see the migration)."""
        params = (self.lane_of(chat_id), now_us, chat.emission_us, chat.burst, bot.emission_us, bot.burst)
        async with self._db.serialized() as tx:  # a statement that commits alone: no writer's turn needed
            row = await tx.fetch_one(_SPEND, params)
        assert row is not None
        return Spent(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    async def hold(self, chat_id: int | None, until_us: int) -> None:
        """Nothing goes to the chat (None: to any chat) before `until_us`; a longer pause already held stays."""
        async with self._db.serialized() as tx:
            await tx.execute(_HOLD, (self.lane_of(chat_id), until_us))

    async def prune(self, now_us: int) -> int:
        """Drop the lanes that are idle at `now_us` (full bucket, no pause); returns how many."""
        async with self._db.serialized() as tx:
            return await tx.execute(_PRUNE, (now_us, now_us))

    async def count(self) -> int:
        """How many lanes are stored (the bot's included)."""
        return int(await self._db.fetch_value("SELECT COUNT(*) FROM pace_lanes") or 0)
