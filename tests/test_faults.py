"""Faults: kills at any moment, a busy database, a full disk. Nothing committed is lost,
nothing is stored twice, and running again completes the work."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.http import make_http_client
from bot.ingest.importer import import_paths
from bot.ingest.poller import Poller, PreviewFetcher
from bot.models import ChannelRef, IncomingPost
from bot.retry import RetryPolicy
from bot.store import open_store
from tests.conftest import CORPUS_POSTS
from tests.fakes.tme_server import FakeTme


def check_consistent(db: Path) -> int:
    """integrity_check ok, the FTS index agrees with posts, no post twice; the post count."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM posts GROUP BY channel_id, message_id "
            "HAVING count(*) > 1)"
        ).fetchone()[0]
        assert dupes == 0
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
    finally:
        conn.close()


async def wirebrief(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.slow
async def test_kill_during_a_poll_then_the_next_poll_completes(tmp_path: Path) -> None:
    async with FakeTme() as tme:
        tme.channel("noel_reports", posts=200)
        db = tmp_path / "w.db"
        env = {
            "DATABASE_PATH": str(db), "TME_URL": tme.base_url, "SOURCES": "noel_reports",
            "BACKFILL_POSTS": "200",
        }  # fmt: skip
        tme.fail_next("noel_reports", "slow", times=3, delay=0.0)
        tme.fail_next("noel_reports", "slow", delay=60)  # the 4th page hangs: kill there
        proc = await wirebrief("ingest", "--once", env=env)
        await tme.wait_for_requests("noel_reports", 4, within=60)
        await asyncio.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        stored = check_consistent(db)
        assert 0 < stored < 200  # some pages were stored before the kill
        proc = await wirebrief("ingest", "--once", env=env)
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
    assert check_consistent(db) == 200


@pytest.mark.slow
async def test_kill_during_a_digest_leaves_the_database_as_it_was(
    tmp_path: Path, corpus_db: Path
) -> None:
    db = tmp_path / "w.db"
    shutil.copy(corpus_db, db)
    killed = 0
    for attempt in range(4):
        # Every post of a year: grouping them takes seconds, so the kill lands mid-digest.
        proc = await wirebrief(
            "digest", "--query", "в", "--since", "2024-01-01", "--until", "2024-12-31",
            env={"DATABASE_PATH": str(db)},
        )  # fmt: skip
        await asyncio.sleep(0.8 + 0.3 * attempt)
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        await proc.wait()
        assert check_consistent(db) == CORPUS_POSTS
    assert killed >= 2


async def test_a_writer_holding_the_lock_is_waited_for(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = await open_store(db)
    released = threading.Event()

    def hold_lock() -> None:
        conn = sqlite3.connect(db)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO channels (username, created_at) VALUES ('other_writer', 0)")
        time.sleep(1.0)
        conn.commit()
        conn.close()
        released.set()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    await asyncio.sleep(0.2)
    result = await store.upsert_posts(
        [IncomingPost(ChannelRef(username="noel_reports"), 1, datetime.now(UTC), "Минск")]
    )
    thread.join()
    assert released.is_set() and result.inserted == 1  # no "database is locked"
    assert len(await store.channels()) == 2
    await store.close()


async def test_a_full_disk_fails_the_batch_and_keeps_the_rest(
    tmp_path: Path, corpus_dir: Path
) -> None:
    db = tmp_path / "w.db"
    store = await open_store(db)
    # SQLite's own size cap raises the same error as a full disk (SQLITE_FULL).
    await store.db.conn.execute("PRAGMA max_page_count = 600")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        await import_paths(store, [corpus_dir])
    await store.close()
    stored = check_consistent(db)
    assert 0 < stored < CORPUS_POSTS
    store = await open_store(db)  # space again: running the import again completes it
    report = await import_paths(store, [corpus_dir])
    await store.close()
    assert report.counts.inserted == CORPUS_POSTS - stored
    assert check_consistent(db) == CORPUS_POSTS


async def test_a_full_disk_during_polling_is_an_error_outcome_not_a_crash(tmp_path: Path) -> None:
    async with FakeTme() as tme, make_http_client(timeout=2) as client:
        tme.channel("noel_reports").add(40, text="Post {id} " + "довгий текст " * 300)
        store = await open_store(tmp_path / "w.db")
        await store.add_source("noel_reports")
        fetcher = PreviewFetcher(client, tme.base_url, pacing=0, retry=RetryPolicy(attempts=1))
        poller = Poller(store, fetcher, interval=timedelta(minutes=5))
        page_count = (await (await store.db.conn.execute("PRAGMA page_count")).fetchone())[0]  # type: ignore[index]
        await store.db.conn.execute(f"PRAGMA max_page_count = {page_count}")
        [outcome] = await poller.poll_once()
        assert outcome.status == "error" and "full" in (outcome.error or "")
        await store.db.conn.execute("PRAGMA max_page_count = 1000000")
        [outcome] = await poller.poll_once()
        assert outcome.line() == "@noel_reports: ok, 40 new (2 page(s))"
        await store.close()
