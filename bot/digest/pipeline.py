"""The digest pipeline: retrieve → group → rank → summarise → (verify) → a `Digest`.

`build_digest` is the shell (reads the store, learns each channel's boilerplate, gets the
posts' embeddings, moves CPU work off the event loop); `stories_of` and `assemble_digest`
are pure and testable alone.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.digest.boilerplate import strip_boilerplate
from bot.digest.extractive import best_text
from bot.digest.grouping import group_posts
from bot.digest.learned import boilerplate_of
from bot.digest.provenance import with_provenance
from bot.digest.ranking import rank_stories
from bot.digest.semantic import Matrix
from bot.digest.summary import ExtractiveSummariser, Summariser, SummaryResult
from bot.digest.topics import Topic
from bot.digest.window import Window
from bot.models import Citation, Digest, DigestItem, LedeSentence, Post, SourceCount, Story

if TYPE_CHECKING:
    from bot.digest.llm import LedeResult
    from bot.embeddings.base import Embedder
    from bot.store import StoredVector, VectorRow

DEFAULT_LIMIT = 10


def stories_of(
    posts: Sequence[Post],
    vectors: Mapping[int, Matrix] | None = None,
    focus: re.Pattern[str] | None = None,
    window: Window | None = None,
) -> list[Story]:
    """Group, find copies, rank: the CPU-heavy, pure part of the pipeline."""
    stories = [with_provenance(s) for s in group_posts(posts, vectors=vectors)]
    since, until = (window.since, window.until) if window else (None, None)
    return rank_stories(stories, focus, since, until)


def without_boilerplate(
    posts: Sequence[Post], boilerplate: Mapping[int, frozenset[str]]
) -> list[Post]:
    """The posts as the digest reads them: each channel's boilerplate lines left out (the
    stored text is not changed)."""
    out = []
    for post in posts:
        keys = boilerplate.get(post.channel.id, frozenset())
        text = strip_boilerplate(post.text, keys)
        out.append(post if text is post.text else replace(post, text=text))
    return out


def with_text(stories: Sequence[Story]) -> list[Story]:
    """Stories that have something to say (media-only posts have no text to summarise)."""
    return [s for s in stories if any(p.text.strip() for p in s.posts)]


async def build_digest(
    store: StoreReader,
    topic: Topic,
    window: Window,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    summariser: Summariser | None = None,
    exclude_post_ids: AbstractSet[int] = frozenset(),
    embedder: Embedder | None = None,
    offset: int = 0,
    brief: bool = False,
) -> Digest:
    """The digest of `topic` in `window`: the ranked stories from `offset` on, `limit` of them.

    `exclude_post_ids`: posts a chat has already received; a story made only of those is
    left out, a story with new reports stays (with all its posts cited).
    `embedder`: group across languages with embeddings (stored ones, plus what is missing);
    without one, or when it fails, stories are grouped by their words, with a note.
    `offset`: stories shown on earlier pages of the same digest (the bot's "More").
    `brief`: for a brief; a model that wrote the digest's lines also writes its lede.
    """
    found = await gather_stories(store, window, topic.fts_query, embedder, topic.focus())
    posts, stories, notes = found.posts, found.stories, found.notes
    seen = 0
    if exclude_post_ids:
        fresh = [s for s in stories if any(p.id not in exclude_post_ids for p in s.posts)]
        seen, stories = len(stories) - len(fresh), fresh
    chosen = stories[offset : offset + limit]
    result = await (summariser or ExtractiveSummariser()).summarise(chosen, topic, window)
    result.notes = [*notes, *result.notes]
    digest = assemble_digest(topic, window, now, len(posts), stories, result, limit, offset)
    digest.stories_seen = seen
    if brief and digest.items and result.summariser != ExtractiveSummariser.name:
        await _add_lede(digest, summariser, chosen, topic, window)
    if not posts:
        latest = await store.latest_post(topic.fts_query, before=window.since)
        if latest is not None:
            digest.latest = Citation.of(latest)
            digest.latest_text = best_text(Story([latest]), topic.focus())
    return digest


async def _add_lede(
    digest: Digest,
    summariser: Summariser | None,
    stories: Sequence[Story],
    topic: Topic,
    window: Window,
) -> None:
    """The model's checked lede, each sentence tied to the items whose posts it cites."""
    write = getattr(summariser, "write_lede", None)
    if write is None:
        return
    lede: LedeResult = await write(stories, topic, window)
    by_first = {item.first.url: n for n, item in enumerate(digest.items) if item.first}
    for text, cited, source in lede.sentences:
        items = tuple(
            by_first[url] for url in (Citation.of(s.first).url for s in cited) if url in by_first
        )
        if items:
            digest.lede.append(LedeSentence(text, items, source))
    digest.notes.extend(lede.notes)
    digest.tokens_in += lede.tokens_in
    digest.tokens_out += lede.tokens_out


@dataclass(slots=True)
class Gathered:
    """A window's posts, its ranked stories, and what the grouping wants the reader to know."""

    posts: list[Post]
    stories: list[Story]
    notes: list[str] = field(default_factory=list)


async def gather_stories(
    store: StoreReader,
    window: Window,
    match: str | None = None,
    embedder: Embedder | None = None,
    focus: re.Pattern[str] | None = None,
) -> Gathered:
    """Retrieve, learn each channel's boilerplate, get the embeddings, group and rank."""
    posts = await store.posts_in_window(window.since, window.until, match)
    channel_ids = list({p.channel.id: None for p in posts})
    boilerplate = await boilerplate_of(store, channel_ids)
    notes: list[str] = []
    vectors: dict[int, Matrix] | None = None
    if embedder is not None and posts:
        from bot.embeddings.service import vectors_for

        found = await vectors_for(store, embedder, posts, boilerplate)
        vectors = found.vectors
        if (note := found.note()) is not None:
            notes.append(note)
    readable = without_boilerplate(posts, boilerplate)
    stories = with_text(
        await asyncio.to_thread(functools.partial(stories_of, readable, vectors, focus, window))
    )
    return Gathered(posts, stories, notes)


class StoreReader(Protocol):
    async def posts_in_window(
        self, since: datetime, until: datetime, match: str | None = None
    ) -> list[Post]: ...

    async def newest_message_ids(self, channel_ids: Sequence[int]) -> dict[int, int]: ...

    async def recent_texts(
        self, channel_ids: Sequence[int], per_channel: int = 200
    ) -> dict[int, list[str]]: ...

    async def vectors_of(self, post_ids: Sequence[int], model: str) -> dict[int, StoredVector]: ...

    async def store_vectors(self, model: str, vectors: Sequence[VectorRow]) -> int: ...

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
        summariser=result.summariser,
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
