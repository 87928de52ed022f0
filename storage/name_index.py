"""The customer search's name index after an erasure: what each engine must do so no erased name lingers.

SQLite (migration 0017) keeps names in an FTS5 table that triggers update; a deleted entry stays in the
index's segments until they are merged, so an erasure asks for the merge. PostgreSQL's index (its 0017) is
a GIN index over the customer row's own columns: the erasing UPDATE already replaced the row's entry in
the same transaction, and the old entry belongs to the dead row version that VACUUM reclaims with it —
there is nothing more to ask for.
"""

from __future__ import annotations

from storage.db import Tx
from storage.sqlite import SqliteTx


async def drop_erased_names(tx: Tx) -> None:
    """In the transaction that blanked a customer's names: drop them from the search index's files too."""
    if isinstance(tx, SqliteTx):
        await tx.execute("INSERT INTO customer_names (customer_names) VALUES ('optimize')")
