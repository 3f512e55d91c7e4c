"""A broken or hostile page never stops the others: the poller against a local t.me that
stalls, floods, inflates, redirects elsewhere and lies about whose posts it serves."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bot.http import make_http_client
from bot.ingest import poller as poller_module
from bot.ingest.poller import Poller, PreviewFetcher
from bot.retry import RetryPolicy
from bot.store import Store
from tests.fakes.hostile_tme import MB, HostileTme
from tests.fakes.tme_server import FakeTme

ONE_TRY = RetryPolicy(attempts=1, initial_wait=0.01, max_wait=0.01, max_total=60)


@pytest_asyncio.fixture
async def tme() -> AsyncIterator[HostileTme]:
    async with HostileTme() as server:
        yield server


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_http_client(timeout=5.0) as c:
        yield c


def make_poller(
    store: Store, tme: FakeTme, client: httpx.AsyncClient, deadline: float = 30.0, **kw: Any
) -> Poller:
    fetcher = PreviewFetcher(client, tme.base_url, pacing=0.0, retry=ONE_TRY, deadline=deadline)
    return Poller(store, fetcher, **kw)


async def poll_one(store: Store, poller: Poller, name: str) -> str:
    await store.add_source(name)
    source = await store.get_source(name)
    assert source is not None
    [outcome] = await poller.poll_once([source])
    return outcome.line()


async def test_a_server_trickling_bytes_cannot_hold_a_poll_past_its_deadline(
    store: Store, tme: HostileTme, client: httpx.AsyncClient
) -> None:
    tme.misbehave("slow_drip", "trickle")
    tme.trickle_interval = 0.3  # well inside httpx's per-read timeout of 5 s
    line = await poll_one(store, make_poller(store, tme, client, deadline=1.5), "slow_drip")
    assert line == "@slow_drip: error: t.me did not send the page within 1.5 s"
    source = await store.get_source("slow_drip")
    assert source is not None and source.status == "error" and source.cursor is None


async def test_a_healthy_source_is_polled_on_time_beside_a_stalled_one(
    store: Store, tme: HostileTme, client: httpx.AsyncClient
) -> None:
    tme.misbehave("stalled", "trickle")
    tme.channel("healthy", posts=3)
    await store.add_source("stalled")
    await store.add_source("healthy")
    poller = make_poller(store, tme, client, deadline=60.0, interval=timedelta(seconds=1))
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run(stop, tick=0.05))
    try:
        # The stalled request takes a minute; the healthy source is polled again and again.
        await tme.wait_for_requests("healthy", 3, within=15)
        assert len(tme.requests_for("stalled")) == 1
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    healthy = await store.get_source("healthy")
    assert healthy is not None and healthy.status == "ok" and healthy.posts_stored == 3


@pytest.mark.parametrize("kind", ["huge", "declared_huge", "bomb"])
async def test_a_page_too_large_is_refused_while_it_streams(
    store: Store, tme: HostileTme, client: httpx.AsyncClient, kind: str
) -> None:
    tme.misbehave("flood", kind)
    line = await poll_one(store, make_poller(store, tme, client), "flood")
    assert line == "@flood: error: the page /s/flood is larger than 4 MB; not read"
    if kind == "huge":  # the client hung up early: the server could not send it all
        assert tme.bytes_sent["flood"] < 40 * MB


async def test_a_redirect_to_another_host_is_not_followed(
    store: Store, tme: HostileTme, client: httpx.AsyncClient
) -> None:
    async with FakeTme() as internal:
        tme.misbehave("sneaky", "redirect_away")
        tme.redirect_to = f"{internal.origin}/admin"
        line = await poll_one(store, make_poller(store, tme, client), "sneaky")
        assert line == (
            f"@sneaky: error: t.me redirected @sneaky to another host "
            f"(127.0.0.1:{internal.port}); not followed"
        )
        assert internal.requests == []


async def test_posts_of_another_channel_on_a_page_are_not_stored(
    store: Store, tme: HostileTme, client: httpx.AsyncClient
) -> None:
    tme.misbehave("liar", "foreign")
    line = await poll_one(store, make_poller(store, tme, client), "liar")
    assert line == "@liar: ok, 3 new (1 page(s))"
    assert await store.find_channel("victim_channel") is None
    liar = await store.find_channel("liar")
    assert liar is not None
    assert await store.message_ids_between(liar.id, 0, 100) == [3, 4, 5]


async def test_a_page_nested_too_deep_is_refused_and_parsing_is_off_the_event_loop(
    store: Store, tme: HostileTme, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    real = poller_module.parse_preview_page

    def watched(html: str, source: str = "page") -> Any:
        threads.append(threading.get_ident())
        return real(html, source)

    monkeypatch.setattr(poller_module, "parse_preview_page", watched)
    tme.misbehave("deep", "nested")
    tme.channel("plain", posts=2)
    poller = make_poller(store, tme, client)
    line = await poll_one(store, poller, "deep")
    assert line == "@deep: error: @deep: tags nested more than 5,000 deep; not read"
    assert await poll_one(store, poller, "plain") == "@plain: ok, 2 new (1 page(s))"
    assert threads and threading.get_ident() not in threads  # never on the loop's thread


async def test_stopping_the_poller_ends_a_stalled_poll(
    store: Store, tme: HostileTme, client: httpx.AsyncClient
) -> None:
    tme.misbehave("stuck", "trickle")
    await store.add_source("stuck")
    poller = make_poller(store, tme, client, deadline=120.0)
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run(stop, tick=0.05))
    await tme.wait_for_requests("stuck", 1)
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(running, 10)  # the in-flight poll is cancelled, not awaited
    assert running.done()
