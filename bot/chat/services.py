"""What the bot's handlers share: settings, store, topics, the digest use case, and the
small per-feature state (`bot.chat.state`). Kept in `application.bot_data.services`
(see `bot.chat.context`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bot.chat.digests import Clock, DigestDesk, utc_now
from bot.chat.state import ChatTurns, DailyRetries, Notices
from bot.config import Settings
from bot.digest.summary import Summariser
from bot.digest.topics import ALL_SOURCES, Topic
from bot.embeddings.base import Embedder
from bot.store import Store


@dataclass(slots=True)
class BotServices:
    """Everything a handler needs: a container, no behaviour beyond finding a topic."""

    settings: Settings
    store: Store
    topics: dict[str, Topic]
    summariser: Summariser
    clock: Clock = utc_now
    embedder: Embedder | None = None
    """Groups stories across languages; None: by shared words only (EMBEDDINGS=off)."""
    digests: DigestDesk = field(init=False)
    """Composes and records digests (commands, "More", daily pushes)."""
    turns: ChatTurns = field(init=False)
    """Whose turn it is to get a digest (one at a time per chat, a pause between two)."""
    refused: Notices = field(default_factory=Notices)
    """Strangers told that the bot is private."""
    stale_told: Notices = field(default_factory=Notices)
    """Chats told that their backlog of commands was too old to answer."""
    daily_retries: DailyRetries = field(default_factory=DailyRetries)
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)
    """Tasks handling updates or sending daily digests: cancelled if a stop takes too long."""

    def __post_init__(self) -> None:
        self.turns = ChatTurns(self.settings.chat_cooldown_seconds)
        self.digests = DigestDesk(
            self.settings, self.store, self.summariser, self.clock, self.embedder
        )

    def track_current_task(self) -> None:
        """Count the running task as work in progress until it ends."""
        task = asyncio.current_task()
        if task is not None and task not in self.inflight:
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)

    def topic_named(self, name: str, words: str | None = None) -> Topic | None:
        """A topic by its stored name: configured, the all-sources digest, or a query."""
        if name in self.topics:
            return self.topics[name]
        if name == ALL_SOURCES:
            return Topic.everything()
        if name == "query" and words:
            return Topic.adhoc(words)
        return None

    @property
    def summariser_name(self) -> str:
        return str(getattr(self.summariser, "name", "extractive"))
