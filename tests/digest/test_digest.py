"""Digests: ranked, cited items whose every link is a stored post inside the window."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.demo import demo_posts
from bot.digest.pipeline import build_digest
from bot.digest.render import render_html, render_json, render_markdown, render_text
from bot.digest.topics import Topic, load_topics
from bot.digest.window import Window
from bot.models import ChannelRef, IncomingPost
from bot.store import Store

SINCE = datetime(2024, 11, 26, tzinfo=UTC)
UNTIL = datetime(2024, 12, 5, tzinfo=UTC)
NOW = datetime(2024, 12, 5, 9, 0, tzinfo=UTC)


async def corpus_digest(store: Store, limit: int = 50) -> dict:  # type: ignore[type-arg]
    topic = load_topics()["belarus"]
    digest = await build_digest(store, topic, Window(SINCE, UNTIL), NOW, limit=limit)
    return json.loads(render_json(digest))


async def test_corpus_digest_has_the_documented_json_shape(corpus_store: Store) -> None:
    data = await corpus_digest(corpus_store)
    assert {
        "topic",
        "since",
        "until",
        "generated_at",
        "summariser",
        "posts_considered",
        "items",
    } <= set(data)
    assert data["topic"] == "belarus" and data["summariser"] == "extractive"
    assert data["since"] == "2024-11-26T00:00:00Z" and data["until"] == "2024-12-05T00:00:00Z"
    assert data["posts_considered"] >= 30
    item = data["items"][0]
    assert {"text", "citations", "verified"} <= set(item)
    assert {"channel", "message_id", "url", "date"} <= set(item["citations"][0])


async def test_every_citation_is_a_stored_post_inside_the_window(
    corpus_store: Store, corpus_db: Path
) -> None:
    data = await corpus_digest(corpus_store)
    conn = sqlite3.connect(corpus_db)
    stored = {}
    for peer_id, _username, message_id, date in conn.execute(
        "SELECT c.peer_id, c.username, p.message_id, p.date FROM posts p "
        "JOIN channels c ON c.id = p.channel_id"
    ):
        stored[f"https://t.me/c/{peer_id}/{message_id}"] = date
    cited = [c for item in data["items"] for c in item["citations"]]
    assert cited
    for citation in cited:
        assert citation["url"] in stored, citation
        assert SINCE.timestamp() <= stored[citation["url"]] < UNTIL.timestamp()
    # Every post considered is cited exactly once when nothing is cut by --limit.
    assert len({c["url"] for c in cited}) == len(cited)


async def test_reposts_of_one_event_are_one_item_ranked_by_channels(corpus_store: Store) -> None:
    data = await corpus_digest(corpus_store)
    drills = [i for i in data["items"] if any(c["message_id"] == 271638 for c in i["citations"])]
    assert len(drills) == 1
    assert {c["message_id"] for c in drills[0]["citations"]} == {271638, 195302}
    assert drills[0]["channels"] == 2
    channel_counts = [i["channels"] for i in data["items"]]
    assert channel_counts == sorted(channel_counts, reverse=True)
    assert drills[0]["text"].startswith("Учения ОДКБ в 2025 году пройдут в Белоруссии")


async def demo_store(store: Store, now: datetime) -> None:
    await store.upsert_posts(demo_posts(now))


async def test_demo_digest_reports_confirmation_and_provenance(store: Store) -> None:
    now = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    await demo_store(store, now)
    digest = await build_digest(
        store, load_topics()["belarus"], Window(now - timedelta(hours=24), now), now
    )
    top = digest.items[0]
    assert top.channel_count == 6 and "300" in top.text
    assert digest.items[-1].channel_count == 1  # single-source claims come last
    text = render_text(digest)
    assert "6 channels (6 posts)" in text and "single source" in text
    assert "https://t.me/demo_border_ua/4101" in text
    assert text.rstrip().splitlines()[-1].startswith("Sources: ")
    # Nothing about the Kyiv air raid: it does not match the topic.
    assert "Повітряна тривога" not in text


async def test_an_empty_window_says_so(store: Store) -> None:
    now = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    await demo_store(store, now)
    digest = await build_digest(
        store,
        load_topics()["belarus"],
        Window(now - timedelta(days=30), now - timedelta(days=20)),
        now,
    )
    assert digest.items == [] and digest.posts_considered == 0
    assert "Nothing reported" in render_text(digest)


async def test_hostile_post_text_is_escaped_in_html_and_markdown(store: Store) -> None:
    now = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    evil = 'Минск: <a href="https://evil.example">click</a> & <b>bold</b> [x](https://evil.example)'
    await store.upsert_posts([IncomingPost(ChannelRef(username="noel_reports"), 5, now, evil)])
    digest = await build_digest(
        store,
        Topic.adhoc("Минск"),
        Window(now - timedelta(hours=1), now + timedelta(minutes=1)),
        now,
    )
    html_out = render_html(digest)
    assert '<a href="https://evil.example">' not in html_out
    assert "&lt;b&gt;bold&lt;/b&gt;" in html_out and "&amp;" in html_out
    assert "<b>bold</b>" not in html_out
    assert '<a href="https://t.me/noel_reports/5">' in html_out
    md = render_markdown(digest)
    assert "](https://evil.example)" not in md


def test_post_text_cannot_become_a_link_in_an_extractive_item() -> None:
    from bot.digest.text import clean_text

    text = "Минск: читайте Evil-News.COM/pay и президент.рф, пишите @evil_channel. Путин подписал закон."
    cleaned = clean_text(text)
    assert "Evil-News[.]COM/pay" in cleaned and "президент[.]рф" in cleaned
    assert "@" not in cleaned and "evil_channel" in cleaned
    assert cleaned.endswith("Путин подписал закон.")  # "signed" is news, not a footer
