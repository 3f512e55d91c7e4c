"""The Bot API down for a while: no crash, no lost command, the daily digest goes out late."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.chat.state import DailyRetries
from bot.store import Store
from tests.chat.conftest import GROUP, NOW, Clock, running_bot, settings_for
from tests.fakes.botapi import FakeBotAPI


@pytest.mark.slow
async def test_commands_and_daily_digests_survive_a_bot_api_outage(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    clock = Clock(NOW.replace(hour=7, minute=0))
    retries = DailyRetries(first_seconds=0.5)  # a minute in production
    settings = settings_for(api, tmp_path)
    async with running_bot(api, demo_store, settings, clock, daily_retries=retries) as bot:
        bot.say("/subscribe belarus 08:00")
        await bot.replies(1)
        api.set_down(True)
        bot.say("/belarus")  # queued at Telegram while the API is unreachable
        clock.now = NOW.replace(hour=8, minute=0, second=1)  # the daily digest falls due
        await asyncio.sleep(3.0)
        assert [t for t in api.texts_to(GROUP) if t.startswith("Belarus")] == []
        api.set_down(False)
        await api.wait_for(
            "sendMessage", 2, timeout=60,  # generous: polling backs off up to 30 s
            predicate=lambda r: r.ok and str(r.params.get("text", "")).startswith("<b>Belarus"),
        )  # fmt: skip
        await asyncio.sleep(1.0)
    digests = [t for t in api.texts_to(GROUP) if t.startswith("Belarus")]
    assert len(digests) == 2  # the command, answered once, and the daily digest, sent once
    [sub] = await demo_store.subscriptions(GROUP)
    assert sub.last_sent_at == NOW.replace(hour=8, minute=0, second=1)
