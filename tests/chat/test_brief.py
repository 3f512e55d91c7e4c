"""`/belarus brief` end to end: the real Application against the fake Bot API, and with
TELEGRAPH=on the local Telegraph stand-in, over a real SQLite file."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.chat.messages import visible_length
from bot.logs import setup_logging
from bot.store import Store
from tests.chat.conftest import (
    GROUP,
    HREF_RE,
    Bot,
    Clock,
    many_channel_posts,
    running_bot,
    settings_for,
)
from tests.digest.model_helpers import stored_urls
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.telegraph import FakeTelegraph

PAGE_LINK_RE = re.compile(r'<a href="(https://telegra\.ph/[^"]+)">Read the brief</a>')


@pytest.fixture
async def telegraph() -> AsyncIterator[FakeTelegraph]:
    async with FakeTelegraph() as server:
        yield server
    assert server.errors == []


async def sent_after_settling(bot: Bot, count: int) -> list[str]:
    """The HTML the chat received once the bot stops editing its placeholder."""
    await bot.replies(count)
    await asyncio.sleep(0.5)
    return bot.sent_html()


async def test_belarus_brief_has_its_sections_and_links_only_stored_posts(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    """TELEGRAPH=off (the default): a brief longer than a message comes as messages."""
    async with running_bot(api, demo_store, settings_for(api, tmp_path), Clock()) as bot:
        bot.say("/belarus 3d brief")
        await bot.replies(2)
        await asyncio.sleep(0.3)
    texts, html = api.texts_to(GROUP), bot.sent_html()
    assert texts[0].startswith("Belarus brief · 08 Mar 2026 08:00 – 11 Mar 2026 08:00 (UTC)")
    shown = "\n".join(texts)
    for section in ("Confirmed by several channels", "Claimed by one channel", "Sources"):
        assert f"\n{section}\n" in shown, section
    assert "Прикордонний вісник (demo) reports:" not in shown.split("Claimed by one channel")[0]
    links = {url for message in html for url in HREF_RE.findall(message)}
    assert "https://t.me/demo_border_ua/4101" in links
    assert links <= await stored_urls(demo_store)
    assert len(texts) >= 2 and all(visible_length(m) <= 4096 for m in html)


async def test_digest_brief_is_the_brief_of_every_source(bot: Bot) -> None:
    bot.say("/digest brief")
    texts = await bot.replies(1)
    assert texts[0].startswith("All sources brief · ")
    assert "Confirmed by several channels" in texts[0]


async def test_a_short_brief_stays_in_the_chat_even_with_telegraph_on(
    api: FakeBotAPI, demo_store: Store, telegraph: FakeTelegraph, tmp_path: Path
) -> None:
    settings = settings_for(api, tmp_path, telegraph="on", telegraph_url=telegraph.origin)
    async with running_bot(api, demo_store, settings, Clock()) as bot:
        bot.say("/belarus 90m brief")
        texts = await bot.replies(1)
    assert len(texts) == 1 and texts[0].startswith("Belarus brief · 11 Mar 2026 06:30")
    assert texts[0].endswith(
        "\n\nSources\nПрикордонний вісник (demo): [1] 11 Mar 06:45\nKyiv Wire UA (demo): [2] "
        "11 Mar 07:00\n\n2 posts read; summary: extractive"
    )
    assert telegraph.calls == []


@asynccontextmanager
async def long_brief_bot(
    api: FakeBotAPI, store: Store, tmp_path: Path, telegraph: FakeTelegraph
) -> AsyncIterator[Bot]:
    await store.upsert_posts(many_channel_posts())
    settings = settings_for(api, tmp_path, telegraph="on", telegraph_url=telegraph.origin)
    async with running_bot(api, store, settings, Clock()) as bot:
        yield bot


async def test_a_long_brief_goes_to_a_telegraph_page_and_the_chat_gets_the_link(
    api: FakeBotAPI, store: Store, tmp_path: Path, telegraph: FakeTelegraph
) -> None:
    log = io.StringIO()
    handler = setup_logging("DEBUG", secrets=[api.token], stream=log)
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    try:
        async with long_brief_bot(api, store, tmp_path, telegraph) as bot:
            bot.say("/digest Мінськ 1d brief")
            html = await sent_after_settling(bot, 1)
    finally:
        logging.getLogger().removeHandler(handler)
    [page] = telegraph.pages
    final = html[-1]
    assert PAGE_LINK_RE.findall(final) == [f"https://telegra.ph/{page.path}"]
    assert len(api.texts_to(GROUP)) == 1 and visible_length(final) <= 4096
    text = api.texts_to(GROUP)[0]
    assert text.startswith("“Мінськ” brief · 10 Mar 2026 08:00 – 11 Mar 2026 08:00 (UTC)")
    # Each story's twelve posts are one channel's report and eleven copies of it.
    assert re.search(
        r"\n\nRead the brief: 5 stories claimed by one channel, \d+ source posts, each linked\.$",
        text,
    )
    # The page: the whole brief, in Telegraph's nodes, linking only stored posts.
    assert page.title.startswith("“Мінськ” brief, ") and len(page.title) <= 256
    body = page.text()
    for section in ("Claimed by one channel", "Sources"):
        assert f"\n{section}" in body
    stored = await stored_urls(store)
    assert page.hrefs() and set(page.hrefs()) <= stored
    assert {u for u in HREF_RE.findall(final) if "telegra.ph" not in u} <= stored
    # The account was made once and its token kept in the database, never in a log.
    with sqlite3.connect(store.db.path) as conn:
        (token,) = conn.execute("SELECT access_token FROM telegraph_account").fetchone()
    assert set(telegraph.accounts) == {token}
    output = log.getvalue()
    assert "brief published on Telegraph" in output
    assert token not in output


async def test_a_flood_wait_is_retried_and_the_page_still_made(
    api: FakeBotAPI, store: Store, tmp_path: Path, telegraph: FakeTelegraph
) -> None:
    telegraph.flood(1)
    async with long_brief_bot(api, store, tmp_path, telegraph) as bot:
        bot.say("/digest Мінськ 1d brief")
        html = await sent_after_settling(bot, 1)
    errors = [c.answer["error"] for c in telegraph.calls_of("createPage") if c.answer and not c.answer["ok"]]  # fmt: skip
    assert errors == ["FLOOD_WAIT_1"] and len(telegraph.pages) == 1
    assert PAGE_LINK_RE.search(html[-1])


@pytest.mark.parametrize("fault", ["down", "too big", "long flood"])
async def test_when_telegraph_fails_the_brief_comes_as_split_messages(
    api: FakeBotAPI, store: Store, tmp_path: Path, fault: str
) -> None:
    async with FakeTelegraph(content_limit=1000 if fault == "too big" else 64 * 1024) as telegraph:
        if fault == "down":
            telegraph.set_down(True)
        elif fault == "long flood":
            telegraph.flood(600)
        async with long_brief_bot(api, store, tmp_path, telegraph) as bot:
            bot.say("/digest Мінськ 1d brief")
            await bot.replies(2)
            await asyncio.sleep(0.5)
            html = bot.sent_html()
            texts = api.texts_to(GROUP)
    assert not telegraph.pages
    assert len(texts) >= 2 and texts[0].startswith("“Мінськ” brief · ")
    assert not any("telegra.ph" in message for message in html)
    for message in html:
        assert visible_length(message) <= 4096
        assert message.count("<a ") == message.count("</a>")
    shown = "\n".join(texts)
    assert "Claimed by one channel" in shown and "\nSources\n" in shown
    links = {url for message in html for url in HREF_RE.findall(message)}
    assert links <= await stored_urls(store)
