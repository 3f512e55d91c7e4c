"""Two poller processes share one PostgreSQL database: every post is stored once, each
channel is polled by one of them at a time, and a worker killed with -9 leaves its
channels to the other within the lease time."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.fakes.http_core import Connection, Request
from tests.fakes.tme_server import FakeTme

CHANNELS = [f"shared_chan_{n:02d}" for n in range(1, 21)]
POSTS_PER_CHANNEL = 15  # one preview page: one request per first poll
LEASE_SECONDS = 4
SLOW = 1.5  # worker A's answers take this long, so A always has polls in flight


class TimedTme(FakeTme):
    """Records each preview request of a channel with its start and end (wall clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.polls: list[tuple[str, float, float]] = []

    async def _preview(self, conn: Connection, request: Request, name: str) -> bool:
        start = time.time()
        try:
            return await super()._preview(conn, request, name)
        finally:
            self.polls.append((name.lower(), start, time.time()))


async def _poller(name: str, url: str, tme: FakeTme, tmp_path: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TME_URL": tme.base_url,
        "SOURCES": ",".join(CHANNELS),
        "BACKFILL_POSTS": str(POSTS_PER_CHANNEL),
        "POLL_INTERVAL_SECONDS": "3600",
        "LEASE_SECONDS": str(LEASE_SECONDS),
        "WORKER_NAME": name,
        "LOG_LEVEL": "INFO",
    }
    log = await asyncio.to_thread(open, tmp_path / f"{name}.log", "wb")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--role", "poller",
        env=env, stdout=log, stderr=log,
    )  # fmt: skip


def _stored(url: str) -> tuple[int, int, list[tuple[str, int | None, str]]]:
    with psycopg.connect(url) as conn:
        posts, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (channel_id, message_id)) FROM posts"
        ).fetchone()  # type: ignore[misc]
        sources = conn.execute(
            "SELECT username::text, cursor, status FROM sources ORDER BY username"
        ).fetchall()
    return posts, distinct, sources


@pytest.mark.slow
async def test_two_pollers_share_the_sources_and_one_takes_over_from_a_killed_one(
    postgres_url: str, tmp_path: Path
) -> None:
    async with TimedTme() as tme_a, TimedTme() as tme_b:
        tme_b.channels = tme_a.channels  # two doors to the same channels: one per worker
        for name in CHANNELS:
            tme_a.channel(name, posts=POSTS_PER_CHANNEL)
            tme_a.fail_next(name, "slow", times=10, delay=SLOW)
        worker_a = await _poller("A", postgres_url, tme_a, tmp_path)
        worker_b = await _poller("B", postgres_url, tme_b, tmp_path)
        try:
            for _ in range(600):  # both have taken sources (up to a minute)
                if len(tme_a.requests) >= 3 and len(tme_b.requests) >= 3:
                    break
                await asyncio.sleep(0.1)
            assert tme_a.requests and tme_b.requests, "both workers poll"
            worker_a.kill()  # kill -9: no lease is released
            killed_at = time.time()
            await worker_a.wait()
            with psycopg.connect(postgres_url) as conn:
                held = dict(
                    conn.execute(
                        "SELECT username::text, lease_until FROM sources WHERE leased_by = 'A'"
                    ).fetchall()
                )
            assert held, "A died holding sources"
            # B takes A's channels once A's leases expire, and finishes every channel.
            deadline = time.monotonic() + LEASE_SECONDS + 40
            while time.monotonic() < deadline:
                posts, _, sources = _stored(postgres_url)
                if posts == len(CHANNELS) * POSTS_PER_CHANNEL and all(
                    s[1] == POSTS_PER_CHANNEL for s in sources
                ):
                    break
                await asyncio.sleep(0.2)
        finally:
            for worker in (worker_a, worker_b):
                if worker.returncode is None:
                    worker.terminate()
                    await asyncio.wait_for(worker.wait(), 30)
        log_b = (tmp_path / "B.log").read_text(errors="replace")

    posts, distinct, sources = _stored(postgres_url)
    assert posts == distinct == len(CHANNELS) * POSTS_PER_CHANNEL, log_b[-2000:]
    assert [(s[0], s[1], s[2]) for s in sources] == [
        (name, POSTS_PER_CHANNEL, "ok") for name in CHANNELS
    ]
    # One worker at a time: no B request for a channel while an A request for it was
    # being answered, nor before the lease of a dead A ran out.
    for name in CHANNELS:
        a_polls = [(s, e) for n, s, e in tme_a.polls if n == name]
        b_polls = [(s, e) for n, s, e in tme_b.polls if n == name]
        for b_start, _ in b_polls:
            assert not any(a_s <= b_start <= a_e for a_s, a_e in a_polls), name
            if name in held:
                assert b_start >= held[name] - 0.001, (name, b_start, held[name])
    # Each channel was polled once (one page holds its posts) by each worker at most, and
    # by both only if A held it when it died (B polled it again once the lease ran out).
    for name in CHANNELS:
        by_a = sum(1 for n, _, _ in tme_a.polls if n == name)
        by_b = sum(1 for n, _, _ in tme_b.polls if n == name)
        assert by_a <= 1 and by_b <= 1 and by_a + by_b >= 1, (name, by_a, by_b)
        assert not (by_a and by_b) or name in held, name
    # …and B took every channel A held within the lease time (plus its own 1 request/s).
    for name, until in held.items():
        firsts = [s for n, s, _ in tme_b.polls if n == name and s >= killed_at]
        assert firsts, f"B never polled {name}, which A held"
        assert min(firsts) - until <= LEASE_SECONDS + len(held) + 3, name
