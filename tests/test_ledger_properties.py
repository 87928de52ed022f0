"""Property: whatever random mix of purchases, points payments, corrections and expiry happens, the
balance equals the ledger sum, what is left of the credits adds up to it, and it never goes below zero.

Runs the real flows on a real SQLite file (no Telegram): hypothesis drives many sequences quickly.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build_loyalty
from bot.settings import load_settings
from flows.clock import FakeClock
from flows.content import example_content_path, load_content
from flows.loyalty import NotEnoughPoints, open_lots
from flows.purchases import NewPurchase, PurchaseRefused
from storage.customers import CustomersRepo
from storage.db import Database
from tests import engines

purchase = st.tuples(
    st.just("buy"), st.decimals(min_value="0.01", max_value="5000", places=2), st.integers(0, 100)
)
correction = st.tuples(st.just("adjust"), st.integers(-400, 400).filter(bool), st.just(0))
time_passes = st.tuples(st.just("wait"), st.integers(1, 400), st.just(0))
expire = st.tuples(st.just("expire"), st.just(0), st.just(0))
steps = st.lists(st.one_of(purchase, correction, time_passes, expire), min_size=1, max_size=25)


async def scenario(folder: Path, plan: list[tuple[str, object, int]]) -> None:
    settings_ = load_settings(_env_file=None, bot_token="1:x", database_path=folder / "bot.db")
    content = load_content(example_content_path())
    clock = FakeClock()
    db = await Database.open(engines.target_for(folder))
    try:
        customers = CustomersRepo(db)
        anna = await customers.refresh_profile(1001, "Anna", None, None, "en", clock.now())
        assert anna is not None
        services = build_loyalty(settings_, content, clock, db, customers)
        loyalty, purchases, ledger = services["loyalty"], services["purchases"], services["ledger"]
        for number, (action, value, share) in enumerate(plan):
            before = await ledger.balance(anna.id)
            if action == "buy":
                amount = Decimal(str(value))
                # Ask to pay `share`% of what may be paid with points (sometimes more than allowed).
                wanted = int(amount * Decimal(share) / 100)
                try:
                    await purchases.record(
                        NewPurchase(anna.id, amount, "api", external_id=f"p{number}", points_to_spend=wanted)
                    )
                except PurchaseRefused:
                    assert await ledger.balance(anna.id) == before  # refused: nothing half-written
            elif action == "adjust":
                assert isinstance(value, int)
                try:
                    await loyalty.adjust(anna, value, "test", actor_tg_id=1)
                except NotEnoughPoints:
                    assert value < 0
            elif action == "wait":
                assert isinstance(value, int)
                clock.advance(timedelta(days=value))
            else:
                await loyalty.expire_all()
            entries = await ledger.entries(anna.id)
            balance = await ledger.balance(anna.id)
            assert balance == sum(entry.delta for entry in entries)
            assert balance >= 0
            assert sum(lot.remaining for lot in open_lots(entries)) == balance
            assert len({entry.key for entry in entries}) == len(entries)  # nothing applied twice
            if action == "expire":
                assert all(lot.expires_at is None or lot.expires_at > clock.now() for lot in open_lots(entries))
        accruals = [entry.purchase_id for entry in await ledger.entries(anna.id) if entry.kind == "accrual"]
        assert len(accruals) == len(set(accruals))  # no purchase earned twice
    finally:
        await db.close()
        if engines.ON_POSTGRES:
            engines.forget_databases()  # one database per example: dropped at once, not after all of them


# On PostgreSQL each example makes and drops a database (~0.8 s): fewer examples keep the test short there.
@settings(
    max_examples=5 if engines.ON_POSTGRES else 25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(plan=steps)
def test_balance_is_the_ledger_sum_and_never_negative(plan: list[tuple[str, object, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(scenario(Path(folder), plan))
