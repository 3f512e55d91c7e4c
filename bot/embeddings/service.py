"""Keeping vectors current: what a digest still lacks, and the backfill of a whole store.

Both read the store's vectors first and embed only what is missing, in batches, each batch
committed on its own: a kill at any moment loses at most the batch in flight, and the
next run continues where this one stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.digest.boilerplate import strip_boilerplate
from bot.digest.learned import boilerplate_of
from bot.digest.text import clean_text
from bot.embeddings.base import Embedder, EmbeddingError, EmbeddingsUnavailable, Matrix
from bot.embeddings.vectors import from_blob, to_blob
from bot.models import Post
from bot.store import PendingPost, Store, StoredVector, VectorRow

log = logging.getLogger(__name__)

EMBED_CHARS = 600
"""The headline and lead carry the event; the rest of a long post only costs time."""
BATCH = 64
DIGEST_MAX_NEW = 400
"""A digest embeds at most this many posts itself (about 15 s on one core); the rest of
a cold window is grouped by words, with a note saying so."""


class VectorStore(Protocol):
    """What keeping a digest's vectors needs from the store."""

    async def vectors_of(self, post_ids: Sequence[int], model: str) -> dict[int, StoredVector]: ...

    async def store_vectors(self, model: str, vectors: Sequence[VectorRow]) -> int: ...


def embedding_text(text: str, boilerplate: frozenset[str] = frozenset()) -> str:
    """What the model reads of a post: its words without links, furniture or boilerplate."""
    cleaned = " ".join(clean_text(strip_boilerplate(text, boilerplate)).split())
    return cleaned[:EMBED_CHARS]


async def embed_and_store(
    store: VectorStore,
    embedder: Embedder,
    posts: Sequence[PendingPost],
    boilerplate: dict[int, frozenset[str]],
) -> dict[int, Matrix]:
    """Embed these posts and store the vectors (one transaction); post id -> vector.

    A post with nothing left to read (links only) is stored with an empty marker, so
    it is not asked about again.
    """
    texts = [embedding_text(p.text, boilerplate.get(p.channel_id, frozenset())) for p in posts]
    keep = [i for i, text in enumerate(texts) if text]
    matrix = await embedder.embed([texts[i] for i in keep]) if keep else None
    made: dict[int, Matrix] = {}
    rows = [VectorRow(p.id, p.text, 0, b"") for i, p in enumerate(posts) if not texts[i]]
    if matrix is not None:
        for n, i in enumerate(keep):
            made[posts[i].id] = matrix[n]
            rows.append(VectorRow(posts[i].id, posts[i].text, matrix.shape[1], to_blob(matrix[n])))
    await store.store_vectors(embedder.model, rows)
    return made


@dataclass(slots=True)
class PostVectors:
    """Vectors for a digest's posts, and what could not be had."""

    vectors: dict[int, Matrix] = field(default_factory=dict)
    embedded_now: int = 0
    missing: int = 0
    problem: str | None = None

    def note(self) -> str | None:
        """One line for the digest when some posts were grouped by their words only."""
        if self.problem and not self.vectors:
            return f"Stories were grouped by shared words only: {self.problem}."
        if self.missing:
            why = f" ({self.problem})" if self.problem else " (run `wirebrief embed`)"
            return (
                f"{self.missing} of the posts had no embedding yet and were grouped by "
                f"shared words only{why}."
            )
        return None


async def vectors_for(
    store: VectorStore,
    embedder: Embedder,
    posts: Sequence[Post],
    boilerplate: dict[int, frozenset[str]],
    max_new: int = DIGEST_MAX_NEW,
) -> PostVectors:
    """The stored vectors of `posts`, plus up to `max_new` embedded (and stored) now."""
    result = PostVectors()
    with_text = [p for p in posts if p.text.strip()]
    stored = await store.vectors_of([p.id for p in with_text], embedder.model)
    todo: list[PendingPost] = []
    for post in with_text:
        row = stored.get(post.id)
        if row is not None and row.dim == 0:
            continue  # nothing in it to embed
        if row is not None:
            try:
                result.vectors[post.id] = from_blob(row.blob, row.dim)
                continue
            except EmbeddingError:
                pass
        todo.append(PendingPost(post.id, post.channel.id, post.text))
    now = todo[:max_new]
    result.missing = len(todo) - len(now)
    for start in range(0, len(now), BATCH):
        batch = now[start : start + BATCH]
        try:
            made = await embed_and_store(store, embedder, batch, boilerplate)
        except EmbeddingError as exc:
            log.warning("embedding %d posts failed: %s", len(batch), exc)
            result.problem = str(exc)
            result.missing += len(now) - start
            break
        result.vectors.update(made)
        result.embedded_now += len(made)
    return result


@dataclass(slots=True)
class BackfillReport:
    embedded: int = 0
    failed: int = 0
    problem: str | None = None


Progress = Callable[[int, int], None]
"""(done, total) after each batch."""


async def backfill(
    store: Store,
    embedder: Embedder,
    progress: Progress | None = None,
    limit: int | None = None,
    batch: int = BATCH,
) -> BackfillReport:
    """Embed every stored post that has no vector of this model yet, oldest id first.

    A batch the model rejects (an EmbeddingError) is skipped and counted; an unavailable
    model stops the run (its posts stay to do, nothing is lost).
    """
    report = BackfillReport()
    total = await store.count_posts_to_embed(embedder.model)
    if limit is not None:
        total = min(total, limit)
    boilerplate: dict[int, frozenset[str]] = {}
    after = 0
    done = 0
    while done < total:
        pending = await store.posts_to_embed(embedder.model, after, min(batch, total - done))
        if not pending:
            break
        after = pending[-1].id
        unknown = list({p.channel_id for p in pending} - boilerplate.keys())
        if unknown:
            learned = await boilerplate_of(store, unknown)
            boilerplate.update({c: learned.get(c, frozenset()) for c in unknown})
        try:
            report.embedded += len(await embed_and_store(store, embedder, pending, boilerplate))
        except EmbeddingsUnavailable as exc:
            report.problem = str(exc)
            break
        except EmbeddingError as exc:
            log.warning("embedding posts %d–%d failed: %s", pending[0].id, after, exc)
            report.failed += len(pending)
            report.problem = str(exc)
        done += len(pending)
        if progress is not None:
            progress(done, total)
    return report
