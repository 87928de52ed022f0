"""Keep secrets out of logs and stored text.

The Bot API puts the bot token in every URL (`…/bot<token>/sendMessage`), and HTTP errors quote the URL,
so a failed call can carry the token into a log line, a traceback, `outbox.last_error` or a message shown
to an owner. `redact()` strips it: every secret registered at start-up, anything shaped like a BotFather
token, and the token part of `/bot<token>` and `/file/bot<token>` paths. `RedactingFilter` applies it to
log records (message, arguments and traceback alike).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

HIDDEN = "[redacted]"
# Shorter "secrets" would replace ordinary words; settings refuse secrets this short anyway.
_MIN_SECRET = 6
_secrets: set[str] = set()
_BOT_PATH = re.compile(r"(/(?:file/)?bot)\d+:[^/\s'\"?#]+")
_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}")


def register_secret(secret: str | None) -> None:
    """Remember a secret (a token, a webhook secret) so that `redact` hides it wherever it appears."""
    if secret and len(secret) >= _MIN_SECRET:
        _secrets.add(secret)
        _secrets.add(quote(secret, safe=""))  # as it appears in an encoded URL


def redact(text: str) -> str:
    """`text` with every registered secret and anything shaped like a bot token replaced by [redacted]."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, HIDDEN)
    text = _BOT_PATH.sub(rf"\1{HIDDEN}", text)
    return _TOKEN_SHAPE.sub(HIDDEN, text)


class RedactingFilter(logging.Filter):
    """Redacts a record in place: the formatted message, and the traceback formatted once here (handlers
    print `exc_text` when it is set, so the exception's own text never reaches them)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it itself when the record is emitted
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction() -> None:
    """Redact every log record as it is made, whatever logger it comes from and whatever handler
    (a file, the console, a test's capture) it goes to."""
    make = logging.getLogRecordFactory()
    if getattr(make, "redacting", False):
        return
    redacting = RedactingFilter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        redacting.filter(record)
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
