"""Stored embedding vectors: one per post version, written in batches, read by post id.

Vectors are opaque bytes here (float16, see `bot.embeddings.vectors`); the store only
keeps them with the model that made them and forgets them when a post's text changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.store.base import Backend, stamp

SQLITE_MAX_VARS = 900


@dataclass(frozen=True, slots=True)
class PendingPost:
    """A post whose current text has no vector of the given model yet."""

    id: int
    channel_id: int
    text: str


@dataclass(frozen=True, slots=True)
class StoredVector:
    """A stored vector; `dim` 0 (and no bytes) marks a post with nothing to embed."""

    model: str
    dim: int
    blob: bytes


@dataclass(frozen=True, slots=True)
class VectorRow:
    """A vector to store: for which post, made from which text of it."""

    post_id: int
    text: str
    dim: int
    blob: bytes


class EmbeddingsStore:
    """Mixin over `Backend`: the post_embeddings table."""

    db: Backend

    async def vectors_of(self, post_ids: Sequence[int], model: str) -> dict[int, StoredVector]:
        """The stored vectors of these posts made by `model` (others are left out)."""
        found: dict[int, StoredVector] = {}
        ids = list(post_ids)
        for start in range(0, len(ids), SQLITE_MAX_VARS):
            chunk = ids[start : start + SQLITE_MAX_VARS]
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT post_id, model, dim, vector FROM post_embeddings "
                f"WHERE model = ? AND post_id IN ({marks})",
                (model, *chunk),
            )
            for row in rows:
                found[row[0]] = StoredVector(row[1], row[2], bytes(row[3]))
        return found

    async def posts_to_embed(
        self, model: str, after_id: int = 0, limit: int = 256
    ) -> list[PendingPost]:
        """Posts with text but no vector of `model`, by id: a resumable backfill order."""
        rows = await self.db.fetchall(
            "SELECT p.id, p.channel_id, p.text FROM posts p "
            "LEFT JOIN post_embeddings e ON e.post_id = p.id AND e.model = ? "
            "WHERE p.id > ? AND e.post_id IS NULL AND p.deleted_at IS NULL AND p.text <> '' "
            "ORDER BY p.id LIMIT ?",
            (model, after_id, limit),
        )
        return [PendingPost(row[0], row[1], row[2]) for row in rows]

    async def count_posts_to_embed(self, model: str) -> int:
        rows = await self.db.fetchall(
            "SELECT count(*) FROM posts p "
            "LEFT JOIN post_embeddings e ON e.post_id = p.id AND e.model = ? "
            "WHERE e.post_id IS NULL AND p.deleted_at IS NULL AND p.text <> ''",
            (model,),
        )
        return int(next(iter(rows))[0])

    async def store_vectors(
        self, model: str, vectors: Sequence[VectorRow], now: datetime | None = None
    ) -> int:
        """Store (post id, the text that was embedded, vector) in one transaction.

        A vector is kept only if the post still has that text: an edit that arrived while
        the text was being embedded must not get the old text's vector.
        """
        if not vectors:
            return 0
        made_at = stamp(now)
        stored = 0
        async with self.db.transaction() as conn:
            for row in vectors:
                stored += await conn.execute(
                    "INSERT INTO post_embeddings (post_id, model, dim, vector, created_at) "
                    "SELECT id, ?, ?, ?, ? FROM posts WHERE id = ? AND text = ? "
                    "ON CONFLICT (post_id) DO UPDATE SET model = excluded.model, "
                    "dim = excluded.dim, vector = excluded.vector, "
                    "created_at = excluded.created_at",
                    (model, row.dim, row.blob, made_at, row.post_id, row.text),
                )
        return stored

    async def recent_texts(
        self, channel_ids: Sequence[int], per_channel: int = 200
    ) -> dict[int, list[str]]:
        """The newest `per_channel` post texts of each channel: what boilerplate is learned
        from (a channel's signature shows in most of its posts, whatever the window)."""
        found: dict[int, list[str]] = {}
        for channel_id in dict.fromkeys(channel_ids):
            # Newest by message id: the (channel_id, message_id) index gives them in
            # order; by date, every post of the channel would be read and sorted.
            rows = await self.db.fetchall(
                "SELECT text FROM posts WHERE channel_id = ? AND deleted_at IS NULL "
                "ORDER BY message_id DESC LIMIT ?",
                (channel_id, per_channel),
            )
            found[channel_id] = [row[0] for row in rows]
        return found

    async def newest_message_ids(self, channel_ids: Sequence[int]) -> dict[int, int]:
        """Each channel's newest message id: what says whether its newest posts changed
        since its boilerplate was learned (one index lookup per channel)."""
        found: dict[int, int] = {}
        for channel_id in dict.fromkeys(channel_ids):
            rows = list(
                await self.db.fetchall(
                    "SELECT MAX(message_id) FROM posts WHERE channel_id = ?", (channel_id,)
                )
            )
            if rows and rows[0][0] is not None:
                found[channel_id] = int(rows[0][0])
        return found
