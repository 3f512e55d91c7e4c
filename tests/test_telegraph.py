"""Publishing on Telegraph, over HTTP against the local stand-in that speaks its API:
one account (its token in SQLite, never in a log), pages in Telegraph's node format, flood
waits retried, everything else an error the caller falls back from."""

from __future__ import annotations

import asyncio
import io
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.logs import setup_logging
from bot.retry import RetryPolicy
from bot.store import Store
from bot.telegraph import (
    TelegraphClient,
    TelegraphError,
    TelegraphFlood,
    TelegraphPublisher,
    TelegraphUnavailable,
)
from tests.fakes.telegraph import FakeTelegraph

NODES = [
    {"tag": "h3", "children": ["Belarus brief"]},
    {"tag": "p", "children": ["Сообщили в ДПСУ ", {"tag": "a", "attrs": {"href": "https://t.me/a/1"}, "children": ["[1]"]}]},
]  # fmt: skip
FAST = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.05, max_total=10, max_retry_after=10)


@pytest.fixture
async def telegraph() -> AsyncIterator[FakeTelegraph]:
    async with FakeTelegraph() as server:
        yield server
    assert server.errors == []


def publisher(store: Store, telegraph: FakeTelegraph) -> TelegraphPublisher:
    from datetime import UTC, datetime

    return TelegraphPublisher(
        store, telegraph.origin, "wirebrief desk", lambda: datetime(2026, 3, 11, tzinfo=UTC),
        policy=FAST,
    )  # fmt: skip


def stored_token(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        (token,) = conn.execute("SELECT access_token FROM telegraph_account").fetchone()
    return str(token)


async def test_the_first_page_creates_the_account_and_later_pages_reuse_it(
    store: Store, telegraph: FakeTelegraph
) -> None:
    pages = [
        await publisher(store, telegraph).publish("Belarus brief, 11 Mar", NODES) for _ in range(2)
    ]
    assert len(telegraph.calls_of("createAccount")) == 1
    assert len(telegraph.calls_of("createPage")) == 2
    token = stored_token(store.db.path)
    assert set(telegraph.accounts) == {token}
    stored = telegraph.pages
    assert [p.url for p in pages] == [f"https://telegra.ph/{p.path}" for p in stored]
    assert stored[0].content == NODES and stored[0].author_name == "wirebrief desk"
    assert stored[0].hrefs() == ["https://t.me/a/1"]
    # The token travels in the body, never in the address.
    assert all(token not in call.target for call in telegraph.calls)
    assert any(call.params.get("access_token") == token for call in telegraph.calls)


async def test_a_short_flood_wait_is_waited_out_and_retried(
    store: Store, telegraph: FakeTelegraph
) -> None:
    telegraph.flood(1)
    started = time.monotonic()
    page = await publisher(store, telegraph).publish("Belarus brief", NODES)
    assert time.monotonic() - started >= 1.0
    floods = [c for c in telegraph.calls_of("createPage") if c.answer and not c.answer["ok"]]
    assert [c.answer["error"] for c in floods if c.answer] == ["FLOOD_WAIT_1"]
    assert len(telegraph.calls_of("createPage")) == 2 and page.path == telegraph.pages[0].path


async def test_a_long_flood_wait_is_not_waited_for(store: Store, telegraph: FakeTelegraph) -> None:
    telegraph.flood(3600)
    started = time.monotonic()
    with pytest.raises(TelegraphFlood) as caught:
        await publisher(store, telegraph).publish("Belarus brief", NODES)
    assert caught.value.retry_after == 3600 and time.monotonic() - started < 5
    assert len(telegraph.calls_of("createPage")) == 1 and not telegraph.pages


async def test_a_refused_token_gets_a_new_account(store: Store, telegraph: FakeTelegraph) -> None:
    await publisher(store, telegraph).publish("first", NODES)
    old = stored_token(store.db.path)
    telegraph.revoke(old)
    await publisher(store, telegraph).publish("second", NODES)
    new = stored_token(store.db.path)
    assert new != old and len(telegraph.calls_of("createAccount")) == 2
    assert [p.title for p in telegraph.pages] == ["first", "second"]


async def test_telegraphs_own_errors_and_outages_are_errors_the_caller_sees(
    store: Store,
) -> None:
    async with FakeTelegraph(content_limit=100) as small:
        with pytest.raises(TelegraphError) as caught:
            await publisher(store, small).publish("Belarus brief", NODES * 10)
        assert caught.value.code == "CONTENT_TOO_BIG"
        small.set_down(True)
        with pytest.raises(TelegraphUnavailable):
            await publisher(store, small).publish("Belarus brief", NODES)
    async with httpx.AsyncClient() as http:
        with pytest.raises(TelegraphUnavailable) as unreachable:
            await TelegraphClient(http, small.origin, FAST).create_account("x", "y")
    assert unreachable.value.code == "UNREACHABLE"


async def test_the_access_token_never_reaches_a_log_line(
    store: Store, telegraph: FakeTelegraph
) -> None:
    log = io.StringIO()
    handler = setup_logging("DEBUG", stream=log)
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # even if someone turns it up
    logging.getLogger("httpcore").setLevel(logging.DEBUG)
    try:
        telegraph.flood(1)  # a retry logs the failed attempt
        await publisher(store, telegraph).publish("Belarus brief", NODES)
        token = stored_token(store.db.path)
        logging.getLogger("anything").warning("leaked? access_token=%s and %s", token, token)
    finally:
        logging.getLogger().removeHandler(handler)
    output = log.getvalue()
    assert "FLOOD_WAIT_1" in output and "createPage" in output
    assert token not in output and token[:20] not in output
    assert "leaked? access_token=[redacted] and [redacted]" in output


async def test_two_first_pages_at_once_make_one_account(
    store: Store, telegraph: FakeTelegraph
) -> None:
    shared = publisher(store, telegraph)
    await asyncio.gather(shared.publish("one", NODES), shared.publish("two", NODES))
    assert len(telegraph.calls_of("createAccount")) == 1 and len(telegraph.pages) == 2
