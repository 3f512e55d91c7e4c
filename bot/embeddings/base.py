"""The embedder interface and its errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bot.errors import WirebriefError

Matrix = npt.NDArray[np.float32]


class EmbeddingError(WirebriefError):
    """An embedding call failed or answered something unusable (wrong size, NaN)."""


class EmbeddingsUnavailable(EmbeddingError):
    """No embedding model can be used at all (package missing, server down)."""


class Embedder(Protocol):
    """Turns passages into L2-normalised vectors, one row per text.

    `model` names the vector space: vectors of two models are never compared, and the
    store keeps the name beside every vector.
    """

    @property
    def model(self) -> str: ...

    async def embed(self, texts: Sequence[str]) -> Matrix: ...

    async def close(self) -> None: ...
