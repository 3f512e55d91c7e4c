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
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.messages import pack_messages
from bot.config import Settings
from bot.digest.corrections import Correction, correction_for
from bot.digest.pipeline import DEFAULT_LIMIT, Summarizer, build_digest
from bot.digest.render import anchor, h, render_html_parts, when_text
from bot.digest.topics import ALL_SOURCES, Topic
from bot.digest.window import Window
from bot.embeddings.base import Embedder
from bot.models import Digest
from bot.store import Store

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


MORE_PREFIX = "more:"
"""Callback data of a "More" button: the prefix and the id of its page in the store."""
PAGE_KEEP = timedelta(days=7)
"""How long a "More" button works; older ones say they expired."""


@dataclass(slots=True)
class Composed:
    """A digest ready to send, and what to record once it is delivered."""

    messages: list[str]
    digest: Digest
    acknowledged_post_ids: list[int]
    markup: InlineKeyboardMarkup | None = None
    """The "More" button for the last message, when stories are left."""

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
    embedder: Embedder | None = None
    """Groups stories across languages; None: by shared words only (EMBEDDINGS=off)."""
    cooldowns: dict[int, float] = field(default_factory=dict)
    refused: dict[int, float] = field(default_factory=dict)
    chat_locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    daily_failures: dict[int, tuple[int, float]] = field(default_factory=dict)
    """Subscription id -> (failed attempts, monotonic time of the next try)."""
    waiting: dict[int, int] = field(default_factory=dict)
    """Chat id -> digest requests waiting for their turn (bounded per chat)."""
    stale_told: dict[int, float] = field(default_factory=dict)
    """Chat id -> monotonic time it was last told that its backlog was too old."""
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)
    """Tasks handling updates or sending daily digests: cancelled if a stop takes too long."""

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
        shown_before: int = 0,
    ) -> Composed:
        """Corrections, then the digest's stories after the `shown_before` of its earlier
        pages, `limit` of them; a "More" button when stories are left.

        A daily digest (`exclude_seen`) leaves out what the chat has received; its later
        pages do the same, which leaves out the earlier pages too, so they start at 0.
        """
        corrections, acknowledged = await self._corrections(chat_id)
        seen = await self.store.cited_post_ids(chat_id) if exclude_seen else set()
        digest = await build_digest(
            self.store, topic, window, self.clock(), limit=limit, summarizer=self.summarizer,
            exclude_post_ids=seen, offset=0 if exclude_seen else shown_before,
            embedder=self.embedder,
        )  # fmt: skip
        if exclude_seen and shown_before:
            digest.offset = shown_before
            digest.stories_found += shown_before
        parts = render_html_parts(digest, self.settings.tz)
        if corrections:
            parts.insert(0, corrections_html(corrections, self.settings))
        markup = None
        if digest.remaining:
            page_id = await self.store.add_digest_page(
                chat_id, topic.name, topic.words or None, window.since, window.until,
                shown_before + limit, limit, exclude_seen, self.clock(),
            )  # fmt: skip
            markup = more_button(page_id, digest.remaining, limit)
        return Composed(pack_messages(parts), digest, acknowledged, markup)

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


def more_button(page_id: int, remaining: int, page_size: int) -> InlineKeyboardMarkup:
    """One button under a digest that has more stories: it sends the next page."""
    label = f"More: next {min(remaining, page_size)} of {remaining}"
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"{MORE_PREFIX}{page_id}")]]
    )


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
