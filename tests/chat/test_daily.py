"""Daily digests fire at their time (the clock is driven, not slept through), survive a
restart, and leave out what the chat has already received; one that half failed is not
sent again, an outage is retried later, a revoked chat gets nothing, a late post comes
next time, and a restart keeps what a chat chose."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.chat.state import DailyRetries
from bot.models import ChannelRef, IncomingPost
from bot.store import Store
from tests.chat.conftest import GROUP, NOW, Clock, digests_to, running_bot, settings_for
from tests.fakes.botapi import BotAPIError, FakeBotAPI

TICKS = 0.6  # several ticks of the 0.1 s test scheduler


async def test_a_subscription_fires_at_its_time_and_survives_a_restart(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    settings = settings_for(api, tmp_path)
    clock = Clock(NOW.replace(hour=6, minute=30))
    async with running_bot(api, demo_store, settings, clock) as bot:
        bot.say("/subscribe belarus 08:00")
        texts = await bot.replies(1)
        assert texts[-1] == "Subscribed: Belarus every day at 08:00 (UTC)."
        clock.now = NOW.replace(hour=7, minute=59)
        await asyncio.sleep(TICKS)
        assert digests_to(api) == []
        clock.now = NOW.replace(hour=8, minute=0, second=5)
        await api.wait_for("sendMessage", 2, timeout=10)
        daily = digests_to(api)
        assert len(daily) == 1 and "6 channels (6 posts)" in daily[0]
    # A new process at 08:05 does not send it again…
    clock.now = NOW.replace(hour=8, minute=5)
    async with running_bot(api, demo_store, settings, clock):
        await asyncio.sleep(TICKS)
        assert len(digests_to(api)) == 1
        # …and sends the next one the next morning, covering the day since.
        await demo_store.upsert_posts([
            IncomingPost(ChannelRef(username="demo_en_desk"), 1400, NOW + timedelta(hours=20),
                         "Lukashenko visits the Brest border post and praises the border guards."),
        ])  # fmt: skip
        clock.now = NOW + timedelta(days=1, seconds=1)
        await api.wait_for("sendMessage", 3, timeout=10)
        daily = digests_to(api)
        assert len(daily) == 2
        # The window starts a poll interval (and a margin) before the last digest, so a late
        # post is not lost; what the chat already received is left out.
        assert daily[1].startswith("Belarus: 11 Mar 2026 07:45 – 12 Mar 2026 08:00 (UTC)")
        assert "Lukashenko visits the Brest border post" in daily[1]
        assert "300" not in daily[1]  # yesterday's stories are not repeated


async def test_the_daily_digest_leaves_out_stories_already_received(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    clock = Clock(NOW.replace(hour=7, minute=30))
    async with running_bot(api, demo_store, settings_for(api, tmp_path), clock) as bot:
        bot.say("/subscribe belarus 08:00")
        bot.say("/belarus")  # the chat reads the digest at 07:30
        await bot.replies(2)
        first = (digests_to(api))[0]
        assert "МИД Беларуси вызвал" in first
        # A new report on the troops story comes in before the daily digest.
        await demo_store.upsert_posts([
            IncomingPost(ChannelRef(username="demo_moscow_feed"), 77460, NOW.replace(hour=7, minute=50),
                         "Госпогранслужба Украины: Беларусь перебросила к границе с Волынью около "
                         "300 военных и 40 единиц техники в район Бреста."),
        ])  # fmt: skip
        clock.now = NOW
        await api.wait_for("sendMessage", 3, timeout=10)
        daily = (digests_to(api))[1]
    assert "300" in daily and "7 channels" in daily  # the story with a new report stays
    assert "МИД Беларуси вызвал" not in daily  # already received, nothing new: left out


async def test_configured_chats_get_the_configured_digest(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    other = -1005555555555
    settings = settings_for(
        api, tmp_path, allowed_chat_ids=[GROUP, other], digest_chat_ids=[other],
        digest_time="07:45", timezone="Europe/Kyiv",
    )  # fmt: skip
    clock = Clock(NOW.replace(hour=5, minute=40))  # 07:40 in Kyiv
    async with running_bot(api, demo_store, settings, clock) as bot:
        subs = await bot.store.subscriptions(other)
        assert [(s.topic, s.time_of_day, s.origin) for s in subs] == [
            ("belarus", "07:45", "config")
        ]
        await asyncio.sleep(TICKS)
        assert api.texts_to(other) == []
        clock.now = NOW.replace(hour=5, minute=45)
        await api.wait_for("sendMessage", 1, timeout=10)
    assert api.texts_to(other)[0].startswith("Belarus: ")
    assert "(Europe/Kyiv)" in api.texts_to(other)[0]


async def test_subscribing_after_todays_time_starts_tomorrow(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    clock = Clock(NOW.replace(hour=9))
    async with running_bot(api, demo_store, settings_for(api, tmp_path), clock) as bot:
        bot.say("/subscribe belarus 08:00")
        await bot.replies(1)
        await asyncio.sleep(TICKS)
        assert digests_to(api) == []
        bot.say("/subscriptions")
        texts = await bot.replies(2)
        assert texts[-1] == "Daily digests here\nBelarus at 08:00 (last sent: not yet)"
        bot.say("/unsubscribe belarus")
        texts = await bot.replies(3)
        assert texts[-1] == "No more daily Belarus digests here."


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
            if bot.svc.daily_retries.failures:
                break
            await asyncio.sleep(0.05)
        api.set_down(False)
        await asyncio.sleep(TICKS)  # several more ticks, with the API back
        [(failures, _)] = bot.svc.daily_retries.failures.values()
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
    # The control: the same subscription, with the chat still allowed, is sent.
    async with running_bot(api, demo_store, settings_for(api, tmp_path), Clock(NOW)):
        await api.wait_for("sendMessage", 1, timeout=10)
    assert digests_to(api) != []


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


def test_a_daily_digest_that_failed_is_retried_after_1_2_4_minutes_at_most_an_hour() -> None:
    retries = DailyRetries()
    waits = []
    for _ in range(8):
        waits.append(retries.next_delay(7))
        retries.failed(7, waits[-1])
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retries.waiting(7) and not retries.waiting(8)
    retries.succeeded(7)
    assert retries.next_delay(7) == 60 and not retries.waiting(7)
