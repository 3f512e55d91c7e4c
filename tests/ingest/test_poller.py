"""The poller against a local t.me: backfill, increments, edits, deletions, faults, restarts."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from bot.http import make_http_client
from bot.ingest.poller import Poller, PreviewFetcher
from bot.query import match_all_words
from bot.retry import RetryPolicy
from bot.store import Store, open_store
from tests.fakes.tme_server import FakeTme

FAST_RETRY = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, max_total=10)


@pytest_asyncio.fixture
async def tme() -> AsyncIterator[FakeTme]:
    async with FakeTme() as server:
        yield server


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_http_client(timeout=1.0) as c:
        yield c


def make_poller(
    store: Store,
    tme: FakeTme,
    client: httpx.AsyncClient,
    backfill: int = 100,
    pacing: float = 0.0,
    max_pages: int = 60,
) -> Poller:
    fetcher = PreviewFetcher(client, tme.base_url, pacing=pacing, retry=FAST_RETRY)
    return Poller(
        store, fetcher, interval=timedelta(minutes=5), backfill=backfill, max_pages=max_pages
    )


async def stored_ids(store: Store, name: str) -> list[int]:
    channel = await store.find_channel(name)
    assert channel is not None
    return sorted(await store.message_ids_between(channel.id, 0, 10**9))


async def poll(poller: Poller, store: Store, name: str) -> str:
    source = await store.get_source(name)
    assert source is not None
    return (await poller.poll_source(source)).line()


async def test_first_poll_backfills_the_newest_posts_across_pages(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    tme.channel("noel_reports", "Noel Reports", posts=55)
    await store.add_source("noel_reports")
    poller = make_poller(store, tme, client, backfill=45)
    line = await poll(poller, store, "noel_reports")
    assert line == "@noel_reports: ok, 45 new (3 page(s))"
    assert await stored_ids(store, "noel_reports") == list(range(11, 56))
    assert [q.get("before") for q in tme.requests_for("noel_reports")] == [None, "36", "16"]
    source = await store.get_source("noel_reports")
    assert source is not None and source.cursor == 55 and source.status == "ok"
    assert source.posts_stored == 45 and source.last_success_at is not None


async def test_later_polls_fetch_only_what_is_new_and_lose_nothing(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    channel = tme.channel("uniannet", "УНІАН", posts=25)
    await store.add_source("uniannet")
    poller = make_poller(store, tme, client, backfill=25)
    await poll(poller, store, "uniannet")
    channel.add(7)
    assert await poll(poller, store, "uniannet") == "@uniannet: ok, 7 new (1 page(s))"
    channel.add(48)  # more than two pages since the last poll
    assert await poll(poller, store, "uniannet") == "@uniannet: ok, 48 new (3 page(s))"
    assert await stored_ids(store, "uniannet") == list(range(1, 81))
    assert await store.count_posts() == 80


async def test_edits_and_deletions_on_the_newest_page_are_caught(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    channel = tme.channel("operativnoZSU", "Оперативний ЗСУ", posts=10)
    await store.add_source("operativnoZSU")
    poller = make_poller(store, tme, client)
    await poll(poller, store, "operativnoZSU")
    channel.posts[8].text = "Post 8, updated: 12 drones shot down"
    channel.posts[8].edited = True
    channel.posts[9].deleted = True
    line = await poll(poller, store, "operativnoZSU")
    assert line == "@operativnoZSU: ok, 0 new, 1 edited, 1 deleted (1 page(s))"
    post = (await store.search(match_all_words("drones")))[0]
    assert post.edited and post.edit_date is not None
    assert await store.previous_texts([post.id]) == {post.id: ["Post 8"]}
    assert 9 not in await stored_ids(store, "operativnoZSU")


async def test_a_restart_resumes_from_the_stored_cursor(
    tmp_path: Path, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    channel = tme.channel("noel_reports", posts=30)
    store = await open_store(tmp_path / "a.db")
    await store.add_source("noel_reports")
    await poll(make_poller(store, tme, client), store, "noel_reports")
    await store.close()
    channel.add(3)
    store = await open_store(tmp_path / "a.db")  # a new process: new store, new poller
    before = len(tme.requests)
    assert await poll(make_poller(store, tme, client), store, "noel_reports") == (
        "@noel_reports: ok, 3 new (1 page(s))"
    )
    assert len(tme.requests) - before == 1
    assert await store.count_posts() == 33
    await store.close()


async def test_a_poll_killed_midway_stores_nothing_twice_and_the_next_completes(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    channel = tme.channel("uniannet", posts=20)
    await store.add_source("uniannet")
    poller = make_poller(store, tme, client)
    await poll(poller, store, "uniannet")
    channel.add(45)
    tme.fail_next("uniannet", "slow", delay=0.0)  # newest page: fine
    tme.fail_next("uniannet", "slow", delay=30)  # the next page hangs…
    task = asyncio.create_task(poll(poller, store, "uniannet"))
    await tme.wait_for_requests("uniannet", 3)
    task.cancel()  # …and the process dies there
    with pytest.raises(asyncio.CancelledError):
        await task
    source = await store.get_source("uniannet")
    assert source is not None and source.cursor == 20  # the cursor did not move
    assert await poll(poller, store, "uniannet") == "@uniannet: ok, 25 new (3 page(s))"
    assert await stored_ids(store, "uniannet") == list(range(1, 66))


async def test_a_channel_without_preview_is_marked_and_polled_rarely(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    tme.channel("durov", "Pavel Durov").preview = False
    await store.add_source("durov")
    poller = make_poller(store, tme, client)
    line = await poll(poller, store, "durov")
    assert line == "@durov: no_preview: @durov exists but has no public web preview"
    source = await store.get_source("durov")
    assert source is not None and source.status == "no_preview"
    assert source.next_poll_at is not None
    assert source.next_poll_at - datetime.now(UTC) > timedelta(hours=11)
    assert await store.due_sources(datetime.now(UTC)) == []


async def test_a_channel_that_does_not_exist_is_marked_not_found(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    await store.add_source("no_such_channel_xyz")
    line = await poll(make_poller(store, tme, client), store, "no_such_channel_xyz")
    assert line == "@no_such_channel_xyz: not_found: @no_such_channel_xyz is not a public channel"


async def test_no_posts_found_and_500s_are_retried_then_stored_once(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    tme.channel("noel_reports", posts=5)
    await store.add_source("noel_reports")
    tme.fail_next("noel_reports", "no_posts")
    tme.fail_next("noel_reports", "500")
    line = await poll(make_poller(store, tme, client), store, "noel_reports")
    assert line == "@noel_reports: ok, 5 new (1 page(s))"
    assert len(tme.requests_for("noel_reports")) == 3
    assert await store.count_posts() == 5


async def test_a_429_whose_retry_after_is_a_date_is_waited_out(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    """Retry-After may be a date (RFC 9110); the poller waits until then, not its own
    10 ms backoff (the header is read by the same parser as the model's)."""
    tme.channel("noel_reports", posts=5)
    await store.add_source("noel_reports")
    tme.fail_next("noel_reports", "429-date", delay=2.0)
    line = await poll(make_poller(store, tme, client), store, "noel_reports")
    assert line == "@noel_reports: ok, 5 new (1 page(s))"
    asked = [at for path, _, at in tme.requests if path == "/s/noel_reports"]
    assert len(asked) == 2 and asked[1] - asked[0] >= 0.9  # the date has a 1 s resolution


async def test_persistent_errors_are_recorded_with_backoff_and_clear_on_success(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    tme.channel("uniannet", posts=5)
    await store.add_source("uniannet")
    poller = make_poller(store, tme, client)
    tme.fail_next("uniannet", "500", times=6)
    assert await poll(poller, store, "uniannet") == "@uniannet: error: t.me answered 500"
    first = await store.get_source("uniannet")
    assert await poll(poller, store, "uniannet") == "@uniannet: error: t.me answered 500"
    second = await store.get_source("uniannet")
    assert first and second and first.next_poll_at and second.next_poll_at
    assert second.consecutive_failures == 2
    assert second.next_poll_at - second.last_poll_at > first.next_poll_at - first.last_poll_at  # type: ignore[operator]
    assert await poll(poller, store, "uniannet") == "@uniannet: ok, 5 new (1 page(s))"
    healed = await store.get_source("uniannet")
    assert healed and healed.status == "ok" and healed.consecutive_failures == 0
    assert healed.last_error == "t.me answered 500"  # history of the last error is kept


async def test_a_slow_answer_times_out_and_is_retried(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    tme.channel("noel_reports", posts=3)
    await store.add_source("noel_reports")
    tme.fail_next("noel_reports", "slow", delay=5.0)  # the client gives up after 1 s
    line = await asyncio.wait_for(poll(make_poller(store, tme, client), store, "noel_reports"), 10)
    assert line == "@noel_reports: ok, 3 new (1 page(s))"


async def test_requests_to_one_host_are_paced(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    for name in ("chan_one", "chan_two", "chan_three"):
        tme.channel(name, posts=2)
        await store.add_source(name)
    poller = make_poller(store, tme, client, pacing=0.15)
    outcomes = await poller.poll_once()
    assert [o.status for o in outcomes] == ["ok", "ok", "ok"]
    times = sorted(t for _, _, t in tme.requests)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.13  # never two requests to t.me closer than the pacing


async def test_a_backlog_longer_than_one_poll_reads_is_closed_by_the_next_polls(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    channel = tme.channel("noel_reports", posts=20)
    await store.add_source("noel_reports")
    poller = make_poller(store, tme, client, backfill=20, max_pages=3)
    await poll(poller, store, "noel_reports")
    channel.add(130)  # ids 21..150: more than three pages behind
    await poll(poller, store, "noel_reports")
    source = await store.get_source("noel_reports")
    assert source is not None and source.cursor == 20  # the cursor waits for the gap
    assert source.resume_before is not None and source.pending_cursor == 150
    for _ in range(3):
        await poll(poller, store, "noel_reports")
    assert await stored_ids(store, "noel_reports") == list(range(1, 151))  # nothing lost
    source = await store.get_source("noel_reports")
    assert source is not None and source.cursor == 150 and source.resume_before is None


async def test_a_database_failure_holds_the_source_back_instead_of_refetching_each_tick(
    store: Store, tme: FakeTme, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tme.channel("uniannet", posts=5)
    await store.add_source("uniannet")
    poller = make_poller(store, tme, client)

    async def broken(*_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "upsert_posts", broken)
    [outcome] = await poller.poll_due()
    assert outcome.status == "error" and "disk is full" in (outcome.error or "")
    fetched = len(tme.requests_for("uniannet"))
    assert await poller.poll_due() == []  # held back, not fetched again at once
    assert len(tme.requests_for("uniannet")) == fetched


async def test_a_poller_that_lost_its_lease_stops_that_poll(
    store: Store, tme: FakeTme, client: httpx.AsyncClient
) -> None:
    """A worker stalled past its lease (the other worker then took the source) stops its
    poll at its next renewal, so a source is never polled by two workers at once."""
    tme.channel("slow_wire", "Slow Wire", posts=5)
    tme.fail_next("slow_wire", "slow", times=1, delay=30)
    source, _ = await store.add_source("slow_wire")
    fetcher = PreviewFetcher(client, tme.base_url, pacing=0.0, retry=FAST_RETRY)
    poller = Poller(store, fetcher, worker="A", lease=timedelta(seconds=3))
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run(stop))
    try:
        for _ in range(100):  # until A holds the source and its poll hangs on the page
            if tme.requests_for("slow_wire"):
                break
            await asyncio.sleep(0.05)
        # A's lease ran out meanwhile and B claimed the source.
        async with store.db.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET leased_by = 'B', lease_until = ? WHERE id = ?",
                (int(datetime.now(UTC).timestamp()) + 60, source.id),
            )
        for _ in range(60):  # A notices at its next renewal (a third of the lease)
            if not any(t.get_name() == "poll @slow_wire" for t in asyncio.all_tasks()):
                break
            await asyncio.sleep(0.1)
        assert not any(t.get_name() == "poll @slow_wire" for t in asyncio.all_tasks())
        again = await store.get_source("slow_wire")
        assert again is not None and again.cursor is None  # A stored nothing
    finally:
        stop.set()
        await running
    holder = await store.db.fetchone("SELECT leased_by FROM sources WHERE id = ?", (source.id,))
    assert holder is not None and holder[0] == "B"  # A's stop did not free B's lease
