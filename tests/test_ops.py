"""Operations: `health` for container checks, `backup` while the bot writes, and restore."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.health import check_health
from bot.models import ChannelRef, IncomingPost
from bot.store import open_store
from bot.store.backup import backup_database

BATCH = 50


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_PATH": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=60
    )


def writer(db: Path, stop: threading.Event, committed: list[int]) -> None:
    """Another process's connection: batches of BATCH posts, one transaction each."""

    async def write() -> None:
        store = await open_store(db)
        batch = 0
        while not stop.is_set():
            posts = [
                IncomingPost(ChannelRef(username="noel_reports"), batch * BATCH + i + 1,
                             datetime.now(UTC), f"post {batch} {i} " + "x" * 400)
                for i in range(BATCH)
            ]  # fmt: skip
            await store.upsert_posts(posts)
            batch += 1
            committed.append(batch * BATCH)
        await store.close()

    asyncio.run(write())


def test_backup_while_another_connection_writes_holds_every_committed_post(
    tmp_path: Path,
) -> None:
    db = tmp_path / "live.db"
    (tmp_path / "backups").mkdir()
    stop, committed = threading.Event(), [0]
    thread = threading.Thread(target=writer, args=(db, stop, committed))
    thread.start()
    try:
        while committed[-1] < 20 * BATCH:
            time.sleep(0.01)
        before = committed[-1]
        result = backup_database(db, tmp_path / "backups")
        after = committed[-1]
    finally:
        stop.set()
        thread.join()
    assert after > before  # the writer kept writing during the backup
    assert result.path.parent == tmp_path / "backups" and result.path.name.startswith("wirebrief-")
    assert before <= result.posts and result.posts % BATCH == 0  # whole transactions only
    copy = sqlite3.connect(result.path)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = [row[0] for row in copy.execute("SELECT message_id FROM posts ORDER BY message_id")]
    copy.close()
    assert ids == list(range(1, result.posts + 1))


async def test_a_restored_backup_opens_and_serves_its_posts(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = await open_store(db)
    await store.upsert_posts(
        [IncomingPost(ChannelRef(username="uniannet"), 5, datetime.now(UTC), "Мінськ заявив")]
    )
    await store.close()
    result = run_cli("backup", str(tmp_path / "copy.db"), db=db)
    assert result.returncode == 0 and "backed up 1 posts" in result.stdout
    # Restore, as the README says: stop the bot, copy the file over DATABASE_PATH, start.
    restored = tmp_path / "restored" / "wirebrief.db"
    restored.parent.mkdir()
    restored.write_bytes((tmp_path / "copy.db").read_bytes())
    again = await open_store(restored)
    posts = await again.posts_in_window(
        datetime(2020, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(1)
    )
    await again.close()
    assert [p.text for p in posts] == ["Мінськ заявив"]


async def test_health_reports_a_stale_poller_and_a_missing_database(tmp_path: Path) -> None:
    missing = run_cli("health", db=tmp_path / "nothing.db")
    assert missing.returncode == 1 and missing.stdout.startswith("unhealthy: no database")
    db = tmp_path / "w.db"
    store = await open_store(db)
    now = datetime.now(UTC)
    source, _ = await store.add_source("noel_reports")
    await store.record_poll_success(source.id, None, 10, 5, now - timedelta(minutes=2), now)
    fresh = await check_health(store, now, timedelta(minutes=20))
    stale = await check_health(store, now + timedelta(hours=1), timedelta(minutes=20))
    await store.close()
    assert fresh.ok and "last successful poll 120 s ago" in fresh.facts
    assert not stale.ok and stale.problems == ["no successful poll for 62 min (limit 20 min)"]
    result = run_cli("health", db=db)
    assert result.returncode == 0 and result.stdout.startswith("healthy (posts stored: 0")
