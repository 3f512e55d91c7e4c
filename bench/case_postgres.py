"""Case 11: the PostgreSQL store against the SQLite store, side by side in one run.

The same generated files go through the same import path (`import_paths`) into a fresh
SQLite file and a fresh PostgreSQL database, alternating; then the same extractive
`belarus` digests (24 h and 7 d, the windows of case 2) and the same free-text search run
on both stores. Every figure is a ratio, PostgreSQL over SQLite: above 1 PostgreSQL is
slower (times) or faster (rates), as each row says.

The server is a throwaway one started for the run (initdb + pg_ctl, as in the tests, but
with fsync and full-page writes on and asynchronous commit: the durability SQLite's WAL
with synchronous=NORMAL gives), on the same machine, reached over TCP on 127.0.0.1, with
PostgreSQL's default memory settings; or the server at `BENCH_POSTGRES_URL` (a URL of a
database on it with the right to create databases).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.case_digest import _digest_times, windows
from bench.common import Context, Row, human, ms, percentile, remove_db
from bench.data import build_dataset
from bot.digest.topics import load_topics
from bot.ingest.importer import import_paths
from bot.query import match_word_forms
from bot.store import open_store

SEARCHES = ("Минск", "Лукашенко", "граница Польша", "беспилотник*")


def skip_reason() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    if os.environ.get("BENCH_POSTGRES_URL"):
        return None
    from tests.pgserver import PostgresUnavailable, find_bindir

    try:
        find_bindir()
    except PostgresUnavailable as exc:
        return f"{exc} (or set BENCH_POSTGRES_URL)"
    return None


@contextmanager
def server() -> Iterator[tuple[str, Any]]:
    """(a URL to a database of the server, its version), the server stopped at the end."""
    import psycopg

    given = os.environ.get("BENCH_POSTGRES_URL")
    started = None
    if given:
        url = given
    else:
        from tests.pgserver import PostgresServer

        started = PostgresServer.start(durable=True)
        url = started.url()
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        yield url, row[0] if row else "?"
    finally:
        if started is not None:
            started.stop()


def fresh_database(url: str, name: str) -> str:
    """`name` dropped and created again on the server of `url`; its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}".encode())
        conn.execute(f"CREATE DATABASE {name}".encode())
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


async def _import(target: str | Path, files: list[Path]) -> tuple[float, int]:
    """Seconds to import `files` into a fresh store (closing it included: SQLite's WAL
    checkpoint is part of its cost), and the posts stored."""
    store = await open_store(target)  # creates and migrates: not timed
    start = time.perf_counter()
    report = await import_paths(store, files)
    elapsed = time.perf_counter() - start
    if isinstance(target, str):
        # Planner statistics, as autovacuum gathers them within a minute of an import
        # (a store that has run for a while has them); not timed.
        async with store.db.transaction() as conn:
            await conn.execute("ANALYZE")
    start = time.perf_counter()
    await store.close()
    elapsed += time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"bench: the import rejected records: {report.rejected[:3]}")
    return elapsed, report.counts.inserted


async def _search_times(target: str | Path, repeat: int) -> tuple[list[float], list[int]]:
    store = await open_store(target)
    try:
        times, found = [], []
        for words in SEARCHES:
            match = match_word_forms(words)
            await store.search(match, limit=20)  # warm
            for _ in range(repeat):
                start = time.perf_counter()
                posts = await store.search(match, limit=20)
                times.append(time.perf_counter() - start)
            found.append(len(posts))
        return times, found
    finally:
        await store.close()


def _row(size: int, measure: str, postgres: str, sqlite: str, ratio: float) -> Row:
    """A table row: PostgreSQL's figure as the value, SQLite's as the baseline."""
    return Row("11 postgres", human(size), f"{measure} (PostgreSQL ÷ SQLite)", postgres, sqlite,
               ratio, "(report)")  # fmt: skip


def run(ctx: Context) -> dict[str, Any]:
    rows: list[Row] = []
    details: dict[str, Any] = {}
    topic = load_topics()["belarus"]
    with server() as (admin_url, version):
        details["server"] = {
            "version": version,
            "settings": "initdb defaults; fsync on, full_page_writes on, synchronous_commit off"
            if not os.environ.get("BENCH_POSTGRES_URL")
            else "BENCH_POSTGRES_URL",
        }
        # The smoke run (--quick) checks the case works: its smallest size is enough.
        for size in ctx.sizes[:1] if ctx.quick else ctx.sizes:
            data = ctx.datasets.setdefault(size, build_dataset(size, ctx.out))
            lite = ctx.out / f"pgcase-sqlite-{size}.db"
            repeats = 1 if ctx.quick or size > 200_000 else min(ctx.repeat, 2)
            lite_rates, pg_rates = [], []
            pg_url = ""
            for attempt in range(repeats):
                remove_db(lite)
                l_seconds, l_n = asyncio.run(_import(lite, data.files))
                pg_url = fresh_database(admin_url, f"wb_bench_{size}")
                p_seconds, p_n = asyncio.run(_import(pg_url, data.files))
                if l_n != p_n:
                    raise SystemExit(f"bench: SQLite stored {l_n} posts, PostgreSQL {p_n}")
                lite_rates.append(l_n / l_seconds)
                pg_rates.append(p_n / p_seconds)
                print(
                    f"  import {human(size)} #{attempt + 1}: SQLite {l_n / l_seconds:,.0f} "
                    f"posts/s ({l_seconds:.1f} s), PostgreSQL {p_n / p_seconds:,.0f} posts/s "
                    f"({p_seconds:.1f} s)",
                    flush=True,
                )
            lite_rate, pg_rate = statistics.median(lite_rates), statistics.median(pg_rates)
            sizes = {"sqlite_bytes": lite.stat().st_size, "postgres_bytes": database_bytes(pg_url)}
            details[f"import/{size}"] = {
                "repeats": repeats,
                "sqlite_posts_per_s": [round(r) for r in lite_rates],
                "postgres_posts_per_s": [round(r) for r in pg_rates],
                **sizes,
            }
            rows.append(
                _row(size, "import posts/s", f"{pg_rate:,.0f}", f"{lite_rate:,.0f}",
                     pg_rate / lite_rate)
            )  # fmt: skip
            rows.append(
                _row(size, "database size", f"{sizes['postgres_bytes'] / 1e6:,.0f} MB",
                     f"{sizes['sqlite_bytes'] / 1e6:,.0f} MB",
                     sizes["postgres_bytes"] / sizes["sqlite_bytes"])
            )  # fmt: skip
            spans = (("24h", timedelta(hours=24), 7), ("7d", timedelta(days=7), 4))
            for label, span, repeat in spans:
                repeat = 2 if ctx.quick else repeat
                wins = windows(data, span)
                for target in (lite, pg_url):  # one unmeasured pass each
                    asyncio.run(_digest_times(target, topic, wins, 1))
                l_times, l_posts, _ = asyncio.run(_digest_times(lite, topic, wins, repeat))
                p_times, p_posts, _ = asyncio.run(_digest_times(pg_url, topic, wins, repeat))
                if l_posts != p_posts:
                    raise SystemExit(f"bench: SQLite saw {l_posts} posts, PostgreSQL {p_posts}")
                l50, p50 = percentile(l_times, 50), percentile(p_times, 50)
                l95, p95 = percentile(l_times, 95), percentile(p_times, 95)
                details[f"digest/{label}/{size}"] = {
                    "posts_in_window": l_posts,
                    "sqlite_ms": {"p50": round(l50 * 1000, 2), "p95": round(l95 * 1000, 2)},
                    "postgres_ms": {"p50": round(p50 * 1000, 2), "p95": round(p95 * 1000, 2)},
                }
                rows.append(
                    _row(size, f"{label} digest p50/p95", f"{ms(p50)} / {ms(p95)}",
                         f"{ms(l50)} / {ms(l95)}", p50 / l50)
                )  # fmt: skip
            s_repeat = 2 if ctx.quick else 5
            l_times, l_found = asyncio.run(_search_times(lite, s_repeat))
            p_times, p_found = asyncio.run(_search_times(pg_url, s_repeat))
            if l_found != p_found:
                raise SystemExit(f"bench: SQLite found {l_found} posts, PostgreSQL {p_found}")
            l50, p50 = percentile(l_times, 50), percentile(p_times, 50)
            details[f"search/{size}"] = {
                "queries": list(SEARCHES),
                "sqlite_ms_p50": round(l50 * 1000, 2),
                "postgres_ms_p50": round(p50 * 1000, 2),
            }
            rows.append(_row(size, "search, newest 20, p50", ms(p50), ms(l50), p50 / l50))
            remove_db(lite)
            fresh_database(admin_url, f"wb_bench_{size}")  # the space back
    return {"rows": rows, "details": details}
