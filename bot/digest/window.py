"""Time windows: spans such as `24h`, `3d`, `1w` and ISO dates, resolved against `now`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from bot.errors import SpanError

SPAN_RE = re.compile(r"^(\d{1,4})\s*(m|min|h|d|w)$", re.IGNORECASE)
UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_SPAN = timedelta(days=366)
DEFAULT_SPAN = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range [since, until) in UTC."""

    since: datetime
    until: datetime

    @property
    def span(self) -> timedelta:
        return self.until - self.since


def parse_span(text: str) -> timedelta:
    """`90m`, `12h`, `3d`, `1w` -> timedelta (at most a year)."""
    match = SPAN_RE.match(text.strip())
    if not match:
        raise SpanError(f"{text.strip()[:20]!r} is not a span: use e.g. 12h, 3d or 1w")
    span = timedelta(seconds=int(match[1]) * UNIT_SECONDS[match[2].lower()])
    if span <= timedelta(0):
        raise SpanError("a span must be longer than zero")
    if span > MAX_SPAN:
        raise SpanError("a span can be at most a year (366d)")
    return span


def looks_like_span(text: str) -> bool:
    return bool(SPAN_RE.match(text.strip()))


def parse_time(text: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """A span back from `now`, or an ISO date / date-time (naive values are in `tz`)."""
    text = text.strip()
    if looks_like_span(text):
        return now - parse_span(text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SpanError(
            f"{text[:30]!r} is neither a span (24h, 3d, 1w) nor an ISO date (2024-11-26)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise SpanError(f"{text[:30]!r} is too far in the past or future") from None


def resolve_window(
    now: datetime,
    since: str | None = None,
    until: str | None = None,
    tz: tzinfo = UTC,
    default_span: timedelta = DEFAULT_SPAN,
) -> Window:
    """The digest window from CLI or chat arguments; the default is the last 24 hours."""
    end = parse_time(until, now, tz) if until else now
    try:
        start = parse_time(since, now, tz) if since else end - default_span
    except OverflowError:
        raise SpanError("the window starts before the year 1") from None
    if start >= end:
        raise SpanError("the window is empty: --since must be before --until")
    if end - start > MAX_SPAN:
        raise SpanError("a window can be at most a year long")
    return Window(start, end)
