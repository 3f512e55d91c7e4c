"""The only code that speaks SQL: a narrow async interface over one SQLite file, or a
PostgreSQL database (`open_store("postgresql://…")`) that several workers share."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.errors import StoreError
from bot.models import Channel, IncomingPost
from bot.store.base import Backend, Database, is_postgres_url, to_unix
from bot.store.chat import ChatStore, CitedChange, DigestPage, Subscription
from bot.store.embeddings import EmbeddingsStore, PendingPost, StoredVector, VectorRow
from bot.store.leases import LeasesStore
from bot.store.llm import LLMStore
from bot.store.posts import PostsStore, UpsertResult
from bot.store.sources import SourcesStore
from bot.store.telegraph import TelegraphAccount, TelegraphStore

__all__ = [
    "CitedChange",
    "DigestPage",
    "PendingPost",
    "Store",
    "StoredVector",
    "Subscription",
    "TelegraphAccount",
    "UpsertResult",
    "VectorRow",
    "open_store",
]


class Store(
    PostsStore, SourcesStore, LeasesStore, ChatStore, LLMStore, EmbeddingsStore, TelegraphStore
):
    """Everything wirebrief keeps: channels, posts, edits (and more as features arrive)."""

    def __init__(self, db: Backend) -> None:
        self.db = db
        self._channels: dict[int, Channel] = {}

    @property
    def path(self) -> Path:
        """The SQLite file (for backups and file checks); a server database has none."""
        if not isinstance(self.db, Database):
            raise StoreError(f"{self.db.location} is a server database, not a file")
        return self.db.path

    async def close(self) -> None:
        await self.db.close()

    async def store_channel_post(self, post: IncomingPost, now: datetime) -> UpsertResult:
        """A post that reached the bot as a `channel_post` update, in one transaction: the
        post (or its edit), its channel, the channel as an `updates` source, and the
        source's post count. Killed half-way, none of it happened."""
        stamp = to_unix(now)
        async with self.db.transaction() as conn:
            result = await self._upsert_in(conn, [post], stamp)
            channel = self._channels[result.channel_ids[0]]
            await self._ensure_updates_source_in(conn, channel.id, channel.username, stamp)
            if result.inserted:
                await self._count_source_posts_in(conn, channel.id, result.inserted)
        return result


async def open_store(target: Path | str, create: bool = True) -> Store:
    """Open (creating, unless `create` is False, and migrating as needed) the database:
    a SQLite file at a path, or PostgreSQL at a `postgresql://` URL."""
    if is_postgres_url(target):
        from bot.store.postgres import PostgresDatabase  # psycopg only when it is used

        return Store(await PostgresDatabase.open(str(target), create=create))
    return Store(await Database.open(target, create=create))
