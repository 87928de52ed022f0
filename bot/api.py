"""The purchases API for shops and CRMs: `POST /api/purchases`, JSON, a bearer token, idempotent by
the sender's `external_id`. It calls the same `Purchases.record` as the cashier's /sale and the CSV
import, so a purchase is recorded the same way whichever door it came through.

Answers: 201 recorded, 200 the same external_id again (nothing new written), 401 wrong or missing token,
422 with `{"errors": [{"field": …, "message": …}]}` for anything the sender can fix.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.http_server import HttpLimits, limited_app, start_server
from flows.codes import normalize
from flows.content import Content
from flows.purchases import NewPurchase, PurchaseRefused, Purchases, Recorded
from flows.sales import refusal_text
from storage.customers import Customer
from storage.ledger import LedgerRepo
from storage.purchases import Item

log = logging.getLogger(__name__)
ASCII_DIGITS = frozenset("0123456789")
DECIMAL_TEXT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?", re.ASCII)
MAX_QUANTITY = Decimal(1_000_000)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
API_MAX_BODY = 256 * 1024
FIELDS = {"external_id", "card", "phone", "telegram_id", "amount", "category", "items", "purchased_at"}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def normalize_phone(text: str) -> str | None:
    # ASCII digits only: str.isdigit() also takes "²" and "١", which no phone number is written with.
    digits = "".join(ch for ch in text if ch in ASCII_DIGITS)
    return f"+{digits}" if 7 <= len(digits) <= 15 else None


def parse_moment(value: object, now: datetime) -> datetime | FieldError:
    shape = FieldError("purchased_at", "must be an ISO 8601 time with a zone, e.g. 2026-01-05T12:30:00+02:00")
    if not isinstance(value, str) or len(value) > 40:
        return shape
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            return FieldError("purchased_at", "needs a time zone (e.g. +02:00 or Z)")
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range by the zone
        return shape
    if moment < EARLIEST:
        return FieldError("purchased_at", f"is before {EARLIEST:%Y-%m-%d}")
    if moment > now + timedelta(minutes=5):
        return FieldError("purchased_at", "is in the future")
    return moment


def read_amount(
    value: object, field: str, maximum: Decimal, *, zero: bool = False, places: int = 2
) -> Decimal | FieldError:
    """A JSON number or a string such as "1500.50": a dot for decimals, no thousands separators (those are
    the counter's convention for people; a program means what it sends), at most `places` decimals."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return FieldError(field, 'must be a number or a string such as "1500.50"')
    if isinstance(value, str):
        if not DECIMAL_TEXT.fullmatch(value.strip()):
            return FieldError(field, 'must be a number written with a dot for decimals, e.g. "1500.50"')
        value = Decimal(value.strip())
    amount = Decimal(value)
    if amount < 0:
        return FieldError(field, "cannot be negative")
    if amount == 0 and not zero:
        return FieldError(field, "must be more than zero")
    if amount > maximum:
        return FieldError(field, f"is more than the maximum of {maximum}")
    step = Decimal(1).scaleb(-places)
    if amount != amount.quantize(step):  # quantize is safe: the amount is within the maximum here
        return FieldError(field, f"has more than {places} decimals")
    return amount.quantize(step)


def read_body(raw: bytes) -> dict[str, Any] | FieldError:
    """The request body as a JSON object, numbers with a fraction as exact Decimals."""
    try:
        body = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
    except UnicodeDecodeError:
        return FieldError("body", "is not UTF-8 text")
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        return FieldError("body", "is not valid JSON")
    if not isinstance(body, dict):
        return FieldError("body", "must be a JSON object")
    broken = _unencodable(body, "")
    if broken is not None:
        return FieldError(broken or "body", "contains text that is not valid Unicode")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _unencodable(value: object, path: str) -> str | None:
    """The path of the first string (key or value) with lone surrogates, which no database can store."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    children: list[tuple[object, str]] = []
    if isinstance(value, dict):
        children = [(key, path) for key in value] + [
            (v, f"{path}.{k}" if path else str(k)) for k, v in value.items()
        ]
    elif isinstance(value, list):
        children = [(item, f"{path}[{index}]") for index, item in enumerate(value)]
    for child, where in children:
        found = _unencodable(child, where)
        if found is not None:
            return found
    return None


class ApiServer:
    def __init__(
        self,
        token: str,
        purchases: Purchases,
        ledger: LedgerRepo,
        content: Content,
        max_amount: Decimal,
        limits: HttpLimits | None = None,
    ) -> None:
        self._token = token.encode()
        self._purchases = purchases
        self._ledger = ledger
        self.content = content
        self._max_amount = max_amount
        self._limits = limits or HttpLimits(max_body=API_MAX_BODY)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def web_app(self) -> web.Application:
        app = limited_app(self._limits)
        app.router.add_post("/api/purchases", self.post_purchase)
        app.router.add_get("/api/health", self.health)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = await start_server(self.web_app(), host, port, self._limits)
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        log.info("purchases API listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # Undecodable header bytes arrive as surrogates: compare the bytes that were sent.
        sent = given.strip().encode("utf-8", "surrogateescape")
        return scheme.lower() == "bearer" and hmac.compare_digest(sent, self._token)

    async def post_purchase(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response(
                {"error": "unauthorized: send Authorization: Bearer <API_TOKEN>"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        body = read_body(await request.read())
        if isinstance(body, FieldError):
            return _unprocessable([body])
        purchase_or_errors = await self._parse(body)
        if isinstance(purchase_or_errors, list):
            return _unprocessable(purchase_or_errors)
        try:
            recorded = await self._purchases.record(purchase_or_errors)
        except PurchaseRefused as refused:
            return _unprocessable([FieldError("purchase", refusal_text(refused))])
        return web.json_response(_answer(recorded), status=200 if recorded.duplicate else 201)

    async def _parse(self, body: dict[str, Any]) -> NewPurchase | list[FieldError]:
        errors = [FieldError(name[:100], "unknown field") for name in sorted(set(body) - FIELDS)][:10]
        now = self._purchases.clock.now()
        external_id = body.get("external_id")
        if not isinstance(external_id, str) or not 1 <= len(external_id.strip()) <= 100:
            errors.append(FieldError("external_id", "required: your id of this purchase, 1–100 characters"))
        customer, customer_errors = await self._customer(body)
        errors += customer_errors
        amount = read_amount(body.get("amount"), "amount", self._max_amount)
        if isinstance(amount, FieldError):
            errors.append(amount)
        category = body.get("category")
        if category is not None and (
            not isinstance(category, str) or self.content.loyalty.category(category) is None
        ):
            known = ", ".join(entry.key for entry in self.content.loyalty.catalog) or "none configured"
            errors.append(FieldError("category", f"unknown category (known: {known})"))
        items, item_errors = self._items(body.get("items"))
        errors += item_errors
        purchased_at = None
        if body.get("purchased_at") is not None:
            moment = parse_moment(body["purchased_at"], now)
            if isinstance(moment, FieldError):
                errors.append(moment)
            else:
                purchased_at = moment
        if errors:
            return errors
        assert customer is not None and isinstance(amount, Decimal) and isinstance(external_id, str)
        return NewPurchase(
            customer_id=customer.id,
            amount=amount,
            source="api",
            category=category,
            items=items,
            external_id=external_id.strip(),
            purchased_at=purchased_at,
            # A purchase reported a day or more late gets no "thank you" and no survey.
            notify=purchased_at is None or now - purchased_at < timedelta(days=1),
        )

    async def _customer(self, body: dict[str, Any]) -> tuple[Customer | None, list[FieldError]]:
        given = [name for name in ("card", "phone", "telegram_id") if body.get(name) not in (None, "")]
        if len(given) != 1:
            return None, [FieldError("card", "give exactly one of card, phone, telegram_id to name the customer")]
        name = given[0]
        value = body[name]
        customer: Customer | None = None
        if name == "card" and isinstance(value, str) and len(value) <= 64:
            customer = await self._ledger.customer_by_card(normalize(value))
        elif name == "phone" and isinstance(value, str) and len(value) <= 64:
            phone = normalize_phone(value)
            if phone is None:
                return None, [FieldError("phone", "is not a phone number (7–15 digits)")]
            customer = await self._ledger.customer_by_phone(phone)
        elif name == "telegram_id" and isinstance(value, int) and not isinstance(value, bool):
            if not 0 < value < 2**53:  # Telegram's ids fit in 52 bits; SQLite's integers in 64
                return None, [FieldError(name, "is not a Telegram user id")]
            customer = await self._ledger.customer_by_tg(value)
        else:
            return None, [FieldError(name, "has the wrong type")]
        if customer is None or customer.tg_id is None:
            return None, [FieldError(name, "no customer with this " + name.replace("_", " "))]
        return customer, []

    def _items(self, raw: object) -> tuple[list[Item], list[FieldError]]:
        if raw is None:
            return [], []
        if not isinstance(raw, list) or len(raw) > 200:
            return [], [FieldError("items", "must be a list of at most 200 items")]
        items, errors = [], []
        for index, entry in enumerate(raw):
            where = f"items[{index}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
                errors.append(FieldError(f"{where}.name", "each item needs a name"))
                continue
            category = entry.get("category")
            if category is not None and (
                not isinstance(category, str) or self.content.loyalty.category(category) is None
            ):
                errors.append(FieldError(f"{where}.category", "unknown category"))
                continue
            quantity = read_amount(entry.get("quantity", 1), f"{where}.quantity", MAX_QUANTITY, places=3)
            amount = (
                read_amount(entry["amount"], f"{where}.amount", self._max_amount, zero=True)
                if entry.get("amount") is not None
                else None
            )
            if isinstance(quantity, FieldError) or isinstance(amount, FieldError):
                errors += [e for e in (quantity, amount) if isinstance(e, FieldError)]
                continue
            items.append(Item(entry["name"].strip()[:200], category, quantity, amount))
        return items, errors


def _unprocessable(errors: list[FieldError]) -> web.Response:
    return web.json_response({"errors": [{"field": e.field, "message": e.message} for e in errors]}, status=422)


def _answer(recorded: Recorded) -> dict[str, Any]:
    return {
        "purchase_id": recorded.purchase_id,
        "customer_id": recorded.customer_id,
        "number": recorded.number,
        "amount": str(recorded.amount),
        "points_earned": recorded.earned,
        "balance": recorded.balance,
        "tier": recorded.tier_after.key,
        "duplicate": recorded.duplicate,
    }
