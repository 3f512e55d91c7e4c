"""What the bot's handlers share: settings, store, topics, and composing a chat's digest.

Composing is one path for commands and daily pushes: corrections first (posts this chat
received that were since edited in substance or deleted), then the digest, rendered as
Telegram HTML and packed into messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.chat.messages import pack_messages
from bot.config import Settings
from bot.digest.corrections import Correction, correction_for
from bot.digest.pipeline import DEFAULT_LIMIT, Summarizer, build_digest
from bot.digest.render import anchor, h, render_html_parts, when_text
from bot.digest.topics import Topic
from bot.digest.window import Window
from bot.models import Digest
from bot.store import Store

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Composed:
    """A digest ready to send, and what to record once it is delivered."""

    messages: list[str]
    digest: Digest
    acknowledged_post_ids: list[int]

    @property
    def cited_post_ids(self) -> list[int]:
        return [
            c.post_id for item in self.digest.items for c in item.citations if c.post_id is not None
        ]


@dataclass(slots=True)
class BotServices:
    """Everything a handler needs, kept in `application.bot_data["services"]`."""

    settings: Settings
    store: Store
    topics: dict[str, Topic]
    summarizer: Summarizer
    clock: Clock = utc_now
    cooldowns: dict[int, float] = field(default_factory=dict)
    refused: dict[int, float] = field(default_factory=dict)
    started_at: datetime = field(default_factory=utc_now)
    chat_locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    daily_failures: dict[int, tuple[int, float]] = field(default_factory=dict)
    """Subscription id -> (failed attempts, monotonic time of the next try)."""

    def chat_lock(self, chat_id: int) -> asyncio.Lock:
        """One digest at a time per chat: the next one must see what the last one recorded."""
        return self.chat_locks.setdefault(chat_id, asyncio.Lock())

    @property
    def summarizer_name(self) -> str:
        return str(getattr(self.summarizer, "name", "extractive"))

    def cooldown_left(self, chat_id: int) -> float:
        """Seconds this chat must still wait before another digest; 0 when it may ask."""
        last = self.cooldowns.get(chat_id)
        if last is None:
            return 0.0
        return max(0.0, self.settings.chat_cooldown_seconds - (time.monotonic() - last))

    def start_cooldown(self, chat_id: int) -> None:
        self.cooldowns[chat_id] = time.monotonic()

    async def compose(
        self,
        chat_id: int,
        topic: Topic,
        window: Window,
        exclude_seen: bool = False,
        limit: int = DEFAULT_LIMIT,
    ) -> Composed:
        corrections, acknowledged = await self._corrections(chat_id)
        seen = await self.store.cited_post_ids(chat_id) if exclude_seen else set()
        digest = await build_digest(
            self.store, topic, window, self.clock(), limit=limit, summarizer=self.summarizer,
            exclude_post_ids=seen,
        )  # fmt: skip
        parts = render_html_parts(digest, self.settings.tz)
        if corrections:
            parts.insert(0, corrections_html(corrections, self.settings))
        return Composed(pack_messages(parts), digest, acknowledged)

    async def _corrections(self, chat_id: int) -> tuple[list[Correction], list[int]]:
        changes = await self.store.cited_changes(chat_id)
        if not changes:
            return [], []
        posts = {p.id: p for p in await self.store.posts_by_ids([c.post_id for c in changes])}
        corrections = []
        for change in changes:
            post = posts.get(change.post_id)
            if post is None:
                continue
            correction = correction_for(post, change.seen_text, change.deleted)
            if correction is not None:
                corrections.append(correction)
        return corrections, [c.post_id for c in changes]

    async def record(self, chat_id: int, topic: Topic, kind: str, composed: Composed) -> None:
        """After delivery: what this chat has now seen, and the corrections it was given."""
        digest = composed.digest
        await self.store.record_digest(
            chat_id, topic.name, kind, digest.since, digest.until, digest.summarizer,
            len(digest.items), composed.cited_post_ids, self.clock(),
        )  # fmt: skip
        if composed.acknowledged_post_ids:
            await self.store.acknowledge_changes(chat_id, composed.acknowledged_post_ids)


def corrections_html(corrections: list[Correction], settings: Settings) -> str:
    lines = ["<b>Corrections to earlier digests</b>"]
    for c in corrections:
        link = anchor(c.post.url, c.post.channel.name)
        when = h(when_text(c.post.date, settings.tz))
        if c.deleted:
            lines.append(f"• {link} ({when}) has been deleted by its channel.")
        else:
            lines.append(f"• {link} ({when}) was edited; it now says: “{h(c.now_says)}”")
    return "\n".join(lines)
