"""Command arguments: words and an optional trailing span (`/belarus 3d`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from bot.digest.window import DEFAULT_SPAN, looks_like_span, parse_span
from bot.errors import SpanError

TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MAX_ARGUMENT_CHARS = 200


def split_span(args: Sequence[str]) -> tuple[list[str], timedelta]:
    """Words and the span; the span is the last argument when it looks like one."""
    words = [a for a in args if a.strip()]
    if words and looks_like_span(words[-1]):
        return words[:-1], parse_span(words[-1])
    return words, DEFAULT_SPAN


def parse_time_of_day(text: str) -> str:
    """`8:00` → `08:00`; anything else is a clear error."""
    match = TIME_RE.match(text.strip())
    if not match:
        raise SpanError(f"{text.strip()[:10]!r} is not a time of day: use HH:MM, e.g. 08:00")
    return f"{int(match[1]):02d}:{match[2]}"


def clip(text: str) -> str:
    """User text is bounded before it goes anywhere."""
    return text[:MAX_ARGUMENT_CHARS]
