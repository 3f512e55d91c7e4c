"""The bot as team members meet it, end to end through the fake Bot API."""

from __future__ import annotations

import asyncio
import io
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.chat.command_table import COMMANDS
from bot.chat.messages import visible_length
from bot.digest.summary import ExtractiveSummariser, SummaryResult
from bot.digest.topics import Topic
from bot.digest.window import Window
from bot.logs import setup_logging
from bot.models import ChannelRef, IncomingPost, Story
from bot.store import Store
from tests.chat.conftest import (
    ADMIN,
    GROUP,
    HREF_RE,
    MEMBER,
    NOW,
    STRANGER_CHAT,
    Bot,
    Clock,
    many_channel_posts,
    running_bot,
    settings_for,
)
from tests.fakes.botapi import FakeBotAPI


def stored_urls(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    urls = {
        f"https://t.me/{u}/{m}" if u else f"https://t.me/c/{p}/{m}"
        for u, p, m in conn.execute(
            "SELECT c.username, c.peer_id, p.message_id FROM posts p JOIN channels c ON c.id = p.channel_id"
        )
    }
    conn.close()
    return urls


async def test_belarus_3d_in_an_allowed_group_gets_a_cited_digest(bot: Bot) -> None:
    bot.say("/belarus 3d")
    texts = await bot.replies(1)
    html_sent = bot.sent_html()
    assert texts[0].startswith("Belarus: 08 Mar 2026 08:00 – 11 Mar 2026 08:00 (UTC)")
    assert "6 channels (6 posts)" in texts[0]
    links = [url for text in html_sent for url in HREF_RE.findall(text)]
    assert links and set(links) <= stored_urls(bot.store.path)
    assert "https://t.me/demo_border_ua/4101" in links
    sent = bot.api.calls("sendMessage")[-1]
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["link_preview_options"] == {"is_disabled": True}
    assert bot.api.calls("sendChatAction")  # the chat saw the bot typing


async def test_a_long_digest_is_split_between_items(
    api: FakeBotAPI, store: Store, tmp_path: Path
) -> None:
    posts = many_channel_posts()
    await store.upsert_posts(posts)
    async with running_bot(api, store, settings_for(api, tmp_path), Clock()) as bot:
        bot.say("/digest Мінськ 1d")
        await bot.replies(2)
        await asyncio.sleep(0.3)
        messages = bot.sent_html()
    assert len(messages) >= 2
    for message in messages:
        assert visible_length(message) <= 4096 and len(message) <= 4096
        assert message.count("<a ") == message.count("</a>")
    # Every message after the first starts with a whole item.
    for message in messages[1:]:
        assert message.startswith("<b>") and message.split("</b>", 1)[0][3:].rstrip(".").isdigit()


async def test_a_strangers_chat_gets_one_line_with_its_id_and_nothing_else(bot: Bot) -> None:
    bot.say("/belarus", chat_id=STRANGER_CHAT)
    bot.say("/belarus 3d", chat_id=STRANGER_CHAT)
    texts = await bot.replies(1, chat_id=STRANGER_CHAT)
    await asyncio.sleep(0.5)
    texts = bot.api.texts_to(STRANGER_CHAT)
    assert texts == [
        f"This bot is private. This chat's id is {STRANGER_CHAT}: an admin can add it to ALLOWED_CHAT_IDS."
    ]
    assert not bot.api.texts_to(GROUP)


async def test_commands_for_other_bots_and_edited_commands_get_no_answer(bot: Bot) -> None:
    bot.say("/belarus@someotherbot")
    update = bot.say("/belarus 1d")  # answered
    edited = dict(update["message"], edit_date=int(NOW.timestamp()), text="/belarus 2d")
    bot.api.enqueue({"edited_message": edited})
    await bot.replies(1)
    await asyncio.sleep(0.5)
    assert len(bot.api.texts_to(GROUP)) == 1


async def test_admin_commands_check_the_user_not_only_the_chat(bot: Bot) -> None:
    bot.say("/addsource @noel_reports", user_id=MEMBER)
    texts = await bot.replies(1)
    assert texts[-1] == "Only admins can change sources."
    bot.say("/addsource https://t.me/s/noel_reports", user_id=ADMIN)
    texts = await bot.replies(2)
    assert texts[-1].startswith("Added @noel_reports")
    assert await bot.store.get_source("noel_reports") is not None
    bot.say("/removesource @noel_reports", user_id=ADMIN)
    texts = await bot.replies(3)
    assert texts[-1].startswith("Removed @noel_reports")


async def test_search_lists_matching_posts_newest_first(bot: Bot) -> None:
    bot.say("/search Кукурики 1d")
    texts = await bot.replies(1)
    assert texts[0].startswith("2 posts with “Кукурики”, newest first")
    # Russian and Ukrainian spellings both match; the newer post comes first.
    assert texts[0].index("Минский монитор") < texts[0].index("Прикордонний вісник")
    bot.say("/search Kukuryki")
    texts = await bot.replies(2)
    assert "Poland suspends freight" in texts[-1]


async def test_an_empty_window_says_what_was_last_seen(bot: Bot) -> None:
    bot.clock.advance(days=5)
    bot.say("/belarus 12h")
    texts = await bot.replies(1)
    assert (
        "Nothing reported on this topic in this window. The latest earlier post is from 11 Mar 2026 07:00 (Kyiv Wire UA (demo))"
        in texts[0]
    )


class SlowSummariser(ExtractiveSummariser):
    async def summarise(
        self, stories: Sequence[Story], topic: Topic, window: Window
    ) -> SummaryResult:
        await asyncio.sleep(2.2)
        return await super().summarise(stories, topic, window)


async def test_slow_work_shows_a_placeholder_that_becomes_the_digest(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    async with running_bot(
        api, demo_store, settings_for(api, tmp_path), Clock(), summariser=SlowSummariser()
    ) as bot:
        bot.say("/belarus")
        await api.wait_for("editMessageText", 1, timeout=15)
        placeholder = api.calls("sendMessage")[0]
        assert placeholder.params["text"] == "Reading the channels for Belarus…"
        texts = api.texts_to(GROUP)
        assert texts[0].startswith("Belarus: ")  # the placeholder was replaced
        assert len(texts) == 1


class BrokenSummariser(ExtractiveSummariser):
    async def summarise(
        self, stories: Sequence[Story], topic: Topic, window: Window
    ) -> SummaryResult:
        raise RuntimeError(f"database exploded with token {self.token}")

    token = ""


async def test_a_failure_is_logged_and_the_chat_gets_one_calm_line(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    broken = BrokenSummariser()
    broken.token = api.token
    log = io.StringIO()
    handler = setup_logging("DEBUG", secrets=[api.token], stream=log)
    try:
        async with running_bot(
            api, demo_store, settings_for(api, tmp_path), Clock(), summariser=broken
        ) as bot:
            bot.say("/belarus")
            texts = await bot.replies(1)
    finally:
        logging.getLogger().removeHandler(handler)
    assert texts == ["Sorry, that did not work. The error is logged; please try again in a minute."]
    output = log.getvalue()
    assert "RuntimeError" in output and "database exploded" in output
    assert api.token not in output and api.token.split(":")[1] not in output


async def test_the_token_never_appears_in_debug_logs(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    log = io.StringIO()
    handler = setup_logging("DEBUG", secrets=[api.token], stream=log)
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # even if someone turns it up
    try:
        async with running_bot(api, demo_store, settings_for(api, tmp_path), Clock()) as bot:
            bot.say("/belarus")
            await bot.replies(1)
    finally:
        logging.getLogger().removeHandler(handler)
    output = log.getvalue()
    assert "getUpdates" in output or "sendMessage" in output or "Bot" in output
    assert api.token not in output and api.token.split(":")[1] not in output


async def test_telegram_429_is_waited_out_not_lost(bot: Bot) -> None:
    bot.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    bot.say("/belarus")
    texts = await bot.replies(2)  # the refused attempt and the retry
    assert texts and texts[0].startswith("Belarus: ")
    assert [r.status for r in bot.api.calls("sendMessage")][:2] == [429, 200]


async def test_the_command_menu_lists_every_topic(bot: Bot) -> None:
    await bot.api.wait_for("setMyCommands", 1)
    commands = bot.api.calls("setMyCommands")[-1].params["commands"]
    names = [c["command"] for c in commands]
    assert names[:3] == ["belarus", "border", "airstrikes"]
    assert {"digest", "search", "status", "subscribe"} <= set(names)


async def test_every_command_of_the_table_is_answered_listed_and_explained(bot: Bot) -> None:
    """One table drives registration, the menu and /help: each row is all three."""
    await bot.api.wait_for("setMyCommands", 1)
    menu = [c["command"] for c in bot.api.calls("setMyCommands")[-1].params["commands"]]
    topics = [name for name in menu if name not in {c.name for c in COMMANDS}]
    assert menu == topics + [c.name for c in COMMANDS if c.menu is not None]
    for command in COMMANDS:
        before = len(bot.api.texts_to(GROUP))
        bot.say(f"/{command.name}", user_id=ADMIN)
        await bot.replies(before + 1)  # each one answers
    help_text = next(t for t in bot.api.texts_to(GROUP) if "reads the team's" in t)
    for command in COMMANDS:
        if command.help is not None:
            assert f"/{command.name}" in help_text, command.name
    assert "/belarus 3d brief" in help_text and "/addsource @channel" in help_text


async def test_status_and_sources(bot: Bot) -> None:
    await bot.store.add_source("noel_reports")
    bot.say("/status")
    texts = await bot.replies(1)
    assert "Posts stored: 34" in texts[0] and "Summariser: extractive" in texts[0]
    assert "Sources healthy: 0 of 1" in texts[0]
    bot.say("/sources")
    texts = await bot.replies(2)
    assert "@noel_reports: new; 0 posts; last success never" in texts[-1]


async def test_channel_posts_of_a_source_are_stored_and_strangers_ignored(bot: Bot) -> None:
    await bot.store.add_source("noel_reports")
    bot.api.channel_post(
        -1003333333333,
        "Lukashenko met border guards in Brest",
        username="noel_reports",
        title="Noel",
        message_id=77,
    )
    bot.api.channel_post(
        -1004444444444,
        "Buy crypto now, Minsk!",
        username="spam_channel",
        title="Spam",
        message_id=5,
    )
    bot.api.channel_post(
        -1003333333333,
        "Lukashenko met border guards in Brest and Grodno",
        username="noel_reports",
        title="Noel",
        message_id=77,
        edited=True,
    )
    await bot.api.wait_for("getUpdates", 4)
    await asyncio.sleep(0.5)
    post = await bot.store.get_post((await bot.store.find_channel("noel_reports")).id, 77)  # type: ignore[union-attr]
    assert post is not None and post.text.endswith("Brest and Grodno") and post.edited
    assert await bot.store.find_channel("spam_channel") is None
    source = await bot.store.get_source("noel_reports")
    assert source is not None and source.channel_id is not None


async def test_corrections_open_the_next_digest(bot: Bot) -> None:
    bot.say("/belarus")
    await bot.replies(1)
    # One of the cited posts is edited in substance: the figure changes.
    channel = await bot.store.find_channel("demo_front_news")
    assert channel is not None
    post = await bot.store.get_post(channel.id, 55140)
    assert post is not None
    await bot.store.upsert_posts([
        IncomingPost(ChannelRef(username="demo_front_news"), 55140, post.date,
                     post.text.replace("12 нових", "3 нові"))
    ])  # fmt: skip
    bot.say("/belarus")
    texts = await bot.replies(2)
    assert texts[-1].startswith("Corrections to earlier digests")
    assert (
        "was edited; it now says: “За нашими даними, на білоруській ділянці кордону з'явилося 3 нові"
        in texts[-1]
    )
    bot.say("/belarus")  # told once, not again
    texts = await bot.replies(3)
    assert not texts[-1].startswith("Corrections")


def _any(*_: Any) -> None:
    return None


async def test_a_cited_post_found_deleted_is_corrected_once(bot: Bot) -> None:
    bot.say("/belarus")
    await bot.replies(1)
    channel = await bot.store.find_channel("demo_moscow_feed")
    assert channel is not None
    assert await bot.store.mark_deleted(channel.id, [77440]) == 1
    bot.say("/belarus")
    texts = await bot.replies(2)
    assert texts[-1].startswith("Corrections to earlier digests\n• Московская лента (demo)")
    assert "has been deleted by its channel." in texts[-1].split("\n\n")[0]
    assert "логистический центр" not in texts[-1]  # the deleted post is not cited again
