"""What the bot's handlers share: settings, store, topics, and composing a chat's digest.

Composing is one path for commands and daily pushes: corrections first (posts this chat
received that were since edited in substance or deleted), then the digest, rendered as
Telegram HTML and packed into messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.messages import pack_messages
from bot.chat.state import ChatTurns, DailyRetries, Notices
from bot.config import Settings
from bot.digest.brief import (
    brief_summary_html,
    build_brief,
    fit_brief,
    render_brief_html_parts,
    telegraph_title,
)
from bot.digest.corrections import Correction, correction_for
from bot.digest.pipeline import DEFAULT_LIMIT, build_digest
from bot.digest.render import anchor, h, render_html_parts, when_text
from bot.digest.summary import Summariser
from bot.digest.topics import ALL_SOURCES, Topic
from bot.digest.window import Window
from bot.embeddings.base import Embedder
from bot.models import Digest
from bot.store import Store
from bot.telegraph import CONTENT_BUDGET, TelegraphPublisher

log = logging.getLogger(__name__)

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
    summariser: Summariser
    clock: Clock = utc_now
    embedder: Embedder | None = None
    """Groups stories across languages; None: by shared words only (EMBEDDINGS=off)."""
    turns: ChatTurns = field(init=False)
    """Whose turn it is to get a digest (one at a time per chat, a pause between two)."""
    refused: Notices = field(default_factory=Notices)
    """Strangers told that the bot is private."""
    stale_told: Notices = field(default_factory=Notices)
    """Chats told that their backlog of commands was too old to answer."""
    daily_retries: DailyRetries = field(default_factory=DailyRetries)
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)
    """Tasks handling updates or sending daily digests: cancelled if a stop takes too long."""
    telegraph: TelegraphPublisher | None = None
    """Publishes long briefs (TELEGRAPH=on); made on first use."""

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

    def __post_init__(self) -> None:
        self.turns = ChatTurns(self.settings.chat_cooldown_seconds)

    @property
    def summariser_name(self) -> str:
        return str(getattr(self.summariser, "name", "extractive"))

    async def compose(
        self,
        chat_id: int,
        topic: Topic,
        window: Window,
        exclude_seen: bool = False,
        limit: int = DEFAULT_LIMIT,
        shown_before: int = 0,
        brief: bool = False,
    ) -> Composed:
        """Corrections, then the digest's stories after the `shown_before` of its earlier
        pages, `limit` of them; a "More" button when stories are left. `brief`: the same
        stories as a wire editor's brief (see `_brief`).

        A daily digest (`exclude_seen`) leaves out what the chat has received; its later
        pages do the same, which leaves out the earlier pages too, so they start at 0.
        """
        corrections, acknowledged = await self._corrections(chat_id)
        seen = await self.store.cited_post_ids(chat_id) if exclude_seen else set()
        digest = await build_digest(
            self.store, topic, window, self.clock(), limit=limit, summariser=self.summariser,
            exclude_post_ids=seen, offset=0 if exclude_seen else shown_before,
            embedder=self.embedder, brief=brief,
        )  # fmt: skip
        if exclude_seen and shown_before:
            digest.offset = shown_before
            digest.stories_found += shown_before
        head = [corrections_html(corrections, self.settings)] if corrections else []
        cut = 0
        if brief:
            told = len(digest.items)
            messages, digest = await self._brief(digest, head)
            cut = told - len(digest.items)
        else:
            messages = pack_messages(head + render_html_parts(digest, self.settings.tz))
        markup = None
        if digest.remaining:
            page_id = await self.store.add_digest_page(
                chat_id, topic.name, topic.words or None, window.since, window.until,
                shown_before + limit - cut, limit, exclude_seen, self.clock(),
            )  # fmt: skip
            markup = more_button(page_id, digest.remaining, limit)
        return Composed(messages, digest, acknowledged, markup)

    async def _brief(self, digest: Digest, head: list[str]) -> tuple[list[str], Digest]:
        """The brief as messages; with TELEGRAPH=on, one too long for a message is a
        Telegraph page and the chat gets its headline, lede and link. Any failure to
        publish sends the brief as messages. Returns the digest as delivered (a page cut
        to Telegraph's 64 KB tells fewer stories; "More" goes on from there)."""
        tz = self.settings.tz
        parts = render_brief_html_parts(build_brief(digest, tz))
        messages = pack_messages(head + parts)
        if self.settings.telegraph != "on" or len(pack_messages(parts)) <= 1:
            return messages, digest
        fitted = fit_brief(digest, tz, CONTENT_BUDGET)
        if fitted is None:
            log.warning("the brief does not fit a Telegraph page; sending it as messages")
            return messages, digest
        page_brief, nodes = fitted
        try:
            page = await self.telegraph_publisher().publish(telegraph_title(page_brief), nodes)
        except Exception as exc:  # any failure: the chat still gets its brief
            log.warning(
                "the brief could not be published on Telegraph (%s: %s); sending it as "
                "%d messages", type(exc).__name__, exc, len(messages),
            )  # fmt: skip
            return messages, digest
        log.info("brief published on Telegraph: %s", page.url)
        kept = digest
        if page_brief.cut:
            kept = replace(
                digest,
                items=digest.items[: page_brief.stories],
                remaining=digest.remaining + page_brief.cut,
            )
        return pack_messages([*head, brief_summary_html(page_brief, page.url)]), kept

    def telegraph_publisher(self) -> TelegraphPublisher:
        if self.telegraph is None:
            self.telegraph = TelegraphPublisher(
                self.store, self.settings.telegraph_url, self.settings.telegraph_author,
                self.clock,
            )  # fmt: skip
        return self.telegraph

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
            chat_id, topic.name, kind, digest.since, digest.until, digest.summariser,
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
