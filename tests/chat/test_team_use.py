"""The bot as a team uses it (issue 13): every story reachable through "More", the digest of
everything, requests queued rather than dropped, clear usage lines, plain search results,
honest /sources and /status, and no trap after downtime."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from bot.digest.summary import ExtractiveSummariser, SummaryResult
from bot.digest.topics import Topic
from bot.digest.window import Window
from bot.models import ChannelRef, IncomingPost, Story
from bot.store import Store
from tests.chat.conftest import (
    GROUP,
    HREF_RE,
    MEMBER,
    NOW,
    STRANGER_CHAT,
    Bot,
    Clock,
    digests_to,
    running_bot,
    settings_for,
)
from tests.fakes.botapi import FakeBotAPI

STORIES = 25
ITEM_RE = re.compile(r"^(\d+)\. ", re.MULTILINE)


def many_stories(count: int = STORIES) -> list[IncomingPost]:
    """`count` unrelated reports about Minsk, one channel each, newest last."""
    return [
        IncomingPost(
            ChannelRef(username=f"minsk_src_{s:02d}"), 100 + s, NOW - timedelta(hours=2, minutes=count - s),
            f"Мінськ {s * 7}: " + " ".join(f"подія{s}слово{k}" for k in range(10)),
        )
        for s in range(count)
    ]  # fmt: skip


def numbers(texts: Sequence[str]) -> list[int]:
    return [int(n) for text in texts for n in ITEM_RE.findall(text)]


def buttons(api: FakeBotAPI, chat_id: int = GROUP) -> list[tuple[int, str, str]]:
    """(message id, label, callback data) of every button now under a bot message."""
    return [
        (m["message_id"], b["text"], b["callback_data"])
        for m in api.messages_to(chat_id)
        for row in m.get("reply_markup", {}).get("inline_keyboard", [])
        for b in row
    ]


async def press(bot: Bot, message_id: int, data: str, chat_id: int = GROUP) -> str:
    """Press a button; returns the callback query's id, once the bot has answered it."""
    query_id = str(
        bot.api.callback_query(chat_id, message_id, data, user_id=MEMBER)["callback_query"]["id"]
    )
    await bot.api.wait_for(
        "answerCallbackQuery", 1, timeout=15,
        predicate=lambda r: r.params.get("callback_query_id") == query_id,
    )  # fmt: skip
    return query_id


async def settled(bot: Bot, chat_id: int = GROUP) -> list[str]:
    """The chat's texts once the bot has been quiet for a moment."""
    await asyncio.sleep(0.4)
    return bot.api.texts_to(chat_id)


# ----- More --------------------------------------------------------------------------


async def test_more_shows_every_story_page_by_page_also_after_a_restart(
    api: FakeBotAPI, store: Store, tmp_path: Path
) -> None:
    await store.upsert_posts(many_stories())
    settings = settings_for(api, tmp_path)
    async with running_bot(api, store, settings, Clock()) as bot:
        bot.say("/digest Мінськ 1d")
        first = (await bot.replies(1))[0]
        assert numbers([first]) == list(range(1, 11))
        assert "15 more stories not shown" in first
        [(message_id, label, data)] = buttons(api)
        assert label == "More: next 10 of 15" and data.startswith("more:")
        await press(bot, message_id, data)
        await bot.replies(2)
        texts = await settled(bot)
        page2 = texts[-1]
        assert numbers([page2]) == list(range(11, 21))
        assert "stories 11–20 of 25" in page2 and "5 more stories not shown" in page2
        # The spent button is gone; the new page has the next one.
        [(next_id, label, next_data)] = buttons(api)
        assert next_id != message_id and label == "More: next 5 of 5"
    # A new process: the button still works.
    async with running_bot(api, store, settings, Clock()) as bot:
        await press(bot, next_id, next_data)
        await bot.replies(3)
        texts = await settled(bot)
        assert numbers([texts[-1]]) == list(range(21, 26))
        assert buttons(api) == []  # nothing is left
        links = [
            u for r in api.calls("sendMessage") for u in HREF_RE.findall(str(r.params["text"]))
        ]
        assert len(set(links)) == STORIES  # every story reached, each once
        # The first button, pressed again (a stale copy of the message): it says so.
        query_id = await press(bot, message_id, data)
        answer = [
            r for r in api.calls("answerCallbackQuery") if r.params["callback_query_id"] == query_id
        ]
        assert answer[0].params["text"] == "This button has expired: ask for the digest again."
        assert len(await settled(bot)) == 3  # and nothing was sent


async def test_all_gives_every_story_at_once_and_bad_spans_get_the_usage_line(
    api: FakeBotAPI, store: Store, tmp_path: Path
) -> None:
    await store.upsert_posts(many_stories())
    async with running_bot(api, store, settings_for(api, tmp_path), Clock()) as bot:
        bot.say("/digest Мінськ 1d all")
        await bot.replies(1)
        texts = await settled(bot)
        assert numbers(texts) == list(range(1, STORIES + 1))
        assert buttons(api) == [] and "more stories" not in "".join(texts)
        before = len(texts)
        for wrong in ("/belarus 3x", "/belarus -5h", "/belarus 3d 2d", "/digest Belarus 99999d"):
            bot.say(wrong)
        await bot.replies(before + 4)
        replies = (await settled(bot))[before:]
    assert (
        replies[0]
        == "'3x' is not a span: use e.g. 12h, 3d or 1w\nUsage: /belarus [12h|3d|1w] [all] [brief], "
        "e.g. /belarus 3d or /belarus 3d brief"
    )
    assert replies[1].startswith("'-5h': a span must be longer than zero\nUsage: /belarus ")
    assert replies[2].startswith("'3d' is not a span") and "Usage: /belarus" in replies[2]
    assert replies[3].startswith("'99999d': a span can be at most a year (366d)\nUsage: /digest")


async def test_a_strangers_button_press_gets_nothing(
    api: FakeBotAPI, store: Store, tmp_path: Path
) -> None:
    await store.upsert_posts(many_stories())
    async with running_bot(api, store, settings_for(api, tmp_path), Clock()) as bot:
        bot.say("/digest Мінськ 1d")
        await bot.replies(1)
        [(message_id, _, data)] = buttons(api)
        # A stranger's chat with the same button data (as if copied): the gate answers the
        # query at most, and sends nothing.
        stranger = bot.api.callback_query(STRANGER_CHAT, 1, data)["callback_query"]["id"]
        await api.wait_for("answerCallbackQuery", 1, timeout=15)
        # The second lock: with the gate taken out, the handler's own chat filter holds.
        bot.app.handlers.pop(-1)
        unguarded = bot.api.callback_query(STRANGER_CHAT, 1, data)["callback_query"]["id"]
        await press(bot, message_id, data)  # positive control: the team's press works
        await bot.replies(2)
        await settled(bot)
    answered = {r.params["callback_query_id"]: r.params for r in api.calls("answerCallbackQuery")}
    assert answered[stranger].get("text") is None
    assert unguarded not in answered
    assert api.texts_to(STRANGER_CHAT) == []
    assert not [r for r in api.calls("sendMessage") if r.params["chat_id"] == STRANGER_CHAT]


async def test_a_button_of_a_forgotten_page_says_it_expired(
    api: FakeBotAPI, store: Store, tmp_path: Path
) -> None:
    await store.upsert_posts(many_stories())
    clock = Clock()
    async with running_bot(api, store, settings_for(api, tmp_path), clock) as bot:
        bot.say("/digest Мінськ 1d")
        await bot.replies(1)
        [(message_id, _, data)] = buttons(api)
        clock.advance(days=8)  # older than a week
        await press(bot, message_id, data)
        texts = await settled(bot)
    answer = api.calls("answerCallbackQuery")[-1].params
    assert answer["text"] == "This button has expired: ask for the digest again."
    assert len(texts) == 1 and buttons(api) == []


# ----- the digest of everything --------------------------------------------------------


async def test_digest_alone_is_every_source_and_can_be_daily(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    clock = Clock(NOW.replace(hour=7))
    async with running_bot(api, demo_store, settings_for(api, tmp_path), clock) as bot:
        bot.say("/digest")
        everything = (await bot.replies(1))[0]
        assert everything.startswith("All sources: 10 Mar 2026 07:00 – 11 Mar 2026 07:00 (UTC)")
        # Ranked by how many channels report a story; other topics than Belarus are in.
        assert everything.split("\n1. ", 1)[1].split("\n")[1].startswith("6 channels")
        assert "ППО" in everything  # Kyiv's air defence: no topic of its own
        bot.say("/subscribe digest 08:00")
        assert (await bot.replies(2))[-1] == "Subscribed: All sources every day at 08:00 (UTC)."
        bot.say("/subscriptions")
        assert (await bot.replies(3))[
            -1
        ] == "Daily digests here\nAll sources at 08:00 (last sent: not yet)"
        clock.now = NOW.replace(hour=8, second=5)
        await api.wait_for("sendMessage", 4, timeout=15)
    daily = digests_to(api, title="All sources")
    assert len(daily) == 2 and daily[1].startswith("All sources: ")


async def test_a_daily_digest_with_nothing_new_says_so(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    clock = Clock(NOW.replace(hour=7, minute=30))
    async with running_bot(api, demo_store, settings_for(api, tmp_path), clock) as bot:
        bot.say("/subscribe belarus 08:00")
        bot.say("/belarus")
        await bot.replies(2)
        clock.now = NOW  # 08:00: every story of the window has been received at 07:30
        await api.wait_for("sendMessage", 3, timeout=15)
    daily = digests_to(api)[-1]
    assert "new stories (" in daily.split("\n")[1] and "already received)" in daily.split("\n")[1]
    assert "Nothing new since the last digest (" in daily
    assert "posts, all in stories you already received)." in daily
    assert "Nothing reported on this topic" not in daily


# ----- a busy chat ---------------------------------------------------------------------


class GatedSummariser(ExtractiveSummariser):
    """Holds every digest until the test opens the gate: no timing in the test."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def summarise(
        self, stories: Sequence[Story], topic: Topic, window: Window
    ) -> SummaryResult:
        await self.gate.wait()
        return await super().summarise(stories, topic, window)


async def test_requests_within_the_cooldown_are_answered_in_turn_a_few_per_chat(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    summariser = GatedSummariser()
    settings = settings_for(api, tmp_path, chat_cooldown_seconds=0.5)
    async with running_bot(api, demo_store, settings, Clock(), summariser=summariser) as bot:
        for span in ("1d", "2d", "3d", "4d", "5d"):
            bot.say(f"/belarus {span}")
        # The first is being made; three wait their turn; the fifth is one too many.
        await bot.replies(4)
        waiting = bot.api.texts_to(GROUP)
        assert waiting.count("Next in line: Belarus…") == 3
        assert (
            "3 digests are already waiting in this chat: ask again once they are here." in waiting
        )
        summariser.gate.set()
        await api.wait_for("editMessageText", 3, timeout=30)
        texts = await settled(bot)
    assert len(digests_to(api)) == 4 and "Next in line: Belarus…" not in texts
    delivered = [
        str(r.params["text"]).split(" – ")[0]
        for r in api.requests
        if r.ok and r.method in ("sendMessage", "editMessageText")
        and str(r.params["text"]).startswith("<b>Belarus: ")
    ]  # fmt: skip
    assert delivered == [
        f"<b>Belarus: {day} Mar 2026 08:00" for day in ("10", "09", "08", "07")
    ]  # in the order asked
    assert not any("try again" in t for t in texts)


# ----- search, topics, sources, status ----------------------------------------------------


async def test_search_shows_plain_text_and_names_the_latest_earlier_match(
    api: FakeBotAPI, store: Store, tmp_path: Path
) -> None:
    await store.upsert_posts([
        IncomingPost(ChannelRef(username="geo_news"), 1, NOW - timedelta(hours=3),
                     "**~~Протесты~~** в Грузии продолжаются. [👉 Подписаться](https://t.me/geo_news)"),
        IncomingPost(ChannelRef(username="geo_news"), 2, NOW - timedelta(days=4),
                     "Грузия: оппозиция объявила марш <b>в Тбилиси</b>"),
    ])  # fmt: skip
    async with running_bot(api, store, settings_for(api, tmp_path), Clock()) as bot:
        bot.say("/search Грузия")
        bot.say("/search оппозиция 1d")
        texts = await bot.replies(2)
    found, earlier = sorted(texts, key=lambda t: "No post" in t)
    assert found.startswith("1 post with “Грузия”, newest first")
    assert "Протесты в Грузии продолжаются. Подписаться" in found
    assert "**" not in found and "~~" not in found and "](" not in found
    assert earlier.startswith(
        "No post in the last 1 day mentions “оппозиция”. The latest earlier one:"
    )
    assert "Грузия: оппозиция объявила марш <b>в Тбилиси</b" in earlier  # text, not markup
    assert any(
        'href="https://t.me/geo_news/2"' in str(r.params["text"]) for r in api.calls("sendMessage")
    )


async def test_topics_sources_and_status_tell_the_whole_story(bot: Bot) -> None:
    source, _ = await bot.store.add_source("noel_reports")
    await bot.store.record_poll_failure(
        source.id, "error", "HTTP 502 from t.me", NOW - timedelta(minutes=3), NOW
    )
    bot.say("/topics")
    bot.say("/sources")
    bot.say("/status")
    texts = await bot.replies(3)
    topics = next(t for t in texts if t.startswith("/belarus"))
    sources = next(t for t in texts if t.startswith("Polled sources"))
    status = next(t for t in texts if t.startswith("Status"))
    # /topics: a cut list of terms says so.
    belarus_terms = topics.split("\n")[1]
    assert re.search(r"… and \d+ more$", belarus_terms), belarus_terms
    # /sources: the polled one, and every stored channel with its posts and dates.
    assert "@noel_reports: error; 0 posts" in sources
    assert "Stored channels (7)" in sources
    assert (
        "Kyiv Wire UA (demo) (@demo_kyiv_wire): 8 posts, 10 Mar 2026 – 11 Mar 2026; import"
        in sources
    )
    # /status: the last poll failed, and it says so.
    assert (
        "Last poll: 11 Mar 07:57, FAILED for 1 of 1 sources (@noel_reports: HTTP 502 from t.me)"
        in status
    )


# ----- unknown and old commands ----------------------------------------------------------


async def test_unknown_commands_in_a_private_chat_get_a_pointer_to_help(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    me = 777
    settings = settings_for(api, tmp_path, allowed_chat_ids=[GROUP, me])
    async with running_bot(api, demo_store, settings, Clock()) as bot:
        bot.say("/belaruss 3d", chat_id=me, user_id=me)
        bot.say("/frobnicate", chat_id=GROUP)  # a group: maybe another bot's command
        bot.say("/status", chat_id=me, user_id=me)  # positive control: known commands work
        await bot.replies(2, chat_id=me)
        await settled(bot)
    assert api.texts_to(me)[0] == "I don't know /belaruss. /help lists what I can do."
    assert api.texts_to(me)[1].startswith("Status")
    assert api.texts_to(GROUP) == []


async def test_commands_from_a_backlog_get_one_line_and_fresh_ones_are_answered(bot: Bot) -> None:
    old = int((NOW - timedelta(hours=2)).timestamp())
    bot.say("/belarus@someotherbot", date=old)  # another bot's: no word from us
    ours = [bot.say(command, date=old)["message"]["message_id"]
            for command in ("/belarus", "/belarus 3d", "/status")]  # fmt: skip
    bot.say("/belarus", date=int(NOW.timestamp()))
    await bot.replies(2)
    texts = await settled(bot)
    assert (
        texts.count(
            "This request is from 11 Mar 06:00, while the bot was offline, and was not answered. "
            "Ask again if you still want it."
        )
        == 1
    )
    assert len(digests_to(bot.api)) == 1 and len(texts) == 2
    told = next(r for r in bot.api.calls("sendMessage") if "offline" in str(r.params["text"]))
    assert told.params["reply_parameters"]["message_id"] == ours[0]
