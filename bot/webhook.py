"""Telegram's webhook POSTs: only with the secret, only well-formed updates, never a 500 for junk."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from bot.settings import Settings
from flows.redaction import register_secret

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or a fresh random one for this run (registered with setWebhook at start).

    A generated secret changes at every start; run several instances behind one URL only with a fixed
    WEBHOOK_SECRET, or the last one to start would lock the others out.
    """
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    secret = secrets.token_urlsafe(32)
    register_secret(secret)
    return secret


def encoded(text: str) -> bytes:
    """Header values arrive as str with undecodable bytes kept as surrogates; compare the original bytes."""
    return text.encode("utf-8", "surrogateescape")


class WebhookHandler(SimpleRequestHandler):
    """aiogram's handler with a secret that is always required, compared as bytes in constant time,
    and a 400 (not a traceback) for a body that is not a Telegram update."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret: str, **data: Any) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret, **data)
        self._secret = encoded(secret)

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        return hmac.compare_digest(encoded(telegram_secret_token), self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            update = Update.model_validate_json(await request.read(), context={"bot": self.bot})
        except ValidationError:
            return web.json_response({"error": "body: not a Telegram update"}, status=400)
        result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(
            self.bot, update, **self.data
        )
        return web.Response(body=self._build_response_writer(bot=self.bot, result=result))

    async def close(self) -> None:
        """The app closes the bot's session itself, after the last in-flight update."""
