"""The store keeps every post once, keeps edits, and finds posts by words in any form."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.models import ChannelRef, IncomingPost
from bot.query import match_all_words
from bot.store import Store, open_store

T0 = datetime(2024, 11, 28, 10, 0, tzinfo=UTC)
RIA = ChannelRef(peer_id=1101170442, title="РИА Новости")


def post(message_id: int, text: str, channel: ChannelRef = RIA, **kw: object) -> IncomingPost:
    return IncomingPost(channel=channel, message_id=message_id, date=T0, text=text, **kw)  # type: ignore[arg-type]


async def test_same_posts_twice_change_nothing(store: Store) -> None:
    posts = [post(1, "Лукашенко заявил"), post(2, "Минск ответил")]
    first = await store.upsert_posts(posts)
    second = await store.upsert_posts(posts)
    assert (first.inserted, first.updated) == (2, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert await store.count_posts() == 2


async def test_changed_text_is_an_edit_that_keeps_the_old_text(store: Store) -> None:
    await store.upsert_posts([post(7, "В Минске прошёл митинг")])
    result = await store.upsert_posts([post(7, "В Минске прошёл митинг, задержаны 12 человек")])
    assert result.edited == 1
    stored = await store.search(match_all_words("митинг"))
    assert stored[0].text.endswith("задержаны 12 человек")
    assert stored[0].edited
    assert await store.previous_texts([stored[0].id]) == {stored[0].id: ["В Минске прошёл митинг"]}
    # The search index follows the edit: the new word is found, once.
    assert len(await store.search(match_all_words("задержаны"))) == 1


async def test_whitespace_and_empty_text_are_not_edits(store: Store) -> None:
    await store.upsert_posts([post(3, "Граница закрыта.\nПодробности позже")])
    same = await store.upsert_posts([post(3, "Граница  закрыта. Подробности позже ")])
    empty = await store.upsert_posts([post(3, "", views=500)])
    assert same.edited == 0 and empty.edited == 0
    stored = (await store.search(match_all_words("граница")))[0]
    assert stored.text.startswith("Граница закрыта") and stored.views == 500


async def test_views_refresh_without_an_edit(store: Store) -> None:
    await store.upsert_posts([post(4, "Текст", views=10)])
    result = await store.upsert_posts([post(4, "Текст", views=37200)])
    assert (result.refreshed, result.edited) == (1, 0)
    assert (await store.search(match_all_words("текст")))[0].views == 37200


async def test_a_channel_known_by_id_and_later_by_username_is_one_channel(store: Store) -> None:
    await store.upsert_posts([post(1, "один", ChannelRef(peer_id=555000111, title="Wire"))])
    await store.upsert_posts(
        [post(2, "два", ChannelRef(peer_id=555000111, username="uniannet", title="Wire"))]
    )
    await store.upsert_posts([post(3, "три", ChannelRef(username="UNIANnet"))])
    channels = await store.channels()
    assert len(channels) == 1
    found = await store.search(match_all_words("три"))
    assert found[0].url == "https://t.me/uniannet/3"


async def test_links_use_the_username_or_the_bare_channel_id(store: Store) -> None:
    await store.upsert_posts(
        [post(270580, "без имени"), post(9, "с именем", ChannelRef(username="noel_reports"))]
    )
    urls = {p.text: p.url for p in await store.search(match_all_words("имени"))}
    urls |= {p.text: p.url for p in await store.search(match_all_words("именем"))}
    assert urls["без имени"] == "https://t.me/c/1101170442/270580"
    assert urls["с именем"] == "https://t.me/noel_reports/9"


async def test_search_folds_case_yo_and_latin_diacritics(store: Store) -> None:
    await store.upsert_posts(
        [post(1, "Олёкминск ждёт астероид"), post(2, "Lukašenka met the press in MINSK")]
    )
    assert len(await store.search(match_all_words("олекминск ЖДЕТ"))) == 1
    assert len(await store.search(match_all_words("lukasenka minsk"))) == 1


async def test_window_excludes_posts_outside_and_deleted(store: Store) -> None:
    await store.upsert_posts(
        [
            IncomingPost(RIA, 1, T0 - timedelta(days=2), "старое"),
            IncomingPost(RIA, 2, T0, "новое"),
            IncomingPost(RIA, 3, T0 + timedelta(minutes=5), "удалённое"),
        ]
    )
    channel = (await store.channels())[0]
    assert await store.mark_deleted(channel.id, [3]) == 1
    posts = await store.posts_in_window(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [p.message_id for p in posts] == [2]


async def test_database_is_wal_with_foreign_keys_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    store = await open_store(path)
    version = await store.db.schema_version()
    await store.close()
    again = await open_store(path)  # opening a migrated file again applies nothing
    assert await again.db.schema_version() == version >= 1
    await again.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


async def test_topic_posts_of_a_window_are_the_same_found_by_date_or_by_index(
    store: Store,
) -> None:
    # Short windows are read date first, long ones through the FTS index first.
    days = 40
    await store.upsert_posts(
        [
            IncomingPost(
                channel=RIA,
                message_id=n,
                date=T0 - timedelta(hours=12 * n),
                text=f"Минск, сообщение {n}" if n % 2 == 0 else f"Киев, сообщение {n}",
            )
            for n in range(1, 2 * days)
        ]
    )
    match = match_all_words("минск")
    for span in (timedelta(days=1), timedelta(days=7), timedelta(days=days)):
        since, until = T0 - span, T0
        found = await store.posts_in_window(since, until, match)
        every = await store.posts_in_window(since, until)
        assert [p.id for p in found] == [p.id for p in every if p.text.startswith("Минск")]
        assert found and [p.date for p in found] == sorted(p.date for p in found)
    limited = await store.posts_in_window(T0 - timedelta(days=7), T0, match, limit=2)
    assert len(limited) == 2


async def test_a_channel_seen_by_id_and_by_username_becomes_one_when_both_are_known(
    store: Store,
) -> None:
    by_id = ChannelRef(peer_id=1234567890, title="Noel Reports")
    by_name = ChannelRef(username="noel_reports")
    await store.upsert_posts([post(1, "Минск: экспорт", by_id), post(2, "Минск: оба", by_id)])
    await store.upsert_posts([post(2, "Минск: оба", by_name), post(3, "Минск: веб", by_name)])
    assert len(await store.channels()) == 2  # not yet known to be one channel
    both = ChannelRef(peer_id=1234567890, username="noel_reports", title="Noel Reports")
    await store.upsert_posts([post(4, "Минск: апдейт", both)])
    [channel] = await store.channels()
    assert (channel.peer_id, channel.username) == (1234567890, "noel_reports")
    found = await store.search(match_all_words("минск"), limit=10)
    assert sorted(p.message_id for p in found) == [1, 2, 3, 4]  # post 2 once, not twice


async def test_an_upsert_names_the_channel_row_of_each_channel_it_wrote(store: Store) -> None:
    """The poller records its source's channel from this answer, without a lookup."""
    noel = ChannelRef(username="noel_reports")
    result = await store.upsert_posts([post(1, "a", noel), post(2, "b"), post(3, "c", noel)])
    found = await store.find_channel("noel_reports")
    assert found is not None and result.channel_ids[0] == found.id
    assert len(result.channel_ids) == 2 and result.channel_ids[1] != found.id
    # Unchanged posts name their channel too: it is where they are, not what changed.
    again = await store.upsert_posts([post(3, "c", noel)])
    assert again.unchanged == 1 and again.channel_ids == [found.id]


async def test_a_source_added_on_the_bots_clock_is_due_on_that_clock(store: Store) -> None:
    """Writes record the caller's time, not the wall clock: a source an admin adds is
    polled at once by a poller on the same clock, even one far from the wall clock."""
    source, created = await store.add_source("uniannet", "admin:1", now=T0)
    assert created and source.next_poll_at == T0
    assert [s.username for s in await store.due_sources(T0)] == ["uniannet"]
