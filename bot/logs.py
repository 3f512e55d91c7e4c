"""Logging: one line per event, text or JSON, and no secret ever printed.

The Bot API URL contains the bot token, and HTTP client libraries log request URLs at
INFO/DEBUG. Two defences: those loggers are held at WARNING, and a filter on every
handler replaces each configured secret (and anything shaped like a bot token) with
`[redacted]`, in the message, its arguments and tracebacks.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

TOKEN_SHAPE = re.compile(r"\b\d{5,12}:[A-Za-z0-9_-]{30,}\b")
ACCESS_TOKEN_PARAM = re.compile(r"(access_token[\"']?\s*[=:]\s*[\"']?)[A-Za-z0-9_-]{8,}")
"""A Telegraph access token as a URL or form parameter, or a JSON field."""
REDACTED = "[redacted]"
NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpx2",
    "httpcore2",
    "openai",
    "telegram.request",
    "apscheduler",
)
_RUNTIME_SECRETS: set[str] = set()
"""Secrets learned while running (the Telegraph access token), redacted like the others."""


def register_secret(secret: str) -> None:
    """Redact `secret` from every log line from now on, on every handler."""
    if secret and len(secret) >= 6:
        _RUNTIME_SECRETS.add(secret)


class RedactingFilter(logging.Filter):
    """Rewrites a record so that no secret survives formatting."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for secret in sorted(_RUNTIME_SECRETS, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        text = ACCESS_TOKEN_PARAM.sub(rf"\g<1>{REDACTED}", text)
        return TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(formatted)
            record.exc_info = None
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Configure the root logger once: level, format, redaction, quiet HTTP libraries."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
