"""Property: whatever body and headers a client sends to the purchases API over HTTP, the answer is below
500 and nothing is logged as an error (no traceback).

The bot runs in a thread with its own event loop (hypothesis drives plain blocking HTTP from the test),
against a real SQLite file; no Telegram call is needed, as recording a purchase only queues messages.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App, create_app
from flows.clock import FakeClock
from flows.codes import grouped
from storage.customers import CustomersRepo
from tests.conftest import make_settings

TOKEN = "fuzz-api-token-0123456789"
TG_ID = 1001


@contextmanager
def api_in_thread(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """The app with its purchases API on a loopback port, one customer in the database; yields the port
    and that customer's card code."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[App, str]:
        settings_ = make_settings(tmp_path, "http://127.0.0.1:9", api_token=TOKEN, api_port=0)
        app = await create_app(settings_, clock=FakeClock())
        customer = await CustomersRepo(app.db).refresh_profile(TG_ID, "Anna", None, None, "en", FakeClock().now())
        assert customer is not None
        card = await app.services["loyalty"].card(customer.id)
        return app, grouped(card.card_code)

    app, card = asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    try:
        assert app.api is not None
        yield int(app.api.base_url.rsplit(":", 1)[1]), card
    finally:
        asyncio.run_coroutine_threadsafe(app.close(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def send(port: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("POST", "/api/purchases")
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


FIELDS = ["external_id", "card", "phone", "telegram_id", "amount", "category", "items", "purchased_at"]
odd_text = st.sampled_from(
    [
        "",
        " ",
        "12.345",
        "1,500",
        "1.50",
        "١٢٣",
        "12²",
        "NaN",
        "-0",
        "1e999999",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "2026-01-05T12:30:00",
        "yoga",
        "\ud800",
        "x" * 5000,
        "+380501234567",
    ]
) | st.text(max_size=30)
odd_number = (
    st.sampled_from([0, -1, 2**63, 2**64, -(2**63) - 1, 10**400, 1e308, 1e-320]) | st.integers() | st.floats()
)
scalar = st.none() | st.booleans() | odd_number | odd_text
junk = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


TEXTS = [
    "[" * 50_000,
    '{"amount": NaN}',
    '{"amount": Infinity}',
    "{}" * 3,
    "null",
    '{"amount": 1' + "0" * 5000 + "}",
    '{"a":' * 3000,
]


@st.composite
def bodies(draw: st.DrawFn, card: str) -> bytes:
    kind = draw(st.sampled_from(["object", "object", "object", "json", "bytes", "text"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "text":
        return draw(st.sampled_from(TEXTS)).encode()
    if kind == "json":
        return json.dumps(draw(junk)).encode()
    useful = {
        "card": st.sampled_from([card, card.lower(), "NOPE"]) | junk,
        "telegram_id": st.sampled_from([TG_ID, 0]) | junk,
        "amount": st.sampled_from(["10", 10, "10.5", 12.345]) | junk,
        "external_id": st.text(max_size=120) | junk,
    }
    chosen = draw(st.lists(st.sampled_from([*FIELDS, "colour"]), unique=True, max_size=len(FIELDS)))
    body = {name: draw(useful.get(name, junk)) for name in chosen}
    if draw(st.booleans()) and "items" not in body:
        body["items"] = draw(
            st.lists(
                st.dictionaries(st.sampled_from(["name", "quantity", "amount", "category"]), junk), max_size=3
            )
        )
    return json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")


authorization = (
    st.sampled_from([b"Bearer " + TOKEN.encode(), b"Bearer " + TOKEN.encode()])
    | st.binary(max_size=60).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))
    | st.just(b"Bearer \xc3\xa4\xff" + TOKEN.encode())
)
extra_headers = st.lists(
    st.tuples(
        st.sampled_from([b"Content-Type", b"X-Telegram-Bot-Api-Secret-Token", b"Accept-Charset"]),
        st.binary(max_size=30).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"")),
    ),
    max_size=2,
)


def test_random_bodies_and_headers_never_get_a_500(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with api_in_thread(tmp_path) as (port, card):

        @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(body=bodies(card), auth=authorization, headers=extra_headers)
        def probe(body: bytes, auth: bytes, headers: list[tuple[bytes, bytes]]) -> None:
            status = send(port, body, [(b"Authorization", auth), *headers])
            assert status < 500, (body[:300], auth, headers)

        probe()
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage() for record in errors]
