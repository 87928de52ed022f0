"""Honour Telegram's retry_after for direct replies.

A reply to what a customer just did should arrive a moment late rather than not at all, so a short
429 is waited out and the call repeated. The outbox sender has its own policy (a global pause and a
retry of the row), so its calls opt out with `no_retry()`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

from flows.clock import Clock

log = logging.getLogger(__name__)
_retrying: ContextVar[bool] = ContextVar("retry_after_enabled", default=True)


@contextmanager
def no_retry() -> Iterator[None]:
    token = _retrying.set(False)
    try:
        yield
    finally:
        _retrying.reset(token)


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, clock: Clock, *, max_wait: float = 10.0, attempts: int = 3) -> None:
        self._clock = clock
        self._max_wait = max_wait
        self._attempts = attempts

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Any:
        for attempt in range(1, self._attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if not _retrying.get() or exc.retry_after > self._max_wait or attempt == self._attempts:
                    raise
                log.info("429 on %s: waiting %ss as Telegram asks", type(method).__name__, exc.retry_after)
                await self._clock.sleep(exc.retry_after)
        raise AssertionError("unreachable")
