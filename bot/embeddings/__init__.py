"""Multilingual embeddings of posts: what lets one event's reports in Ukrainian, Russian and
English meet in one story.

`Embedder` is the interface (a local model, or any OpenAI-compatible `/v1/embeddings`
server); `vectors` turns their answers into checked, compact vectors; `service` keeps the
store's vectors current (backfill, and what a digest still lacks).
"""

from __future__ import annotations

from bot.embeddings.base import Embedder, EmbeddingError, EmbeddingsUnavailable

__all__ = ["Embedder", "EmbeddingError", "EmbeddingsUnavailable"]
