"""The one retry policy: exponential backoff with jitter, honouring a server's Retry-After.

Used by the channel poller and the model client, so both back off the same way and both
stay bounded in time.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: attempts, first and longest wait, and a ceiling on total time."""

    attempts: int = 4
    initial_wait: float = 1.0
    max_wait: float = 30.0
    max_total: float = 120.0
    max_retry_after: float = 60.0
    """A server asking for a longer pause than this is not waited for in-line."""


class RetryAfterHint(Exception):
    """Mixin for errors that carry the server's requested pause, in seconds."""

    retry_after: float | None = None


def backoff_seconds(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff with full jitter on top: initial, 2x, 4x … capped at max_wait."""
    base: float = min(policy.max_wait, policy.initial_wait * 2.0 ** max(0, attempt - 1))
    return base + random.uniform(0, policy.initial_wait)


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hint = getattr(exc, "retry_after", None)
        if isinstance(hint, int | float) and 0 <= hint <= policy.max_retry_after:
            return float(hint)
        return backoff_seconds(policy, state.attempt_number)

    return wait


def retrying(
    policy: RetryPolicy, is_transient: Callable[[BaseException], bool], what: str
) -> AsyncRetrying:
    """An AsyncRetrying for `async for attempt in retrying(...): with attempt: ...`."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s failed (attempt %d of %d): %s; retrying in %.1fs",
            what,
            state.attempt_number,
            policy.attempts,
            exc,
            state.next_action.sleep if state.next_action else 0.0,
        )

    return AsyncRetrying(
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_total),
        wait=_wait(policy),
        retry=retry_if_exception(is_transient),
        before_sleep=before_sleep,
        reraise=True,
    )


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The pause a server asked for: `retry-after-ms`, or `retry-after` in seconds or a date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
