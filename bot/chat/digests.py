"""The digest use case of the chat side, with no Telegram in it: compose a chat's digest
(corrections first, then the stories, or the brief), and record what the chat received.

One path for commands, "More" pages and daily pushes. The result is Telegram HTML
messages (rendered by `bot.chat.replies` and the digest renderers) plus what the caller
needs to deliver it: which page comes next, and what to record once it is delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.chat.messages import pack_messages
from bot.chat.replies import corrections_html
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
from bot.digest.render import render_html_parts
from bot.digest.summary import Summariser
from bot.digest.topics import Topic
from bot.digest.window import Window
from bot.embeddings.base import Embedder
from bot.models import Digest
from bot.store import Store
from bot.telegraph import CONTENT_BUDGET, TelegraphPublisher

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


PAGE_KEEP = timedelta(days=7)
"""How long a digest's next page can be asked for ("More"); older ones have expired."""


@dataclass(slots=True)
class NextPage:
    """Stories left after this page: the stored page that shows them, and how many."""

    page_id: int
    remaining: int
    page_size: int


@dataclass(slots=True)
class Composed:
    """A digest ready to send, and what to record once it is delivered."""

    messages: list[str]
    digest: Digest
    acknowledged_post_ids: list[int]
    next_page: NextPage | None = None
    """Set when stories are left: the "More" button under the last message asks for it."""

    @property
    def cited_post_ids(self) -> list[int]:
        return [
            c.post_id for item in self.digest.items for c in item.citations if c.post_id is not None
        ]


@dataclass(slots=True)
class DigestDesk:
    """Composes and records digests for chats: what the bot's digest handlers share."""

    settings: Settings
    store: Store
    summariser: Summariser
    clock: Clock = utc_now
    embedder: Embedder | None = None
    """Groups stories across languages; None: by shared words only (EMBEDDINGS=off)."""
    telegraph: TelegraphPublisher | None = None
    """Publishes long briefs (TELEGRAPH=on); made on first use."""

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
        pages, `limit` of them; the next page stored when stories are left. `brief`: the
        same stories as a wire editor's brief (see `_brief`).

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
        head = [corrections_html(corrections, self.settings.tz)] if corrections else []
        cut = 0
        if brief:
            told = len(digest.items)
            messages, digest = await self._brief(digest, head)
            cut = told - len(digest.items)
        else:
            messages = pack_messages(head + render_html_parts(digest, self.settings.tz))
        next_page = None
        if digest.remaining:
            page_id = await self.store.add_digest_page(
                chat_id, topic.name, topic.words or None, window.since, window.until,
                shown_before + limit - cut, limit, exclude_seen, self.clock(),
            )  # fmt: skip
            next_page = NextPage(page_id, digest.remaining, limit)
        return Composed(messages, digest, acknowledged, next_page)

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
