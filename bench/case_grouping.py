"""Case 3: how `group_posts` time grows with the posts of one window (1k, 10k, 50k).

The posts are the first n of a long window of the largest store (every post, no topic),
so n grows by taking a longer stretch of time at the same density. The exponent is the
least-squares slope of log(time) over log(posts).
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from datetime import timedelta
from typing import Any

from bench.case_digest import forget
from bench.common import Context, Row, human, ms
from bench.data import SHIFT
from bot.digest.grouping import group_posts
from bot.models import Post
from bot.store import open_store

TARGET_RATIO = 20.0  # 10x the posts in at most 20x the time
TARGET_EXPONENT = math.log10(TARGET_RATIO)


async def _load(ctx: Context, need: int) -> list[Post]:
    data, db = ctx.datasets[ctx.largest], ctx.stores[ctx.largest]
    store = await open_store(db)
    try:
        since = data.since + SHIFT if data.replicas > 1 else data.since
        days = max(1, math.ceil(need / 2000)) + 1
        posts = await store.posts_in_window(since, min(data.until, since + timedelta(days=days)))
    finally:
        await store.close()
    return posts[:need]


def growth_row(
    case: str, measure: str, counts: list[int], times: list[float]
) -> tuple[float, float, Row]:
    """How time grows with posts, from the smallest size to the largest: the least-squares
    exponent k (time ∝ nᵏ), the time ratio per 10× posts, and the table row that checks it."""
    exponent = slope([float(n) for n in counts], times)
    low, high = counts[0], counts[-1]
    per_10x = (times[-1] / times[0]) ** (1 / math.log10(high / low))
    row = Row(
        case, f"{human(low)}→{human(high)}", measure, f"k = {exponent:.2f}", "", per_10x,
        f"10× posts ≤ {TARGET_RATIO:g}× time", per_10x <= TARGET_RATIO,
    )  # fmt: skip
    return exponent, per_10x, row


def slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx
    )


def run(ctx: Context) -> dict[str, Any]:
    counts = [200, 1000, 2000] if ctx.quick else [1000, 10_000, 50_000]
    posts = asyncio.run(_load(ctx, max(counts)))
    counts = [n for n in counts if n <= len(posts)]
    measured: dict[int, dict[str, Any]] = {}
    for n in counts:
        subset = posts[:n]
        repeat = 1 if n >= 50_000 else (2 if n >= 10_000 else 5)
        if ctx.quick:
            repeat = 2
        times, stories = [], 0
        for _ in range(repeat):
            forget(everything=True)  # every run starts cold: no memo carries over
            start = time.perf_counter()
            stories = len(group_posts(subset))
            times.append(time.perf_counter() - start)
        best = min(times)
        hours = (subset[-1].date - subset[0].date).total_seconds() / 3600
        measured[n] = {
            "seconds": [round(t, 4) for t in times],
            "best": best,
            "stories": stories,
            "hours": round(hours, 1),
        }
        print(
            f"  group_posts {n:,} posts ({hours:.0f} h): {best:.2f} s, {stories:,} stories",
            flush=True,
        )
    rows: list[Row] = []
    for n in counts:
        m = measured[n]
        rows.append(
            Row(
                "3 grouping",
                human(n),
                f"group_posts ({m['stories']:,} stories)",
                ms(m["best"]) if m["best"] < 10 else f"{m['best']:.1f} s",
            )
        )
    exponent, per_10x, row = growth_row(
        "3 grouping", "growth exponent (time ∝ nᵏ)", counts, [measured[n]["best"] for n in counts]
    )
    rows.append(row)
    return {
        "rows": rows,
        "details": {
            "counts": counts,
            "measured": {str(n): {k: v for k, v in m.items()} for n, m in measured.items()},
            "exponent": round(exponent, 3),
            "time_ratio_per_10x_posts": round(per_10x, 2),
        },
    }
