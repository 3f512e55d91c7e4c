"""SQLite and PostgreSQL are one store: the same versions, the same matches, the same data."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bot.models import ChannelRef, IncomingPost
from bot.query import Term, match_all_words, match_any, match_word_forms
from bot.store import Store, open_store
from bot.store.base import migrations
from bot.store.fts import index_tokens, to_tsquery

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WIRE = ChannelRef(username="kyiv_wire", title="Kyiv Wire")

# Texts where PostgreSQL's own parser would split words differently from FTS5's unicode61:
# hyphens, decimal numbers, URLs, e-mail, underscores, apostrophes, ё, diacritics, emoji.
TEXTS = [
    "Пункт пропуску Кукурики-Козловичі закрито з 12:00",
    "Польша закрыла КПП «Кукурики — Козловичи»; грузовики ждут",
    "Олёкминск ждёт астероид, ЁЛКА в снегу",
    "Lukašenka met the press in MINSK; Łódź and São Paulo too",
    "Курс 1.5 гривні, інфляція 12,5% — див. https://t.me/demo_border_ua/4101",
    "За нашими даними, з'явилося 12 нових позицій біля Бреста",
    "Пишите на press@wire.example или в @kyiv_wire_bot 🚨🔥",
    "Білорусь стягує техніку до кордону з Волинню",
    "Беларусь стягивает технику к границе с Волынью",
    "Belarus moves 300 troops and 40 vehicles near Brest",
    "Грузии и Грузию обсуждали в Тбилиси; груз прибыл",
    "U.S. and E.U. officials met; covid19 and 5G are words",
    "ПРИКОРДОННИКИ ДПСУ повідомили про ДРГ",
    "naïve café résumé coöperate",
]

QUERIES = [
    match_all_words("кукурики"),
    match_all_words("Кукурики Козловичи"),
    match_all_words("олекминск ЖДЕТ"),
    match_all_words("ёлка"),
    match_all_words("lukasenka minsk"),
    match_all_words("lodz"),
    match_all_words("1.5"),
    match_all_words("12"),
    match_all_words("5"),
    match_all_words("t.me demo"),
    match_all_words("border"),
    match_all_words("з'явилося"),
    match_all_words("явилося"),
    match_all_words("press wire"),
    match_all_words("bot"),
    match_all_words("us eu"),
    match_all_words("covid19"),
    match_all_words("5g"),
    match_all_words("cafe resume naive"),
    match_all_words("брест*"),
    match_word_forms("Грузия"),
    match_word_forms("Білорусь Волинь"),
    match_word_forms("границы"),
    match_word_forms("дпсу"),
    match_word_forms("прикордонники"),
    match_any([Term.parse("пункт* пропуску"), Term.parse("belarus"), Term.parse("ДРГ")]),
    match_any([Term.parse("кукурики козловичі"), Term.parse("кукурики козловичи")]),
    match_any([Term.parse("білорус*"), Term.parse("беларус*"), Term.parse("грузовик*")]),
    match_any([Term.parse("sao paulo"), Term.parse("press in minsk")]),
]


async def _matches(store: Store) -> list[list[str]]:
    found = []
    for query in QUERIES:
        posts = await store.search(query, limit=100)
        found.append(sorted(p.text for p in posts))
    return found


async def test_every_query_finds_the_same_posts_on_both_backends(
    tmp_path: Path, postgres_url: str
) -> None:
    posts = [IncomingPost(WIRE, n, T0 + timedelta(minutes=n), t) for n, t in enumerate(TEXTS, 1)]
    results = []
    for target in (tmp_path / "s.db", postgres_url):
        store = await open_store(target)
        try:
            await store.upsert_posts(posts)
            results.append(await _matches(store))
        finally:
            await store.close()
    sqlite_found, postgres_found = results
    for query, on_sqlite, on_postgres in zip(QUERIES, sqlite_found, postgres_found, strict=True):
        assert on_sqlite == on_postgres, query
    assert sum(map(len, sqlite_found)) > len(QUERIES)  # the queries do find things


def test_the_index_tokens_are_fts5_tokens_for_every_corpus_post(corpus_db: Path) -> None:
    """The PostgreSQL index is made of the very tokens SQLite's FTS5 index holds."""
    conn = sqlite3.connect(corpus_db)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, posts_fts, instance)")
        fts5: dict[int, list[tuple[int, str]]] = {}
        for doc, term, offset in conn.execute("SELECT doc, term, offset FROM temp.v"):
            fts5.setdefault(doc, []).append((offset, term))
        texts = conn.execute("SELECT id, text FROM posts").fetchall()
    finally:
        conn.close()
    assert len(texts) > 10_000
    for post_id, text in texts:
        assert index_tokens(text) == [t for _, t in sorted(fts5.get(post_id, []))], post_id


def test_a_query_the_builders_did_not_make_is_refused() -> None:
    from bot.errors import QueryError

    assert to_tsquery('"минск"* AND "брест"') == "('минск':*) & ('брест')"
    for bad in ("минск", '"a" NEAR "b"', '"a" AND', '"a" "b"', '("a")'):
        with pytest.raises(QueryError):
            to_tsquery(bad)


def test_both_backends_have_one_list_of_migration_versions() -> None:
    sqlite = [(version, name) for version, name, _ in migrations("sqlite")]
    postgres = [(version, name) for version, name, _ in migrations("postgresql")]
    assert sqlite == postgres and [v for v, _ in sqlite] == list(range(1, len(sqlite) + 1))


async def test_postgres_is_migrated_once_even_by_workers_starting_together(
    postgres_server: object, postgres_url: str
) -> None:
    from tests.pgserver import PostgresServer

    assert isinstance(postgres_server, PostgresServer)
    postgres_server.sql("CREATE DATABASE wb_fresh")  # empty: not from the template
    url = postgres_server.url("wb_fresh")
    stores = await asyncio.gather(*(open_store(url) for _ in range(3)))
    latest = max(v for v, _, _ in migrations("postgresql"))
    try:
        assert [await s.db.schema_version() for s in stores] == [latest] * 3
    finally:
        for s in stores:
            await s.close()
    with psycopg.connect(url) as conn:
        applied = conn.execute("SELECT version FROM wirebrief_schema ORDER BY version").fetchall()
    assert [v for (v,) in applied] == list(range(1, latest + 1))


async def test_a_wrong_postgres_url_is_one_line_without_the_password(
    postgres_server: object,
) -> None:
    from bot.errors import StoreError
    from tests.pgserver import free_port

    url = f"postgresql://someone:s3cret@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(StoreError) as caught:
        await open_store(url)
    message = str(caught.value)
    assert "s3cret" not in message and "cannot connect to" in message and "\n" not in message


async def test_usernames_are_case_insensitive_on_both_backends(store: Store) -> None:
    await store.add_source("Kyiv_Wire")
    again, created = await store.add_source("kyiv_wire")
    assert not created and again.username == "Kyiv_Wire"
    await store.upsert_posts([IncomingPost(ChannelRef(username="KYIV_WIRE"), 1, T0, "x")])
    await store.upsert_posts([IncomingPost(ChannelRef(username="kyiv_wire"), 2, T0, "y")])
    assert len(await store.channels()) == 1


async def test_embeddings_are_kept_as_bytes_and_dropped_by_an_edit(store: Store) -> None:
    from bot.store import VectorRow

    await store.upsert_posts([IncomingPost(WIRE, 1, T0, "Минск")])
    [pending] = await store.posts_to_embed("m")
    blob = bytes(range(256)) * 3
    assert await store.store_vectors("m", [VectorRow(pending.id, "Минск", 384, blob)]) == 1
    assert (await store.vectors_of([pending.id], "m"))[pending.id].blob == blob
    await store.upsert_posts([IncomingPost(WIRE, 1, T0, "Минск и Брест")])
    assert await store.vectors_of([pending.id], "m") == {}
    # A vector made from the old text is not stored for the new one.
    assert await store.store_vectors("m", [VectorRow(pending.id, "Минск", 384, blob)]) == 0


async def test_a_very_long_post_is_indexed_and_found(store: Store) -> None:
    # Past PostgreSQL's last word position (16383), and a word longer than it indexes.
    words = " ".join(f"w{n}" for n in range(17_000)) + " финал " + "ж" * 3000
    await store.upsert_posts([IncomingPost(WIRE, 1, T0, words)])
    assert len(words) < 131_072  # not cut by the stored-text cap
    assert len(await store.search(match_all_words("w16999 финал"))) == 1
    assert len(await store.search(match_all_words("w7 w8"))) == 1


async def test_chats_and_pages_behave_the_same(store: Store) -> None:
    await store.upsert_posts(
        [IncomingPost(WIRE, 1, T0, "Минск"), IncomingPost(WIRE, 2, T0, "Брест")]
    )
    ids = [p.id for p in await store.posts_in_window(T0, T0 + timedelta(hours=1))]
    assert await store.subscribe(-100, "belarus", "08:00", now=T0)
    await store.record_digest(-100, "belarus", "daily", T0, T0, "extractive", 2, ids, T0)
    await store.mark_deleted((await store.channels())[0].id, [2])
    changes = await store.cited_changes(-100)
    assert [(c.post_id, c.deleted) for c in changes] == [(ids[1], True)]
    await store.acknowledge_changes(-100, [ids[1]])
    assert await store.cited_changes(-100) == []
    await store.move_chat(-100, -200)
    assert await store.cited_post_ids(-200) == set(ids)
    assert [s.chat_id for s in await store.subscriptions()] == [-200]
    page = await store.add_digest_page(-200, "belarus", None, T0, T0, 5, 5, True, T0)
    assert (await store.take_digest_page(page, -200, T0)) is not None
    assert (await store.take_digest_page(page, -200, T0)) is None
    assert await store.prune_digest_pages(T0 + timedelta(days=1)) == 1


async def test_poll_results_and_cursors_behave_the_same(store: Store) -> None:
    source, _ = await store.add_source("kyiv_wire")
    await store.record_poll_success(source.id, None, 120, 5, T0, T0 + timedelta(minutes=5))
    await store.record_poll_success(source.id, None, 100, 0, T0, T0 + timedelta(minutes=5))
    await store.record_poll_success(
        source.id, None, None, 0, T0, T0, resume_before=90, pending_cursor=150
    )
    again = await store.get_source("kyiv_wire")
    assert again is not None
    assert (again.cursor, again.resume_before, again.pending_cursor) == (120, 90, 150)
    assert again.posts_stored == 5
    await store.record_poll_failure(source.id, "error", "t.me answered 502", T0, T0)
    failed = await store.get_source("kyiv_wire")
    assert failed is not None and failed.consecutive_failures == 1
    assert [s.username for s in await store.due_sources(T0)] == ["kyiv_wire"]


def test_the_index_tokens_are_fts5_tokens_for_unusual_characters() -> None:
    """Astral letters and emoji, NUL, combining marks, every kind of space and dash."""
    texts = [
        "𝐁𝐞𝐥𝐚𝐫𝐮𝐬 𝕄𝕚𝕟𝕤𝕜 🇺🇦🔥 слава",
        "a\x00b c\u0301d e\u200bf g\u00a0h i\u2009j k\u2014l m\u2011n",
        "Ǆemal ﬁnal Ⅻ ½ ² x²y ß ẞ İstanbul ı",
        "日本語のテキスト 中文 한국어 עברית العربية ไทย",
        "\u0301\u0301 only marks \u0489 here",
        "",
    ]
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, instance)")
    conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", list(enumerate(texts, start=1)))
    fts5: dict[int, list[tuple[int, str]]] = {}
    for doc, term, offset in conn.execute("SELECT doc, term, offset FROM v"):
        fts5.setdefault(doc, []).append((offset, term))
    for n, text in enumerate(texts, start=1):
        assert index_tokens(text) == [t for _, t in sorted(fts5.get(n, []))], text


async def test_the_text_index_follows_edits_in_a_batch_of_channels(store: Store) -> None:
    desk = ChannelRef(peer_id=1101170442, title="Desk")
    await store.upsert_posts(
        [IncomingPost(WIRE, n, T0, f"Брест {n}") for n in range(1, 4)]
        + [IncomingPost(desk, n, T0, f"Гродно {n}") for n in range(1, 4)]
    )
    await store.upsert_posts(
        [IncomingPost(WIRE, 2, T0, "Пинск 2"), IncomingPost(desk, 2, T0, "Пинск два")]
    )
    assert len(await store.search(match_all_words("брест"))) == 2
    assert len(await store.search(match_all_words("гродно"))) == 2
    assert len(await store.search(match_all_words("пинск"))) == 2
    assert len(await store.search(match_all_words("два"))) == 1
