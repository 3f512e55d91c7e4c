"""Case 9: a 24 h all-sources digest with warm embeddings against today's lexical digest,
on the same posts of the same store.

The window is the 24 h slot of `case_digest.windows` holding the fewest posts above 2,000
(every channel, no topic: `Topic.everything()`, what `/digest` alone shows). Its posts' vectors are
made once by the digest's own path (`vectors_for`, the bundled model) and cached in
bench/out/, then stored, as the background embedder of `wirebrief run` leaves them: the
measured digest reads them and embeds nothing (an embedder that would fails the run).
Both digests are `build_digest` through an open store; the per-post memo is emptied before
each run (as in case 2); runs alternate. The breakdown times the parts alone: reading the
vectors (`vectors_for`) and grouping + ranking (`stories_of`) with and without them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from bench.case_digest import forget, windows
from bench.common import Context, Row, human, ms, percentile
from bench.vectors import NoEmbedding, window_vectors
from bot.digest.learned import boilerplate_of
from bot.digest.pipeline import build_digest, stories_of, without_boilerplate
from bot.digest.topics import Topic
from bot.digest.window import Window
from bot.embeddings.service import vectors_for
from bot.store import Store, open_store

TARGET = 1.5
WANTED_POSTS = 2000


def skip_reason() -> str | None:
    from bench.case_embed import skip_reason as no_model

    return no_model()


async def _choose(store: Store, wins: list[Window]) -> tuple[Window, list[int]]:
    """The window holding the fewest posts above `WANTED_POSTS` (else the fullest one)."""
    counts = [len(await store.posts_in_window(w.since, w.until)) for w in wins]
    best = min(
        range(len(wins)), key=lambda i: (counts[i] < WANTED_POSTS, abs(counts[i] - WANTED_POSTS), i)
    )
    return wins[best], counts


async def _measure(ctx: Context, size: int, repeat: int) -> dict[str, Any]:
    data, db = ctx.datasets[size], ctx.stores[size]
    topic = Topic.everything()
    store = await open_store(db)
    try:
        window, counts = await _choose(store, windows(data, timedelta(hours=24)))
        posts = await store.posts_in_window(window.since, window.until)
        key = {
            "dataset": (data.folder / "manifest.json").read_text(),
            "window": [window.since.isoformat(), window.until.isoformat()],
        }
        warm = await window_vectors(store, posts, ctx.out, key, ctx.quick)
        print(
            f"  window {window.since:%Y-%m-%d %H:%M} +24 h: {len(posts):,} posts, "
            f"{warm['with_vector']:,} with a vector ({warm['from_cache']:,} from the cache, "
            f"{warm['embedded_now']:,} embedded now in {warm['embed_seconds']} s)",
            flush=True,
        )
        guard = NoEmbedding(warm["model"])

        async def digest(semantic: bool) -> tuple[float, Any]:
            forget()
            start = time.perf_counter()
            result = await build_digest(
                store, topic, window, window.until, embedder=guard if semantic else None
            )
            return time.perf_counter() - start, result

        await digest(False)
        await digest(True)  # one unmeasured pass of each
        lexical, semantic = [], []
        for r in range(repeat):
            for sem in (r % 2 == 0, r % 2 == 1):
                seconds, result = await digest(sem)
                (semantic if sem else lexical).append(seconds)
                if sem:
                    sem_digest = result
                else:
                    lex_digest = result
        if any("no embedding" in n or "shared words only" in n for n in sem_digest.notes):
            raise SystemExit(f"bench: the warm digest was not warm: {sem_digest.notes}")

        # The parts alone, for where the time goes.
        boilerplate = await boilerplate_of(store, list({p.channel.id: None for p in posts}))
        readable = without_boilerplate(posts, boilerplate)
        read_s, group_lex, group_sem = [], [], []
        vectors: dict[int, Any] = {}
        for _ in range(repeat):
            start = time.perf_counter()
            vectors = (await vectors_for(store, guard, posts, boilerplate)).vectors
            read_s.append(time.perf_counter() - start)
            forget()
            start = time.perf_counter()
            stories_of(readable)
            group_lex.append(time.perf_counter() - start)
            forget()
            start = time.perf_counter()
            stories_of(readable, vectors)
            group_sem.append(time.perf_counter() - start)
    finally:
        await store.close()
    return {
        "size": size,
        "window": [window.since.isoformat(), window.until.isoformat()],
        "posts_per_slot": counts,
        "posts": len(posts),
        "warm_up": warm,
        "samples": repeat,
        "lexical_ms": [round(s * 1000, 1) for s in lexical],
        "semantic_ms": [round(s * 1000, 1) for s in semantic],
        "lexical_p50": percentile(lexical, 50),
        "semantic_p50": percentile(semantic, 50),
        "stories": {"lexical": lex_digest.stories_found, "semantic": sem_digest.stories_found},
        "parts_p50_ms": {
            "vectors_for (read stored vectors)": round(percentile(read_s, 50) * 1000, 1),
            "stories_of, lexical": round(percentile(group_lex, 50) * 1000, 1),
            "stories_of, with vectors": round(percentile(group_sem, 50) * 1000, 1),
        },
    }


def run(ctx: Context) -> dict[str, Any]:
    size = ctx.largest if ctx.quick else min(ctx.sizes)
    m = asyncio.run(_measure(ctx, size, 3 if ctx.quick else 7))
    lex, sem = m.pop("lexical_p50"), m.pop("semantic_p50")
    ratio = sem / lex
    m["ratio"] = round(ratio, 3)
    print(
        f"  digest p50: lexical {ms(lex)}, warm embeddings {ms(sem)} ({ratio:.2f}×); "
        f"stories {m['stories']['lexical']} → {m['stories']['semantic']}; parts "
        + ", ".join(f"{k} {v} ms" for k, v in m["parts_p50_ms"].items()),
        flush=True,
    )
    model = "stand-in vectors" if ctx.quick else "warm vectors"
    rows = [
        Row(
            "9 semantic digest",
            human(size),
            f"24h all sources p50, {model} ({m['posts']:,} posts)",
            ms(sem),
            f"{ms(lex)} (lexical)",
            ratio,
            f"≤ {TARGET:g} × lexical",
            ratio <= TARGET,
        ),
        Row(
            "9 semantic digest",
            human(size),
            "stories found, lexical → with embeddings",
            f"{m['stories']['semantic']:,}",
            f"{m['stories']['lexical']:,}",
        ),
    ]
    return {"rows": rows, "details": m}
