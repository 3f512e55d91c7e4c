"""A post that reaches the bot as a `channel_post` update is stored in one transaction:
the post, its channel, the channel as an `updates` source and its post count, or none."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import ChannelRef, IncomingPost
from bot.store import Store, open_store

NOW = datetime(2026, 5, 14, 9, 0, tzinfo=UTC)


def post(text: str, message_id: int = 7) -> IncomingPost:
    ref = ChannelRef(username="noel_reports", peer_id=1234567890, title="Noel")
    return IncomingPost(ref, message_id, NOW - timedelta(minutes=5), text)


async def test_a_channel_post_makes_its_source_and_counts_once(store: Store) -> None:
    await store.store_channel_post(post("Lukashenko met border guards"), NOW)
    await store.store_channel_post(post("Lukashenko met border guards"), NOW)  # again
    await store.store_channel_post(post("Lukashenko met border guards in Brest"), NOW)
    source = await store.get_source("noel_reports")
    assert source is not None and source.kind == "updates" and source.posts_stored == 1
    channel = await store.find_channel("noel_reports")
    assert channel is not None
    stored = await store.get_post(channel.id, 7)
    assert stored is not None and stored.edited and stored.text.endswith("in Brest")


async def test_a_failure_half_way_stores_nothing(tmp_path: Path) -> None:
    """The source row cannot be written (a SQLite trigger refuses it): the post that
    came first in the same transaction is not kept either."""
    path = tmp_path / "test.db"
    await (await open_store(path)).close()  # migrated
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TRIGGER no_sources BEFORE INSERT ON sources "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    store = await open_store(path)
    try:
        with pytest.raises(Exception, match="disk trouble"):
            await store.store_channel_post(post("Lukashenko met border guards"), NOW)
        assert await store.count_posts() == 0
        assert await store.find_channel("noel_reports") is None
    finally:
        await store.close()
