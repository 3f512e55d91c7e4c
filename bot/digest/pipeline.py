"""The digest pipeline: retrieve → group → rank → summarise → (verify) → a `Digest`.

`build_digest` is the shell (reads the store, moves CPU work off the event loop);
`stories_of` and `assemble_digest` are pure and testable alone.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.digest.extractive import best_text, summarise_stories
from bot.digest.grouping import group_posts
from bot.digest.ranking import rank_stories
from bot.digest.topics import Topic
from bot.digest.window import Window
from bot.models import Citation, Digest, DigestItem, Post, SourceCount, Story

DEFAULT_LIMIT = 10


@dataclass(slots=True)
class SummaryResult:
    """What a summariser made of the ranked stories."""

    items: list[DigestItem]
    summarizer: str
    notes: list[str] = field(default_factory=list)
    dropped_items: int = 0
    dropped_citations: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


class Summarizer(Protocol):
    """Turns ranked stories into digest items. The extractive one needs nothing."""

    async def summarise(
        self, stories: Sequence[Story], topic: Topic, window: Window
    ) -> SummaryResult: ...


class ExtractiveSummarizer:
    """The built-in summariser: the clearest sentence of each story."""

    name = "extractive"

    async def summarise(
        self, stories: Sequence[Story], topic: Topic, window: Window
    ) -> SummaryResult:
        return SummaryResult(
            items=summarise_stories(stories, topic.pattern()), summarizer=self.name
        )


def stories_of(posts: Sequence[Post]) -> list[Story]:
    """Group and rank: the CPU-heavy, pure part of the pipeline."""
    return rank_stories(group_posts(posts))


def with_text(stories: Sequence[Story]) -> list[Story]:
    """Stories that have something to say (media-only posts have no text to summarise)."""
    return [s for s in stories if any(p.text.strip() for p in s.posts)]


async def build_digest(
    store: StoreReader,
    topic: Topic,
    window: Window,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    summarizer: Summarizer | None = None,
    exclude_post_ids: AbstractSet[int] = frozenset(),
    offset: int = 0,
) -> Digest:
    """The digest of `topic` in `window`: the ranked stories from `offset` on, `limit` of them.

    `exclude_post_ids`: posts a chat has already received; a story made only of those is
    left out, a story with new reports stays (with all its posts cited).
    `offset`: stories shown on earlier pages of the same digest (the bot's "More").
    """
    posts = await store.posts_in_window(window.since, window.until, topic.fts_query)
    stories = with_text(await asyncio.to_thread(stories_of, posts))
    seen = 0
    if exclude_post_ids:
        fresh = [s for s in stories if any(p.id not in exclude_post_ids for p in s.posts)]
        seen, stories = len(stories) - len(fresh), fresh
    chosen = stories[offset : offset + limit]
    result = await (summarizer or ExtractiveSummarizer()).summarise(chosen, topic, window)
    digest = assemble_digest(topic, window, now, len(posts), stories, result, limit, offset)
    digest.stories_seen = seen
    if not posts:
        latest = await store.latest_post(topic.fts_query, before=window.since)
        if latest is not None:
            digest.latest = Citation.of(latest)
            digest.latest_text = best_text(Story([latest]), topic.pattern())
    return digest


class StoreReader(Protocol):
    async def posts_in_window(
        self, since: datetime, until: datetime, match: str | None = None
    ) -> list[Post]: ...

    async def latest_post(
        self, match: str | None = None, before: datetime | None = None
    ) -> Post | None: ...


def assemble_digest(
    topic: Topic,
    window: Window,
    now: datetime,
    posts_considered: int,
    stories: Sequence[Story],
    result: SummaryResult,
    limit: int,
    offset: int = 0,
) -> Digest:
    notes = list(result.notes)
    remaining = max(0, len(stories) - offset - limit)
    if remaining:
        notes.append(f"{remaining} more {'story' if remaining == 1 else 'stories'} not shown")
    return Digest(
        topic=topic.name,
        title=topic.title,
        since=window.since,
        until=window.until,
        generated_at=now,
        summarizer=result.summarizer,
        posts_considered=posts_considered,
        stories_found=len(stories),
        items=result.items,
        provenance=provenance(result.items),
        notes=notes,
        dropped_items=result.dropped_items,
        dropped_citations=result.dropped_citations,
        tokens_in=result.tokens_in,
        tokens_out=result.tokens_out,
        offset=offset,
        remaining=remaining,
    )


def provenance(items: Sequence[DigestItem]) -> list[SourceCount]:
    """The channels the digest drew on and how many of its cited posts each gave."""
    counts: Counter[tuple[str, str]] = Counter()
    seen: set[str] = set()
    for item in items:
        for citation in item.citations:
            if citation.url not in seen:
                seen.add(citation.url)
                counts[(citation.channel, citation.channel_handle)] += 1
    return [
        SourceCount(channel=name, handle=handle, posts=n)
        for (name, handle), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0].lower()))
    ]
