"""Checking, packing and comparing vectors. Pure numpy, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.embeddings.base import EmbeddingError, Matrix

STORED_DTYPE = np.dtype("<f2")
"""float16: half the bytes of float32, and cosines differ by less than 0.001."""
MIN_DIM, MAX_DIM = 8, 8192


def checked(raw: object, count: int, dim: int | None = None) -> Matrix:
    """An (count, dim) float32 matrix of unit rows from a model's answer, or EmbeddingError
    saying what was wrong with it."""
    if isinstance(raw, list) and len({len(row) for row in raw if isinstance(row, list)}) > 1:
        raise EmbeddingError("vectors of different sizes in one answer")
    try:
        matrix = np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError):
        raise EmbeddingError("the vectors are not lists of numbers") from None
    if matrix.ndim != 2 or matrix.shape[0] != count:
        raise EmbeddingError(f"expected {count} vectors, got an array of shape {matrix.shape}")
    width = matrix.shape[1]
    if not MIN_DIM <= width <= MAX_DIM:
        raise EmbeddingError(f"vectors of {width} numbers cannot be embeddings")
    if dim is not None and width != dim:
        raise EmbeddingError(f"vectors of {width} numbers, where this model gave {dim} before")
    if not np.isfinite(matrix).all():
        raise EmbeddingError("the vectors contain NaN or infinite numbers")
    norms = np.linalg.norm(matrix, axis=1)
    if (norms < 1e-6).any():
        raise EmbeddingError("a vector is all zeros")
    unit: Matrix = (matrix / norms[:, None]).astype(np.float32)
    return unit


def to_blob(vector: Matrix) -> bytes:
    return vector.astype(STORED_DTYPE).tobytes()


def from_blob(blob: bytes, dim: int) -> Matrix:
    """A stored vector, back to float32 and unit length (float16 rounding undone)."""
    vector = np.frombuffer(blob, dtype=STORED_DTYPE).astype(np.float32)
    if vector.shape != (dim,):
        raise EmbeddingError(f"a stored vector has {vector.size} numbers, not {dim}")
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm < 1e-6:
        raise EmbeddingError("a stored vector is unusable")
    return vector / norm


def stack(vectors: Sequence[Matrix]) -> Matrix:
    return np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, 0), np.float32)
