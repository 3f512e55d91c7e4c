"""The bot's per-chat state, one small object per feature, kept in memory (a restart
forgets it, and nothing in it must survive one): whose turn it is to get a digest, which
chats were lately told a one-line notice, and which daily digests are waiting to retry."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class ChatTurns:
    """One digest at a time per chat (the next must see what the last one recorded), a
    pause of `cooldown_seconds` between two, and how many requests wait for their turn."""

    cooldown_seconds: float
    locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    last_start: dict[int, float] = field(default_factory=dict)
    waiting: dict[int, int] = field(default_factory=dict)

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self.locks.setdefault(chat_id, asyncio.Lock())

    def cooldown_left(self, chat_id: int) -> float:
        """Seconds this chat must still wait before another digest; 0 when it may ask."""
        last = self.last_start.get(chat_id)
        if last is None:
            return 0.0
        return max(0.0, self.cooldown_seconds - (time.monotonic() - last))

    def start_cooldown(self, chat_id: int) -> None:
        self.last_start[chat_id] = time.monotonic()


@dataclass(slots=True)
class Notices:
    """A one-line notice a chat gets at most once per interval (the refusal to a stranger,
    "this request is old"): a flood of the same line helps nobody."""

    told: dict[int, float] = field(default_factory=dict)

    def due(self, chat_id: int, every: float) -> bool:
        """True, and remembered, when this chat may be told again now (`every` seconds
        after it was last told)."""
        last = self.told.get(chat_id)
        now = time.monotonic()
        if last is not None and now - last < every:
            return False
        self.told[chat_id] = now
        return True


@dataclass(slots=True)
class DailyRetries:
    """Daily digests that failed on the network, retried after `first_seconds`, then
    twice as long each time, at most `max_seconds` (1, 2, 4 … minutes, at most an hour).
    `failures`: subscription id -> (failed attempts, monotonic time of the next try)."""

    first_seconds: float = 60.0
    max_seconds: float = 3600.0
    failures: dict[int, tuple[int, float]] = field(default_factory=dict)

    def next_delay(self, subscription_id: int) -> float:
        """How long to wait after one more failure of this subscription."""
        attempts = self.attempts(subscription_id) + 1
        return float(min(self.max_seconds, self.first_seconds * 2 ** (attempts - 1)))

    def waiting(self, subscription_id: int) -> bool:
        failure = self.failures.get(subscription_id)
        return failure is not None and time.monotonic() < failure[1]

    def failed(self, subscription_id: int, delay: float) -> int:
        """Record one more failure, to be retried after `delay` s; the attempts so far."""
        attempts = self.failures.get(subscription_id, (0, 0.0))[0] + 1
        self.failures[subscription_id] = (attempts, time.monotonic() + delay)
        return attempts

    def attempts(self, subscription_id: int) -> int:
        return self.failures.get(subscription_id, (0, 0.0))[0]

    def succeeded(self, subscription_id: int) -> None:
        self.failures.pop(subscription_id, None)
