"""A sequence step can carry a coupon: each customer gets their own code, stock permitting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.content import example_content_path
from tests.conftest import Harness

WELCOME_1 = "Here is how it works"


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    """The welcome's first step hands out the limited `spring10` coupon (stock 5)."""
    raw = yaml.safe_load(example_content_path().read_text("utf-8"))
    raw["sequences"][0]["steps"][0]["coupon"] = "spring10"
    path = tmp_path / "content.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return {"content_file": str(path)}


def coupon_codes(text: str) -> list[str]:
    return re.findall(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", text)


async def test_each_customer_gets_their_own_code_until_the_stock_runs_out(harness: Harness) -> None:
    chats = [harness.chat(4000 + n, first_name=f"C{n}") for n in range(6)]
    for chat in chats:
        await chat.send("/start")
    await harness.advance(minutes=1)
    await harness.advance(seconds=2)
    steps = [next(m.plain_text for m in chat.messages() if WELCOME_1 in m.plain_text) for chat in chats]
    codes = [coupon_codes(text) for text in steps]
    with_coupon = [found[0] for found in codes if found]
    assert len(with_coupon) == 5 and len(set(with_coupon)) == 5  # unique codes, stock never exceeded
    assert "10% off any class" in next(text for text in steps if coupon_codes(text))
    assert sum(1 for found in codes if not found) == 1  # the sixth still gets the message, without a code
    owner_of_first = chats[[bool(found) for found in codes].index(True)]
    listing = "\n".join(m.plain_text for m in await owner_of_first.send("/coupons"))
    assert with_coupon[0].replace("-", "") in listing.replace("-", "")


async def test_the_coupon_is_issued_once_even_if_the_step_is_requeued(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    await harness.advance(minutes=1)
    for _ in range(3):
        await harness.advance(seconds=2)
    customer = await harness.services["customers"].repo.by_tg_id(1001)
    assert customer is not None
    coupons = await harness.services["coupons"].valid_for(customer.id)
    assert len(coupons) == 1
