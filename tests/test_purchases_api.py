"""POST /api/purchases over real HTTP: 201, idempotent by external_id (also when sent at once), 401, 422."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from bot.sandbox.driver import ChatDriver
from tests.conftest import Harness
from tests.loyalty_helpers import all_text, balance, card_code, customer, deliver

TOKEN = "test-api-token-0123456789"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"api_token": TOKEN, "api_port": 0}


async def post(harness: Harness, body: Any, *, token: str | None = TOKEN) -> tuple[int, dict[str, Any]]:
    assert harness.app.api is not None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{harness.app.api.base_url}/api/purchases", data=data, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_a_purchase_is_recorded_and_the_customer_thanked(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    status, body = await post(
        harness, {"external_id": "crm-1", "card": code, "amount": "1500.50", "category": "yoga"}
    )
    assert status == 201
    assert (body["number"], body["amount"], body["points_earned"], body["duplicate"]) == (1, "1500.50", 45, False)
    await deliver(harness, 1)
    assert "Thank you for your purchase" in all_text(chat)


async def test_the_same_external_id_is_recorded_once_even_at_once(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    payload = {"external_id": "crm-7", "card": code, "amount": 300}
    results = await asyncio.gather(*(post(harness, payload) for _ in range(6)))
    assert sorted(status for status, _ in results) == [200, 200, 200, 200, 200, 201]
    assert {body["purchase_id"] for _, body in results} == {results[0][1]["purchase_id"]}
    assert await harness.services["purchases_repo"].count() == 1
    assert await balance(harness) == 9 + 50


async def test_by_phone_and_by_telegram_id(harness: Harness, chat: ChatDriver) -> None:
    await chat.send("/start")
    await chat.share_contact("380501234567")
    status, _ = await post(harness, {"external_id": "a", "phone": "+38 (050) 123-45-67", "amount": "10"})
    assert status == 201
    status, body = await post(harness, {"external_id": "b", "telegram_id": 1001, "amount": "10"})
    assert (status, body["number"]) == (201, 2)


@pytest.mark.parametrize("token", [None, "wrong-token-wrong-token", TOKEN.upper()])
async def test_a_wrong_or_missing_token_gets_401(harness: Harness, chat: ChatDriver, token: str | None) -> None:
    code = await card_code(chat)
    status, body = await post(harness, {"external_id": "x", "card": code, "amount": "10"}, token=token)
    assert status == 401 and "unauthorized" in body["error"]
    assert await harness.services["purchases_repo"].count() == 0


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"card": "{code}", "amount": "10"}, {"external_id"}),
        ({"external_id": "x", "card": "{code}", "amount": "-5"}, {"amount"}),
        ({"external_id": "x", "card": "{code}", "amount": "0"}, {"amount"}),
        ({"external_id": "x", "card": "{code}", "amount": "9999999"}, {"amount"}),
        ({"external_id": "x", "card": "{code}", "amount": True}, {"amount"}),
        ({"external_id": "x", "card": "NOPE99", "amount": "10"}, {"card"}),
        ({"external_id": "x", "amount": "10"}, {"card"}),
        ({"external_id": "x", "card": "{code}", "amount": "10", "category": "cars"}, {"category"}),
        ({"external_id": "x", "card": "{code}", "amount": "10", "purchased_at": "yesterday"}, {"purchased_at"}),
        ({"external_id": "x", "card": "{code}", "amount": "10", "items": [{"qty": 1}]}, {"items[0].name"}),
        ({"external_id": "x", "card": "{code}", "amount": "10", "colour": "red"}, {"colour"}),
        ({"external_id": "", "amount": "abc"}, {"external_id", "amount", "card"}),
    ],
)
async def test_bad_fields_get_422_naming_them(
    harness: Harness, chat: ChatDriver, payload: dict[str, Any], fields: set[str]
) -> None:
    code = await card_code(chat)
    body = json.loads(json.dumps(payload).replace("{code}", code))
    status, answer = await post(harness, body)
    assert status == 422
    assert {error["field"] for error in answer["errors"]} == fields
    assert await harness.services["purchases_repo"].count() == 0


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
async def test_a_body_that_is_not_a_json_object_gets_422(harness: Harness, raw: str) -> None:
    status, answer = await post(harness, raw)
    assert status == 422 and answer["errors"][0]["field"] == "body"


async def test_a_late_report_records_without_messaging_or_sequences(harness: Harness, chat: ChatDriver) -> None:
    code = await card_code(chat)
    body = {"external_id": "old", "card": code, "amount": "100", "purchased_at": "2025-12-01T10:00:00+02:00"}
    status, _ = await post(harness, body)
    assert status == 201
    await deliver(harness, 1)
    assert "Thank you for your purchase" not in all_text(chat)
    kinds = await harness.services["events"].kinds_for((await customer(harness)).id)
    assert "purchase_imported" in kinds and "purchase" not in kinds


async def test_without_a_token_setting_there_is_no_api(emu: Any, tmp_path: Any) -> None:
    from bot.app import create_app
    from tests.conftest import make_settings

    app = await create_app(make_settings(tmp_path, emu.api_base))
    try:
        assert app.api is None
    finally:
        await app.close()


# --- amounts are decimals: no thousands-separator guessing in an API ----------------------------


@pytest.mark.parametrize(
    "amount",
    [
        '"12.345"',
        '"1.005"',
        '"0.001"',
        "12.345",
        "0.001",
        '"1,500"',
        '"1 500"',
        '"١٢"',
        '"12²"',
        '"1e3"',
        "1e-7",
        '"NaN"',
        "NaN",
        "Infinity",
        "1e999999",
        "-1e999999",
        "123456789012345678901234567890",
        '"12."',
        '".5"',
    ],
)
async def test_an_amount_that_is_not_a_plain_decimal_gets_422_naming_it(
    harness: Harness, chat: ChatDriver, amount: str
) -> None:
    code = await card_code(chat)
    status, answer = await post(harness, f'{{"external_id": "x", "card": "{code}", "amount": {amount}}}')
    assert status == 422, answer
    assert [error["field"] for error in answer["errors"]] in (["amount"], ["body"])
    assert await harness.services["purchases_repo"].count() == 0


@pytest.mark.parametrize(
    ("amount", "recorded"),
    [
        ('"1.50"', "1.50"),
        ("12.34", "12.34"),
        ("1500", "1500.00"),
        ('" 7 "', "7.00"),
        ("1.5e2", "150.00"),
        ('"1.500"', "1.50"),
    ],
)
async def test_a_decimal_amount_is_recorded_exactly(
    harness: Harness, chat: ChatDriver, amount: str, recorded: str
) -> None:
    code = await card_code(chat)
    status, answer = await post(harness, f'{{"external_id": "x", "card": "{code}", "amount": {amount}}}')
    assert (status, answer["amount"]) == (201, recorded)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"purchased_at": "0001-01-01T00:00:00+05:00"}, "purchased_at"),
        ({"purchased_at": "9999-12-31T23:59:59-05:00"}, "purchased_at"),
        ({"purchased_at": "1970-01-01T00:00:00Z"}, "purchased_at"),
        ({"items": [{"name": "tea", "quantity": "1e999999"}]}, "items[0].quantity"),
        ({"items": [{"name": "tea", "amount": -1}]}, "items[0].amount"),
        ({"items": [{"name": "tea", "category": {"a": 1}}]}, "items[0].category"),
        ({"external_id": "x\ud800"}, "external_id"),
    ],
)
async def test_extreme_dates_numbers_and_broken_text_get_422(
    harness: Harness, chat: ChatDriver, extra: dict[str, Any], field: str
) -> None:
    code = await card_code(chat)
    status, answer = await post(harness, {"external_id": "x", "card": code, "amount": "10", **extra})
    assert status == 422, answer
    assert field in {error["field"] for error in answer["errors"]}
    assert await harness.services["purchases_repo"].count() == 0


async def test_a_telegram_id_beyond_64_bits_gets_422(harness: Harness) -> None:
    status, answer = await post(harness, {"external_id": "x", "telegram_id": 2**70, "amount": "10"})
    assert status == 422 and answer["errors"][0]["field"] == "telegram_id"


@pytest.mark.parametrize("raw", ["[" * 100_000, '{"a": NaN}', b"\xff\xfe{}"])
async def test_deep_nesting_constants_and_bad_bytes_get_422(harness: Harness, raw: str | bytes) -> None:
    assert harness.app.api is not None
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{harness.app.api.base_url}/api/purchases", data=raw, headers=headers) as response,
    ):
        assert response.status == 422
        assert (await response.json())["errors"][0]["field"] == "body"


@pytest.mark.parametrize("raw_token", [b"\xff\xfe" + TOKEN.encode(), "ä".encode() * 20, TOKEN.encode() + b"\x80"])
async def test_a_token_with_bytes_that_are_not_utf8_gets_401(harness: Harness, raw_token: bytes) -> None:
    assert harness.app.api is not None
    port = int(harness.app.api.base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = b'{"external_id": "x", "telegram_id": 1001, "amount": "10"}'
    writer.write(
        b"POST /api/purchases HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
        + raw_token
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    answer = await asyncio.wait_for(reader.read(), 15)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:100]
    assert await harness.services["purchases_repo"].count() == 0
