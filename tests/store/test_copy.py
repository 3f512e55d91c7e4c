"""`wirebrief migrate --to postgresql://…`: a SQLite database copied into PostgreSQL whole
(posts, edits, sources and cursors, subscriptions, digests sent, the model cache,
embeddings), searchable there, and resumable after a kill."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bot.cli import main
from bot.models import ChannelRef, IncomingPost
from bot.query import match_all_words, match_word_forms
from bot.store import Store, VectorRow, open_store
from bot.store.copy import PROGRESS_TABLE, copy_to_postgres

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WIRE = ChannelRef(username="kyiv_wire", title="Kyiv Wire")
DESK = ChannelRef(peer_id=1101170442, title="Desk")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLES = (
    "channels", "posts", "post_edits", "post_embeddings", "sources", "subscriptions",
    "digests_sent", "cited_posts", "digest_pages", "llm_cache", "llm_usage",
)  # fmt: skip


async def _fill(path: Path, posts: int = 40) -> None:
    """A small database with a row in every table the copy carries."""
    store = await open_store(path)
    try:
        await store.upsert_posts(
            [
                IncomingPost(
                    WIRE if n % 2 else DESK,
                    n,
                    T0 + timedelta(minutes=n),
                    f"Пост {n}: Білорусь стягує техніку до кордону, Олёкминск",
                    views=n,
                )
                for n in range(1, posts + 1)
            ]
        )
        await store.upsert_posts(
            [IncomingPost(WIRE, 1, T0, "Пост 1: Лукашенко в Мінську, правка")]
        )  # an edit: the old text is kept
        source, _ = await store.add_source("kyiv_wire")
        await store.record_poll_success(source.id, None, 39, 20, T0, T0 + timedelta(minutes=5))
        later = T0 + timedelta(hours=1)
        assert await store.claim_due_sources("old-host:1", later, later + timedelta(minutes=5))
        # (a lease of the old process, which the copy does not carry over)
        await store.subscribe(-100, "belarus", "08:00", now=T0)
        window = await store.posts_in_window(T0, T0 + timedelta(hours=1))
        await store.record_digest(
            -100, "belarus", "daily", T0, T0, "extractive", 2, [p.id for p in window[:3]], T0
        )
        await store.add_digest_page(-100, "belarus", None, T0, T0, 5, 5, True, T0)
        await store.store_answer("key-1", "qwen", '{"items": []}', 120, 30)
        await store.record_llm_usage(date(2026, 3, 1), 120, 30)
        pending = await store.posts_to_embed("e5")
        await store.store_vectors(
            "e5", [VectorRow(p.id, p.text, 4, bytes([p.id % 256, 0, 92, 39]) * 2) for p in pending]
        )
    finally:
        await store.close()


Rows = list[tuple[object, ...]]


def _rows(sqlite_path: Path, url: str, table: str) -> tuple[Rows, Rows]:
    """Every row of `table` in SQLite and in PostgreSQL, in the same order."""
    order = "1, 2" if table == "cited_posts" else "1"
    with sqlite3.connect(sqlite_path) as lite:
        mine = [tuple(r) for r in lite.execute(f"SELECT * FROM {table} ORDER BY {order}")]
        names = [d[0] for d in lite.execute(f"SELECT * FROM {table}").description]
    with psycopg.connect(url) as pg:
        columns = ", ".join(f"{n}::text" if n == "username" else n for n in names)
        theirs = [tuple(r) for r in pg.execute(f"SELECT {columns} FROM {table} ORDER BY {order}")]
    return mine, theirs


async def test_every_table_is_copied_and_the_copy_is_a_working_store(
    tmp_path: Path, postgres_url: str
) -> None:
    path = tmp_path / "old.db"
    await _fill(path)
    seen: list[tuple[str, int, int]] = []
    report = await copy_to_postgres(path, postgres_url, lambda *a: seen.append(a))
    assert report.copied["posts"] == 40 and not report.resumed
    for table in TABLES:
        mine, theirs = _rows(path, postgres_url, table)
        if table == "sources":  # the old process's lease stays behind
            mine = [(*r[:-2], None, None) for r in mine]
        assert mine and theirs == mine, table
    assert seen[-1][1] == seen[-1][2] == report.total
    store = await open_store(postgres_url)
    try:
        assert len(await store.search(match_all_words("олекминск"), limit=100)) == 39
        assert len(await store.search(match_word_forms("Лукашенка"))) == 1
        # New rows take new ids, after the copied ones.
        result = await store.upsert_posts([IncomingPost(WIRE, 999, T0, "новий")])
        assert result.inserted == 1
        channel = await store.find_channel("kyiv_wire")
        assert channel is not None
        new = await store.get_post(channel.id, 999)
        assert new is not None and new.id == 41
        [source] = await store.sources()
        assert (source.cursor, source.posts_stored) == (39, 20)
        assert [s.topic for s in await store.subscriptions(-100)] == ["belarus"]
        assert len(await store.cited_post_ids(-100)) == 3
        assert (await store.llm_tokens_on(date(2026, 3, 1))).tokens_in == 120
        assert await store.count_posts_to_embed("e5") == 1  # only the new post
    finally:
        await store.close()
    with psycopg.connect(postgres_url) as pg:
        assert pg.execute("SELECT to_regclass(%s)", (PROGRESS_TABLE,)).fetchone() == (None,)


async def test_an_interrupted_copy_resumes_where_it_stopped(
    tmp_path: Path, postgres_url: str
) -> None:
    path = tmp_path / "old.db"
    await _fill(path, posts=95)

    class Killed(Exception):
        pass

    def die_in_posts(table: str, done: int, total: int) -> None:
        if table == "posts" and done > 60:
            raise Killed  # between two committed batches, as a kill would be

    with pytest.raises(Killed):
        await copy_to_postgres(path, postgres_url, die_in_posts, batch_rows=10)
    with psycopg.connect(postgres_url) as pg:
        partly = pg.execute("SELECT count(*) FROM posts").fetchone()
    assert partly is not None and 0 < partly[0] < 95
    report = await copy_to_postgres(path, postgres_url, batch_rows=10)
    assert report.resumed and report.copied["posts"] == 95
    for table in TABLES:
        mine, theirs = _rows(path, postgres_url, table)
        assert len(mine) == len(theirs), table
    mine, theirs = _rows(path, postgres_url, "posts")
    assert mine == theirs


async def test_a_database_that_holds_data_is_not_copied_into(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.db"
    await _fill(path, posts=3)
    other = await open_store(postgres_url)
    await other.upsert_posts([IncomingPost(WIRE, 1, T0, "already here")])
    await other.close()
    code = await asyncio.to_thread(main, ["migrate", "--db", str(path), "--to", postgres_url])
    assert code == 2
    assert "already holds data" in capsys.readouterr().err
    store: Store = await open_store(postgres_url)
    try:
        assert await store.count_posts() == 1
    finally:
        await store.close()


def test_migrate_needs_a_postgres_target_and_a_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--db", str(tmp_path / "x.db"), "--to", "mysql://h/db"]) == 2
    assert "expected a postgresql:// URL" in capsys.readouterr().err
    code = main(["migrate", "--db", str(tmp_path / "none.db"), "--to", "postgresql://h/db"])
    assert code == 2 and "no database at" in capsys.readouterr().err


def _posts_copied(url: str) -> int:
    """Rows of posts a running copy has committed (0 before it has begun)."""
    with psycopg.connect(url) as pg:
        if pg.execute("SELECT to_regclass(%s)", (PROGRESS_TABLE,)).fetchone() == (None,):
            return 0
        row = pg.execute(
            f"SELECT rows_done FROM {PROGRESS_TABLE} WHERE table_name = 'posts'"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.slow
async def test_a_copy_killed_with_sigkill_finishes_when_run_again(
    tmp_path: Path, postgres_url: str
) -> None:
    path = tmp_path / "big.db"
    store = await open_store(path)
    texts = ["Білорусь стягує техніку до кордону з Волинню, повідомили в ДПСУ. " * 6]
    for start in range(0, 30_000, 5_000):
        await store.upsert_posts(
            [
                IncomingPost(DESK, n, T0 + timedelta(seconds=n), f"{n} {texts[0]}")
                for n in range(start + 1, start + 5_001)
            ]
        )
    await store.close()
    env = {**os.environ, "PYTHONPATH": REPO}
    command = [sys.executable, "-m", "bot", "migrate", "--db", str(path), "--to", postgres_url]
    first = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    copied = 0
    for _ in range(600):  # until some batches of posts are in, but not all
        await asyncio.sleep(0.05)
        copied = _posts_copied(postgres_url)
        if copied > 0 or first.returncode is not None:
            break
    first.send_signal(signal.SIGKILL)
    await first.wait()
    assert 0 < copied < 30_000, copied
    second = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await second.communicate()
    assert second.returncode == 0, err.decode()
    assert "Resumed and finished: 30000 posts" in out.decode()
    with psycopg.connect(postgres_url) as pg:
        assert pg.execute("SELECT count(*), count(DISTINCT id) FROM posts").fetchone() == (
            30_000, 30_000,
        )  # fmt: skip
        assert pg.execute("SELECT count(*) FROM post_search").fetchone() == (30_000,)
