"""Time windows: spans such as `24h`, `3d`, `1w` and ISO dates, resolved against `now`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from bot.errors import SpanError

# Signed and with any number of digits, so that `-5h` and `99999d` are spans (and get a clear
# error) rather than words of a query or an unreadable date.
SPAN_RE = re.compile(r"^([+-]?\d+)\s*(m|min|h|d|w)$", re.IGNORECASE)
DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
    digits = match[1].lstrip("+-").lstrip("0") or "0"
    if match[1].startswith("-") or digits == "0":
        raise SpanError(f"{text.strip()[:20]!r}: a span must be longer than zero")
    # Compared as whole seconds before a timedelta is made: `99999999999w` must not overflow.
    seconds = int(digits[:12]) * UNIT_SECONDS[match[2].lower()]
    if len(digits) > 12 or seconds > MAX_SPAN.total_seconds():
        raise SpanError(f"{text.strip()[:20]!r}: a span can be at most a year (366d)")
    return timedelta(seconds=seconds)


def looks_like_span(text: str) -> bool:
    return bool(SPAN_RE.match(text.strip()))


def parse_time(text: str, now: datetime, tz: tzinfo = UTC, end_of_day: bool = False) -> datetime:
    """A span back from `now`, or an ISO date / date-time (naive values are in `tz`).

    `end_of_day`: for an "until", a date alone means the end of that day (the start of the
    next), so `--until 2024-12-04` includes the 4th.
    """
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
        if end_of_day and DATE_ONLY_RE.match(text):
            value += timedelta(days=1)
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
    end = parse_time(until, now, tz, end_of_day=True) if until else now
    try:
        start = parse_time(since, now, tz) if since else end - default_span
    except OverflowError:
        raise SpanError("the window starts before the year 1") from None
    if start >= end:
        raise SpanError("the window is empty: --since must be before --until")
    if end - start > MAX_SPAN:
        raise SpanError("a window can be at most a year long")
    return Window(start, end)
