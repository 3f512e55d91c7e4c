"""Case 1: posts/s of the real import path against plain sqlite3 executemany.

Both write the same generated files into a fresh database with the project's schema
(its migrations, so the same FTS5 index kept by the same triggers), the same pragmas
(WAL, synchronous=NORMAL), and both parse the JSON. The import path also does what a
real import must: validation, channel reconciliation, the idempotency check against
stored posts, batches that commit on their own. Runs alternate, so drift hits both.

`import_paths` is what `wirebrief import --no-embed` runs: the embedding step comes after
the import has committed (or in `run`'s background) and is measured by case 8. The
figures before embeddings existed (`PREVIOUS`) are compared as ratios to the sqlite3
script of the same run, which cancels the machine's speed of the hour.

Side by side in the same run, the shared corpora as they are (ru-news-2024 and
varta-2026-spring, 19.5k posts) are imported by this code and by the code of the last
commit before embeddings (`BEFORE_EMBEDDINGS`, extracted with `git archive` into
bench/out/), each import in a fresh interpreter that times only `import_paths` and the
close, rounds alternating.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import Context, Row, human, remove_db
from bench.data import REPO, SHARED, build_dataset, read_records
from bot.ingest.importer import import_paths
from bot.links import bare_peer_id
from bot.store import open_store
from bot.store.base import BUSY_TIMEOUT_MS, migrations, split_sql, to_unix

TARGET = 0.5
SLOWDOWN_TARGET = 0.9
PREVIOUS = {
    100_000: {"posts_per_s": 7530, "ratio": 0.815},
    1_000_000: {"posts_per_s": 6119, "ratio": 0.726},
}
"""Case 1 of `python -m bench --cases import,digest,parse` on 2026-12-03 (commit dbf5d70),
the last run before embeddings (bench/results.json of that commit)."""
BEFORE_EMBEDDINGS = "dbf5d70"
"""The last commit without embeddings (the hostile-input work, whose bench run is `PREVIOUS`)."""
CORPUS_FILES = ("ru-news-2024", "varta-2026-spring/posts.jsonl")
_TIMED_IMPORT = """
import asyncio, json, sys, time
from pathlib import Path
import bot
from bot.ingest.importer import import_paths
from bot.store import open_store

async def main() -> None:
    db, files = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    store = await open_store(db)
    start = time.perf_counter()
    report = await import_paths(store, files)
    await store.close()
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "posts": report.counts.inserted, "ok": report.ok,
                      "rejected": len(report.rejected), "bot": bot.__file__}))

asyncio.run(main())
"""
INSERT = (
    "INSERT INTO posts (channel_id, message_id, date, text, views, edit_date, forwarded_from, "
    "media_kind, author, reply_to, first_seen_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


async def _real(files: list[Path], db: Path) -> tuple[float, int]:
    remove_db(db)
    store = await open_store(db)  # creates and migrates: not timed
    start = time.perf_counter()
    report = await import_paths(store, files)
    await store.close()  # the WAL checkpoint on close is part of the cost
    elapsed = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"bench: the import rejected records: {report.rejected[:3]}")
    return elapsed, report.counts.inserted


def migrated_connection(db: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection to a fresh database with the project's schema."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    for version, _, sql in migrations():
        conn.execute("BEGIN")
        for statement in split_sql(sql):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    return conn


def _baseline(files: list[Path], db: Path) -> tuple[float, int]:
    """What a plain script would do: parse, executemany, one transaction per file."""
    remove_db(db)
    conn = migrated_connection(db)
    start = time.perf_counter()
    now = int(time.time())
    channels: dict[int, int] = {}
    count = 0
    for path in files:
        conn.execute("BEGIN")
        rows: list[tuple[Any, ...]] = []
        for record in read_records(path):
            peer = bare_peer_id(int(record["sender_id"]))
            channel_id = channels.get(peer)
            if channel_id is None:
                cur = conn.execute(
                    "INSERT INTO channels (peer_id, title, created_at) VALUES (?, ?, ?)",
                    (peer, record.get("channel"), now),
                )
                channel_id = channels[peer] = int(cur.lastrowid or 0)
            rows.append(
                (
                    channel_id,
                    record["message_id"],
                    to_unix(datetime.fromisoformat(record["date"])),
                    record["text"],
                    record.get("views"),
                    None,
                    None,
                    None,
                    None,
                    None,
                    now,
                    now,
                )
            )
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
        count += len(rows)
    conn.close()
    return time.perf_counter() - start, count


def _tree(ref: str, out: Path) -> Path:
    """The `bot` package as it was at `ref`, extracted once into `out`."""
    dest = out / f"tree-{ref}"
    if not (dest / "bot" / "__init__.py").exists():
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, "bot"], capture_output=True, check=True
        ).stdout
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
    return dest


def _timed_import(tree: Path, files: list[Path], db: Path) -> dict[str, Any]:
    remove_db(db)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-c", _TIMED_IMPORT, str(db), *map(str, files)],
        cwd=tree, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    remove_db(db)
    if proc.returncode != 0:
        raise SystemExit(f"bench: the import in {tree} failed: {proc.stderr[-1500:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if not result["bot"].startswith(str(tree)):
        raise SystemExit(f"bench: the import in {tree} ran {result['bot']}")
    return result


def corpus_side_by_side(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    """The shared corpora imported by this code and by the code before embeddings."""
    names = CORPUS_FILES[1:] if ctx.quick else CORPUS_FILES
    files = [SHARED / "corpus" / n for n in names]
    trees = {"now": REPO, "before": _tree(BEFORE_EMBEDDINGS, ctx.out)}
    rounds = 1 if ctx.quick else 5
    seconds: dict[str, list[float]] = {"now": [], "before": []}
    posts: dict[str, int] = {}
    for r in range(rounds):
        order = ("now", "before") if r % 2 == 0 else ("before", "now")
        for side in order:
            result = _timed_import(trees[side], files, ctx.out / f"import-corpus-{side}.db")
            if not result["ok"]:
                raise SystemExit(f"bench: the {side} import rejected {result['rejected']} records")
            seconds[side].append(result["seconds"])
            posts[side] = result["posts"]
    if posts["now"] != posts["before"]:
        raise SystemExit(f"bench: the corpus import stored {posts}")
    n = posts["now"]
    now, before = statistics.median(seconds["now"]), statistics.median(seconds["before"])
    kept = before / now
    print(
        f"  corpus import ({n:,} posts), median of {rounds}: now {n / now:,.0f} posts/s "
        f"({now:.2f} s), before embeddings ({BEFORE_EMBEDDINGS}) {n / before:,.0f} posts/s "
        f"({before:.2f} s)",
        flush=True,
    )
    row = Row(
        "1 import",
        f"corpus {n / 1000:.1f}k",
        f"posts/s (median of {rounds}), now vs before embeddings, same run",
        f"{n / now:,.0f}",
        f"{n / before:,.0f} ({BEFORE_EMBEDDINGS})",
        kept,
        f"≥ {SLOWDOWN_TARGET:g} × before",
        kept >= SLOWDOWN_TARGET,
    )
    details = {
        "files": list(names),
        "posts": n,
        "before_commit": BEFORE_EMBEDDINGS,
        "rounds": rounds,
        "now_s": [round(x, 3) for x in seconds["now"]],
        "before_s": [round(x, 3) for x in seconds["before"]],
        "kept": round(kept, 3),
    }
    return [row], details


def run(ctx: Context) -> dict[str, Any]:
    rows: list[Row] = []
    details: list[dict[str, Any]] = []
    for size in ctx.sizes:
        data = ctx.datasets.setdefault(size, build_dataset(size, ctx.out))
        store_db = ctx.out / f"store-{size}.db"
        scratch = ctx.out / f"import-{size}.db"
        base_db = ctx.out / f"baseline-{size}.db"
        repeats = ctx.repeat if size <= 200_000 else 1
        real_rates, base_rates = [], []
        for attempt in range(repeats):
            seconds, n = asyncio.run(_real(data.files, scratch))
            real_rates.append(n / seconds)
            b_seconds, b_n = _baseline(data.files, base_db)
            base_rates.append(b_n / b_seconds)
            if n != b_n:
                raise SystemExit(f"bench: import stored {n} posts, the baseline {b_n}")
            print(
                f"  import {human(size)} #{attempt + 1}: wirebrief {n / seconds:,.0f} posts/s "
                f"({seconds:.1f} s), sqlite3 {b_n / b_seconds:,.0f} posts/s ({b_seconds:.1f} s)",
                flush=True,
            )
        remove_db(store_db)
        scratch.rename(store_db)  # the last real import becomes the store for later cases
        remove_db(base_db)
        ctx.stores[size] = store_db
        real, base = statistics.median(real_rates), statistics.median(base_rates)
        ratio = real / base
        details.append(
            {
                "size": size,
                "posts": data.size,
                "files": len(data.files),
                "repeats": repeats,
                "wirebrief_posts_per_s": [round(r) for r in real_rates],
                "sqlite3_posts_per_s": [round(r) for r in base_rates],
                "ratio": round(ratio, 3),
                "db_bytes": store_db.stat().st_size,
            }
        )
        rows.append(
            Row(
                "1 import",
                human(size),
                "posts/s (median)",
                f"{real:,.0f}",
                f"{base:,.0f}",
                ratio,
                f"≥ {TARGET} × sqlite3",
                ratio >= TARGET,
            )
        )
        before = PREVIOUS.get(size)
        if before is not None and not ctx.quick:
            kept = ratio / before["ratio"]
            details[-1]["before_embeddings"] = {**before, "kept": round(kept, 3)}
            rows.append(
                Row(
                    "1 import",
                    human(size),
                    "÷ sqlite3, now vs before embeddings (--no-embed)",
                    f"{ratio:.3f}",
                    f"{before['ratio']:.3f} ({before['posts_per_s']:,} posts/s)",
                    kept,
                    f"≥ {SLOWDOWN_TARGET:g} × before",
                    kept >= SLOWDOWN_TARGET,
                )
            )
    corpus_rows, corpus = corpus_side_by_side(ctx)
    rows.extend(corpus_rows)
    return {"rows": rows, "details": {"sizes": details, "corpus": corpus}}
