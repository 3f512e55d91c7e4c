"""Case 2: the extractive `belarus` digest against the bare FTS5 query, 24 h and 7 d.

Windows sit at the same weekday slots in every store, so (see bench.data) they hold the
same corpus posts whatever the store size: only the rest of the store grows. The digest
is `build_digest` through an open `Store` (retrieve → group → rank → summarise); the bare
query is the same FTS5 join through a plain sqlite3 connection, rows fetched, nothing else.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import Context, Row, human, ms, percentile
from bench.data import SHIFT, Dataset
from bot.digest import learned as learned_module
from bot.digest import text as text_module
from bot.digest.pipeline import build_digest
from bot.digest.topics import Topic, load_topics
from bot.digest.window import Window
from bot.store import open_store
from bot.store.base import to_unix

SIZE_TARGET = 1.5
BARE_TARGET = 5.0
SLOTS = 5
BARE_SQL = (
    "SELECT p.id, p.channel_id, p.message_id, p.date, p.text, p.views, p.edit_date, "
    "p.forwarded_from, p.media_kind, p.edited FROM posts_fts f JOIN posts p ON p.id = f.rowid "
    "WHERE posts_fts MATCH ? AND p.date >= ? AND p.date < ? AND p.deleted_at IS NULL "
    "ORDER BY p.date, p.id"
)


def windows(data: Dataset, span: timedelta) -> list[Window]:
    """`SLOTS` windows ending at different weekday slots, the same slots for every size."""
    weeks = max(1, data.replicas)
    found = []
    for i in range(SLOTS):
        week = 1 + (i * max(0, weeks - 2)) // (SLOTS - 1)
        end = data.since + SHIFT * week + timedelta(hours=13) + SHIFT * i / SLOTS
        end = min(end, data.until)
        found.append(Window(max(data.since, end - span), end))
    return found


def forget(everything: bool = False) -> None:
    """Empty the text memos before a measured digest.

    The per-post memos always (features, cleaned text: a digest must not reuse the previous
    run's work on the same window); the per-word memos too for `everything`, a digest in a
    freshly started process (and the channels' learned boilerplate, which a running bot
    keeps from one digest to the next).
    """
    clear = getattr(text_module, "clear_caches", None) if everything else None
    memo = (
        clear
        or getattr(text_module, "clear_post_memos", None)
        or getattr(text_module.post_features, "cache_clear", None)
    )
    if memo is not None:  # (the code before these memos had none)
        memo()
    learned = getattr(learned_module, "forget_learned", None)
    if everything and learned is not None:
        learned()


async def _digest_times(
    db: Path | str, topic: Topic, wins: list[Window], repeat: int, cold: bool = False
) -> tuple[list[float], list[int], list[int]]:
    store = await open_store(db)
    try:
        times, posts, stories = [], [], []
        for window in wins:
            for _ in range(repeat):
                forget(everything=cold)
                start = time.perf_counter()
                digest = await build_digest(store, topic, window, window.until)
                times.append(time.perf_counter() - start)
            posts.append(digest.posts_considered)
            stories.append(digest.stories_found)
        return times, posts, stories
    finally:
        await store.close()


def _bare_times(
    db: Path, topic: Topic, wins: list[Window], repeat: int
) -> tuple[list[float], list[int]]:
    conn = sqlite3.connect(db)
    try:
        times, counts = [], []
        for window in wins:
            params = (topic.fts_query, to_unix(window.since), to_unix(window.until))
            for _ in range(repeat):
                start = time.perf_counter()
                rows = conn.execute(BARE_SQL, params).fetchall()
                times.append(time.perf_counter() - start)
            counts.append(len(rows))
        return times, counts
    finally:
        conn.close()


def run(ctx: Context) -> dict[str, Any]:
    topic = load_topics()["belarus"]
    rows: list[Row] = []
    details: dict[str, Any] = {}
    p50: dict[tuple[str, int], float] = {}
    for label, span, repeat in (("24h", timedelta(hours=24), 7), ("7d", timedelta(days=7), 4)):
        repeat = max(2, repeat if not ctx.quick else 2)
        for size in ctx.sizes:
            data, db = ctx.datasets[size], ctx.stores[size]
            wins = windows(data, span)
            # One unmeasured pass warms the page cache for both.
            asyncio.run(_digest_times(db, topic, wins, 1))
            bare, counts = _bare_times(db, topic, wins, repeat)
            dig, posts, stories = asyncio.run(_digest_times(db, topic, wins, repeat))
            cold, _, _ = asyncio.run(_digest_times(db, topic, wins, 1, cold=True))
            if counts != posts:
                raise SystemExit(f"bench: digest saw {posts} posts, the bare query {counts}")
            d50, d95 = percentile(dig, 50), percentile(dig, 95)
            b50, b95 = percentile(bare, 50), percentile(bare, 95)
            p50[(label, size)] = d50
            details[f"{label}/{size}"] = {
                "windows": [[w.since.isoformat(), w.until.isoformat()] for w in wins],
                "posts_in_window": posts,
                "stories": stories,
                "samples": len(dig),
                "digest_ms": {"p50": round(d50 * 1000, 2), "p95": round(d95 * 1000, 2)},
                "bare_ms": {"p50": round(b50 * 1000, 2), "p95": round(b95 * 1000, 2)},
                "cold_digest_ms": {"p50": round(percentile(cold, 50) * 1000, 2)},
            }
            ratio = d50 / b50
            rows.append(
                Row(
                    "2 digest",
                    human(size),
                    f"{label} p50/p95 ({sum(posts) / len(posts):.0f} posts)",
                    f"{ms(d50)} / {ms(d95)}",
                    f"{ms(b50)} / {ms(b95)}",
                    ratio,
                    f"≤ {BARE_TARGET:g} × bare" if label == "24h" else "(report)",
                    ratio <= BARE_TARGET if label == "24h" else None,
                )
            )
        if len(ctx.sizes) > 1:
            small, large = min(ctx.sizes), max(ctx.sizes)
            growth = p50[(label, large)] / p50[(label, small)]
            details[f"{label}/growth"] = round(growth, 3)
            rows.append(
                Row(
                    "2 digest",
                    f"{human(large)}÷{human(small)}",
                    f"{label} p50 growth with store size",
                    f"{growth:.2f}×",
                    "",
                    growth,
                    f"≤ {SIZE_TARGET:g}×",
                    growth <= SIZE_TARGET,
                )
            )
    return {"rows": rows, "details": details}
