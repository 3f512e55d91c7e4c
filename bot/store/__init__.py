"""The only code that speaks SQL: a narrow async interface over one SQLite file."""

from __future__ import annotations

from pathlib import Path

from bot.models import Channel
from bot.store.base import Database
from bot.store.chat import ChatStore, CitedChange, DigestPage, Subscription
from bot.store.embeddings import EmbeddingsStore, PendingPost, StoredVector, VectorRow
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


class Store(PostsStore, SourcesStore, ChatStore, LLMStore, EmbeddingsStore, TelegraphStore):
    """Everything wirebrief keeps: channels, posts, edits (and more as features arrive)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._channels: dict[int, Channel] = {}

    @property
    def path(self) -> Path:
        return self.db.path

    async def close(self) -> None:
        await self.db.close()


async def open_store(path: Path | str, create: bool = True) -> Store:
    """Open (creating, unless `create` is False, and migrating as needed) the database."""
    return Store(await Database.open(path, create=create))
