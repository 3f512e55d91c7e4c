"""Case 10: `group_posts` with embeddings, 1k → 50k posts, side by side with the lexical
grouping of the same posts (case 3's posts: the first n of a long window of the largest
store, every memo emptied before each run).

Vectors for 50k posts cannot be made in bench time (~25 posts/s), so each replica post
gets the real vector of the corpus post it was copied from (`bench.vectors`): the corpus
is embedded once by the bundled model and cached in bench/out/. No noise is added: copies
of one corpus post sit whole weeks apart (see bench.data), beyond the semantic pass's 14 h
gap, so equal vectors never meet in one comparison; within a replica the vectors are the
real ones of real posts. `--quick` uses stand-in vectors (hashed stems), no model.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.case_digest import forget
from bench.case_grouping import _load, growth_row
from bench.common import Context, Row, human, ms
from bench.vectors import corpus_vectors, stand_in
from bot.digest.grouping import group_posts
from bot.embeddings.base import Matrix
from bot.embeddings.service import embedding_text
from bot.models import Post


def skip_reason() -> str | None:
    from bench.case_embed import skip_reason as no_model

    return no_model()


def _vectors(ctx: Context, posts: list[Post]) -> tuple[dict[int, Matrix], dict[str, Any]]:
    if ctx.quick:
        texts = [embedding_text(p.text) for p in posts]
        keep = [i for i, t in enumerate(texts) if t]
        matrix = stand_in([texts[i] for i in keep])
        return {posts[i].id: matrix[n] for n, i in enumerate(keep)}, {"vectors": "stand-in"}
    corpus = corpus_vectors(ctx.out)
    return corpus.for_posts(posts), {"vectors": "corpus originals", "corpus": corpus.meta}


def _best(posts: list[Post], vectors: dict[int, Matrix] | None, repeat: int) -> tuple[float, int]:
    times, stories = [], 0
    for _ in range(repeat):
        forget(everything=True)
        start = time.perf_counter()
        stories = len(group_posts(posts, vectors=vectors))
        times.append(time.perf_counter() - start)
    return min(times), stories


def run(ctx: Context) -> dict[str, Any]:
    counts = [200, 1000, 2000] if ctx.quick else [1000, 10_000, 50_000]
    posts = asyncio.run(_load(ctx, max(counts)))
    counts = [n for n in counts if n <= len(posts)]
    vectors, about = _vectors(ctx, posts)
    measured: dict[int, dict[str, Any]] = {}
    for n in counts:
        subset = posts[:n]
        repeat = 2 if ctx.quick else (1 if n >= 50_000 else (2 if n >= 10_000 else 5))
        sub_vectors = {p.id: vectors[p.id] for p in subset if p.id in vectors}
        lexical, lex_stories = _best(subset, None, repeat)
        semantic, sem_stories = _best(subset, sub_vectors, repeat)
        measured[n] = {
            "with_vector": len(sub_vectors),
            "lexical_s": round(lexical, 4),
            "semantic_s": round(semantic, 4),
            "stories": {"lexical": lex_stories, "semantic": sem_stories},
        }
        print(
            f"  group_posts {n:,} posts ({len(sub_vectors):,} with a vector): lexical "
            f"{lexical:.2f} s, with vectors {semantic:.2f} s; stories {lex_stories:,} → "
            f"{sem_stories:,}",
            flush=True,
        )
    rows: list[Row] = []
    for n in counts:
        m = measured[n]
        sem, lex = m["semantic_s"], m["lexical_s"]
        rows.append(
            Row(
                "10 semantic grouping",
                human(n),
                f"group_posts with vectors ({m['stories']['semantic']:,} stories)",
                ms(sem) if sem < 10 else f"{sem:.1f} s",
                (ms(lex) if lex < 10 else f"{lex:.1f} s") + " (lexical)",
                sem / lex,
            )
        )
    exponent, per_10x, row = growth_row(
        "10 semantic grouping", "growth exponent with vectors (time ∝ nᵏ)", counts,
        [measured[n]["semantic_s"] for n in counts],
    )  # fmt: skip
    rows.append(row)
    return {
        "rows": rows,
        "details": {
            **about,
            "counts": counts,
            "measured": {str(n): m for n, m in measured.items()},
            "exponent": round(exponent, 3),
            "time_ratio_per_10x_posts": round(per_10x, 2),
        },
    }
