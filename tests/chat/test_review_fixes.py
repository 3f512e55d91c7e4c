"""Regressions found in review: daily digests that repeat or reach revoked chats, late
posts, restarts that undo a chat's choice, removed sources, long arguments echoed back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.models import ChannelRef, IncomingPost
from bot.store import Store
from tests.chat.conftest import GROUP, NOW, Clock, digests_to, running_bot, settings_for
from tests.fakes.botapi import BotAPIError, FakeBotAPI

TICKS = 0.6


async def test_a_daily_digest_whose_second_message_fails_is_not_sent_again(
    api: FakeBotAPI, store: Store, tmp_path: Path
) -> None:
    posts = [
        IncomingPost(ChannelRef(username=f"chan_{c:02d}"), 100 * s + c, NOW - timedelta(hours=2, minutes=s),
                     f"Мінськ: подія {s} код{s}x{s} " + "деталі " * 40)
        for s in range(12) for c in range(10)
    ]  # fmt: skip
    await store.upsert_posts(posts)
    original = api._handlers["sendmessage"][1]

    def refuse_continuations(params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if text.startswith("<b>") and not text.startswith("<b>Belarus"):
            raise BotAPIError(400, "Bad Request: something odd")
        return original(params)

    api.on("sendMessage", refuse_continuations)
    clock = Clock(NOW.replace(hour=7))
    async with running_bot(api, store, settings_for(api, tmp_path), clock) as bot:
        bot.say("/subscribe belarus 08:00")
        await bot.replies(1)
        clock.now = NOW
        await api.wait_for("sendMessage", 3, timeout=10)  # message 1 arrives, message 2 fails
        await asyncio.sleep(TICKS * 2)  # many ticks later…
        [sub] = await store.subscriptions(GROUP)
    assert len(digests_to(api)) == 1  # …it was not composed and sent again
    assert sub.last_sent_at == NOW


async def test_a_network_failure_is_retried_later_not_every_tick(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    clock = Clock(NOW.replace(hour=7))
    async with running_bot(api, demo_store, settings_for(api, tmp_path), clock) as bot:
        bot.say("/subscribe belarus 08:00")
        await bot.replies(1)
        api.set_down(True)
        clock.now = NOW
        for _ in range(100):  # until the tick has tried and failed
            if bot.svc.daily_failures:
                break
            await asyncio.sleep(0.05)
        api.set_down(False)
        await asyncio.sleep(TICKS)  # several more ticks, with the API back
        [(failures, _)] = bot.svc.daily_failures.values()
        assert failures == 1  # held back for a minute, not retried every tick
        assert digests_to(api) == []


async def test_a_chat_taken_off_the_allowed_list_gets_no_daily_digest(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    await demo_store.subscribe(GROUP, "belarus", "08:00", now=NOW.replace(hour=6))
    settings = settings_for(api, tmp_path, allowed_chat_ids=[-1009999999999])
    async with running_bot(api, demo_store, settings, Clock(NOW)):
        await asyncio.sleep(TICKS)
    assert digests_to(api) == []


async def test_a_post_fetched_after_the_digest_it_belonged_to_comes_next_time(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    clock = Clock(NOW.replace(hour=7))
    async with running_bot(api, demo_store, settings_for(api, tmp_path), clock) as bot:
        bot.say("/subscribe belarus 08:00")
        await bot.replies(1)
        clock.now = NOW
        await api.wait_for("sendMessage", 2, timeout=10)
        # Dated 07:58, stored at 08:03: after the 08:00 digest.
        await demo_store.upsert_posts([
            IncomingPost(ChannelRef(username="late_channel"), 5, NOW - timedelta(minutes=2),
                         "Лукашенко підписав указ про мобілізаційну готовність прикордонних районів."),
        ])  # fmt: skip
        clock.now = NOW + timedelta(days=1)
        await api.wait_for("sendMessage", 3, timeout=10)
    assert "указ про мобілізаційну готовність" in digests_to(api)[-1]


async def test_a_restart_keeps_what_a_chat_chose_over_the_configured_digest(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    settings = settings_for(api, tmp_path, digest_chat_ids=[GROUP], digest_time="08:00")
    async with running_bot(api, demo_store, settings, Clock(NOW.replace(hour=6))) as bot:
        bot.say("/subscribe belarus 18:30")
        bot.say("/unsubscribe border")
        await bot.replies(2)
    async with running_bot(api, demo_store, settings, Clock(NOW.replace(hour=6))):
        subs = await demo_store.subscriptions(GROUP)
    assert [(s.topic, s.time_of_day) for s in subs] == [("belarus", "18:30")]
    async with running_bot(api, demo_store, settings, Clock(NOW.replace(hour=6))) as bot:
        bot.say("/unsubscribe belarus")
        await bot.replies(3)
    async with running_bot(api, demo_store, settings, Clock(NOW.replace(hour=6))):
        assert await demo_store.subscriptions(GROUP) == []  # off stays off


async def test_a_removed_source_cannot_write_through_channel_posts(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    await demo_store.add_source("noel_reports")
    await demo_store.remove_source("noel_reports")
    before = await demo_store.count_posts()
    async with running_bot(api, demo_store, settings_for(api, tmp_path), Clock()):
        api.channel_post(-1003333333333, "Minsk news", username="noel_reports", title="Noel")
        await api.wait_for("getUpdates", 3)
        await asyncio.sleep(0.3)
    assert await demo_store.count_posts() == before


async def test_long_arguments_are_not_echoed_back_whole(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    async with running_bot(api, demo_store, settings_for(api, tmp_path), Clock()) as bot:
        bot.say("/subscribe " + "x" * 4080)
        bot.say("/addsource " + "y" * 4080, user_id=501)
        texts = await bot.replies(2)
    assert all(len(t) < 400 for t in texts)
    assert texts[0].startswith("No topic 'xxxx") and texts[1].startswith("'yyyy")
