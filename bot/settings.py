"""Settings from the environment and `.env` (pydantic-settings); every one is documented in .env.example."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flows.content import example_content_path
from flows.redaction import register_secret
from storage.db import postgres_url_problem, url_secrets

OFFICIAL_API = "https://api.telegram.org"
MIN_WEBHOOK_SECRET = 32
EXAMPLE_TOKEN_TAIL = "replace-with-your-token"  # .env.example's BOT_TOKEN=123456789:replace-with-your-token
# Telegram accepts 1–256 of these characters as a webhook secret; we ask for at least 32 of them.
WEBHOOK_SECRET_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{MIN_WEBHOOK_SECRET},256}}")
MIN_OUTBOX_DAYS = 8


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """`21:00-09:00` → (21:00, 09:00); None when malformed."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        return None
    return start, end


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable and the problem."""


def _ids(value: object) -> object:
    if isinstance(value, str):
        parts = [part.strip() for part in value.replace(";", ",").split(",")]
        for part in parts:
            if part and not part.lstrip("-").isdigit():
                raise ValueError(
                    f"{part!r} is not a Telegram user id (digits only, comma-separated, e.g. 123456789,987654321)"
                )
        return [part for part in parts if part]
    return value


# Settings where an empty value means something of its own; for every other one, empty means "not set".
EMPTY_MEANS_OFF = frozenset({"quiet_hours"})
SECRET_SETTINGS = frozenset({"bot_token", "api_token", "webhook_secret", "faq_llm_key", "database_url"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = Field(description="The token BotFather gave you")
    telegram_api_url: str = Field(OFFICIAL_API, description="Bot API server (a self-hosted one or the emulator)")
    database_path: Path = Field(Path("data/bot.db"), description="SQLite file; its folder is created")
    database_url: SecretStr | None = Field(
        None, description="postgresql://user:password@host:5432/db for PostgreSQL; empty: the SQLite file"
    )
    owner_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, description="Owners' Telegram ids")
    manager_chat_id: int | None = Field(None, description="Chat where leads go (a group or a forum)")
    content_file: Path = Field(default_factory=example_content_path, description="The YAML content file")
    timezone: str = Field("UTC", description="The business's IANA time zone, e.g. Europe/Kyiv")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_sends: bool = Field(
        False, description="Log each message's departure time (no chat, no text), to check the send rate"
    )
    webhook_url: str | None = Field(None, description="Public HTTPS URL; empty means long polling")
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(8080, ge=0, le=65535)
    webhook_secret: SecretStr | None = Field(
        None, description="Checked on every webhook request; empty: a random one is made at each start"
    )
    http_header_timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds a client of the webhook/API may take to send a request head"
    )
    http_body_timeout: float = Field(30.0, gt=0, le=600, description="Seconds it may take to send the body")
    http_max_connections: int = Field(100, ge=1, le=10_000, description="Open connections per server")
    send_rate_per_second: float = Field(25.0, gt=0, le=30, description="Global cap for proactive messages")
    quiet_hours: str = Field("21:00-09:00", description="Local hours with no proactive messages; empty: none")
    contact_budget_per_day: int = Field(2, ge=0, description="Proactive messages per customer per 24 h")
    contact_budget_per_week: int = Field(6, ge=0, description="Proactive messages per customer per 7 days")
    daily_jobs_at: time = Field(time(10, 0), description="Local time for birthdays and other daily triggers")
    lead_reminder_minutes: int = Field(
        15, ge=0, le=1440, description="Raise a lead nobody took after this many working minutes; 0: never"
    )
    lead_idle_close_hours: int = Field(
        72, ge=0, le=24 * 90, description="Close a taken lead as 'no answer' after this many quiet hours; 0: never"
    )
    feedback_every_days: int = Field(
        30, ge=0, le=3650, description="Ask the satisfaction question at most once per customer in this many days"
    )
    broadcast_reserve_hours: int = Field(
        24,
        ge=0,
        le=24 * 7,
        description="Automatic messages leave a customer's last budget slot to a broadcast"
        " scheduled for them within this many hours; 0: no reserve",
    )
    api_token: SecretStr | None = Field(None, description="Bearer token for POST /api/purchases; empty: API off")
    api_host: str = Field("127.0.0.1", description="Where the purchases API listens")
    api_port: int = Field(8081, ge=0, le=65535, description="Its port (0: any free port)")
    console_host: str = Field("127.0.0.1", description="Where the owner's console listens")
    console_port: int = Field(8082, ge=0, le=65535, description="Its port (0: any free port)")
    console_url: str | None = Field(
        None,
        description="The console's public address (https:// for the Telegram menu button);"
        " empty: http://CONSOLE_HOST:CONSOLE_PORT, reachable on this machine only",
    )
    broadcast_attribution_days: int = Field(
        7, ge=1, le=90, description="A purchase this many days after a broadcast reached a customer counts for it"
    )
    # How long finished rows are kept (days; 0 keeps them forever). Purchases and points are never pruned.
    retention_events_days: int = Field(180, description="History events (clicks, tags, triggers); 0: forever")
    retention_outbox_days: int = Field(90, description="Sent, failed and cancelled messages; 0: forever")
    retention_audit_days: int = Field(365, description="The audit log of staff and owner actions; 0: forever")
    retention_faq_log_days: int = Field(180, description="Questions asked of the FAQ; 0: forever")
    retention_leads_days: int = Field(365, description="Closed leads, after closing; 0: forever")
    retention_drafts_days: int = Field(30, description="Unfinished sale and broadcast drafts; 0: forever")
    retention_invites_days: int = Field(30, description="Expired staff invites; 0: forever")
    retention_broadcasts_days: int = Field(365, description="Ended broadcasts with their results; 0: forever")
    max_purchase_amount: Decimal = Field(
        Decimal(1_000_000), gt=0, description="Larger amounts are refused as typos (Telegram, API, CSV)"
    )
    faq_llm_url: str | None = Field(
        None, description="OpenAI-compatible API (…/v1) asked to choose on the FAQ's close calls; empty: off"
    )
    faq_llm_model: str | None = Field(None, description="The model that endpoint should use")
    faq_llm_key: SecretStr | None = Field(None, description="Bearer key for a hosted endpoint; empty: none sent")
    faq_llm_timeout: float = Field(
        3.0, gt=0, le=30, description="Seconds to wait for its choice before the FAQ's own suggestions are shown"
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: object) -> object:
        # `.env.example` ships optional settings as `NAME=` ("Empty: …"): the default applies, as if the
        # line were not there, rather than "Input should be a valid integer".
        if not isinstance(data, dict):
            return data
        return {
            key: value
            for key, value in data.items()
            if not (isinstance(value, str) and not value.strip() and str(key).lower() not in EMPTY_MEANS_OFF)
        }

    @field_validator("api_token", mode="before")
    @classmethod
    def _api_token(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if len(text.strip()) < 16:
            raise ValueError("use at least 16 random characters (e.g. `openssl rand -hex 24`)")
        return text.strip()

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        if value is None:
            return None
        text = (value.get_secret_value() if isinstance(value, SecretStr) else str(value)).strip()
        problem = postgres_url_problem(text)
        if problem is not None:
            raise ValueError(problem)
        return text

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not WEBHOOK_SECRET_SHAPE.fullmatch(text):
            raise ValueError(
                f"use {MIN_WEBHOOK_SECRET}–256 characters of A-Z, a-z, 0-9, _ and - (e.g. `openssl rand -hex 24`), "
                "or leave it empty and the bot makes a random one at each start"
            )
        return text

    @field_validator("faq_llm_url")
    @classmethod
    def _llm_https(cls, value: str | None) -> str | None:
        # Customers' questions (and the key) go there: in the clear only to a server on this machine.
        if value and not value.startswith("https://") and not is_loopback_url(value):
            raise ValueError(
                "must start with https:// (http:// only for a server on this machine: localhost, 127.0.0.1,"
                " ::1), so that customers' questions and the key are not sent in the clear"
            )
        return value

    @model_validator(mode="after")
    def _llm_model_named(self) -> Settings:
        if self.faq_llm_url and not self.faq_llm_model:
            raise ValueError(
                "FAQ_LLM_MODEL is required when FAQ_LLM_URL is set (the model's name on that server,"
                " e.g. qwen2.5:3b for Ollama)"
            )
        return self

    @field_validator("webhook_url")
    @classmethod
    def _webhook_https(cls, value: str | None) -> str | None:
        # Telegram posts only to https://; plain http:// is allowed only to this machine (the emulator,
        # a local Bot API server), where nobody can read the secret on the way.
        if value and not value.startswith("https://") and not is_loopback_url(value):
            raise ValueError("must start with https:// (http:// only for localhost)")
        return value

    @field_validator(
        "retention_events_days",
        "retention_outbox_days",
        "retention_audit_days",
        "retention_faq_log_days",
        "retention_leads_days",
        "retention_drafts_days",
        "retention_invites_days",
        "retention_broadcasts_days",
    )
    @classmethod
    def _retention(cls, value: int, info: ValidationInfo) -> int:
        if value < 0:
            raise ValueError("a number of days, or 0 to keep these rows forever")
        if info.field_name == "retention_outbox_days" and 0 < value < MIN_OUTBOX_DAYS:
            # The weekly contact budget counts what was sent in the last 7 days.
            raise ValueError(f"at least {MIN_OUTBOX_DAYS} days (the weekly contact budget reads the last 7), or 0")
        return value

    @model_validator(mode="after")
    def _events_outlive_attribution(self) -> Settings:
        # A broadcast's figures (its clicks among them) are kept once its attribution window has passed.
        days = self.retention_events_days
        if 0 < days < self.broadcast_attribution_days:
            raise ValueError(
                f"RETENTION_EVENTS_DAYS ({days}) must be at least BROADCAST_ATTRIBUTION_DAYS"
                f" ({self.broadcast_attribution_days}), or 0, so broadcasts' clicks are counted in full"
            )
        return self

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_window(cls, value: str) -> str:
        if value.strip() and parse_quiet_hours(value) is None:
            raise ValueError("write it as HH:MM-HH:MM, e.g. 21:00-09:00 (empty switches quiet hours off)")
        return value.strip()

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        return parse_quiet_hours(self.quiet_hours) if self.quiet_hours else None

    @field_validator("owner_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        return _ids(value)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        left, sep, right = value.get_secret_value().partition(":")
        if not (sep and left.isdigit() and right) or any(ch.isspace() for ch in right):
            raise ValueError("does not look like a BotFather token (digits:letters)")
        if right == EXAMPLE_TOKEN_TAIL:
            raise ValueError("is still the placeholder from .env.example: put the token BotFather gave you")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Kyiv)") from None
        return value

    @field_validator("telegram_api_url", "webhook_url", "faq_llm_url", "console_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def masked(self) -> dict[str, str]:
        """The effective configuration with secrets hidden, for check-config and logs."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = _mask(value.get_secret_value())
            elif isinstance(value, list):
                text = ",".join(str(item) for item in value)
            else:
                text = "" if value is None else str(value)
            shown[name.upper()] = text
        return shown


def _mask(secret: str) -> str:
    # Not a single character of a secret is shown: a prefix and suffix narrow a guess and identify it.
    return f"set ({len(secret)} chars)"


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's errors into one line naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(explain(exc.errors()[0])) from None
    for secret in (settings.bot_token, settings.api_token, settings.webhook_secret, settings.faq_llm_key):
        register_secret(secret.get_secret_value() if secret is not None else None)
    if settings.database_url is not None:  # the password inside the URL
        for password in url_secrets(settings.database_url.get_secret_value()):
            register_secret(password)
    return settings


# pydantic's messages for the kinds of mistakes an owner makes in .env, in plain words.
_PLAIN: dict[str, str] = {
    "int_parsing": "{value} is not a whole number",
    "int_from_float": "{value} is not a whole number",
    "float_parsing": "{value} is not a number",
    "decimal_parsing": "{value} is not a number",
    "bool_parsing": "{value} is not yes/no (write true or false)",
    "time_parsing": "{value} is not a time of day (write HH:MM, e.g. 10:00)",
    "time_type": "{value} is not a time of day (write HH:MM, e.g. 10:00)",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "must be one of {expected}",
    "string_type": "must be text",
}


def explain(error: ErrorDetails) -> str:
    """One line for one settings error: the variable, the problem in plain words, and the value given
    (a secret's value is never shown, only its length)."""
    loc = error["loc"]
    name = str(loc[0]) if loc else ""
    variable = name.upper() or "settings"
    if error["type"] == "missing":
        return f"{variable}: is required but not set (put it in .env or the environment)"
    raw = error.get("input")
    if isinstance(raw, SecretStr):
        raw = raw.get_secret_value()
    secret = name in SECRET_SETTINGS
    shown = f"hidden, {len(str(raw))} characters" if secret else repr(raw if isinstance(raw, str) else str(raw))
    ctx = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    if "expected" in ctx:
        ctx["expected"] = ", ".join(
            part.strip(" '") for part in re.split(r",| or ", ctx["expected"]) if part.strip()
        )
    template = _PLAIN.get(error["type"])
    if template is not None:
        problem = template.format(value=shown, **ctx)
    else:
        problem = error["msg"].removeprefix("Value error, ")
    if not loc or shown in problem or (not secret and isinstance(raw, str) and raw in problem):
        # A rule across settings names its variables itself; its "input" is every setting, secrets too.
        return f"{variable}: {problem}"
    return f"{variable}: {problem} (you wrote {shown})" if not secret else f"{variable}: {problem} ({shown})"
