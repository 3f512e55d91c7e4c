"""Two schedulers on one PostgreSQL database: each daily digest is sent exactly once,
and when the lease holder dies the other one takes over. (And bot replicas behind one
webhook agree on its secret.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.app import build_application
from bot.chat.runner import SCHEDULER_LEASE, start_scheduler, stop_bot, use_scheduler_lease
from bot.chat.services import BotServices
from bot.config import Settings
from bot.demo import demo_posts
from bot.digest.pipeline import ExtractiveSummariser
from bot.digest.topics import load_topics
from bot.store import Store, open_store
from tests.chat.conftest import GROUP, NOW, Clock, settings_for
from tests.fakes.botapi import FakeBotAPI

OTHER = -1003333333333
TOPICS = ["belarus", "border", "sanctions"]
LEASE = timedelta(seconds=2)


@asynccontextmanager
async def scheduler(
    url: str, settings: Settings, clock: Clock, worker: str
) -> AsyncIterator[Store]:
    """A scheduler-only process: its own store (connections), the job queue, no updates."""
    store = await open_store(url)
    svc = BotServices(
        settings=settings, store=store, topics=load_topics(),
        summariser=ExtractiveSummariser(), clock=clock,
    )  # fmt: skip
    app = build_application(svc, tick_seconds=0.1)
    use_scheduler_lease(app, worker, LEASE)
    await start_scheduler(app)
    try:
        yield store
    finally:
        await stop_bot(app)
        await store.close()


def sent(api: FakeBotAPI) -> Counter[tuple[int, str]]:
    """Daily digests delivered, by chat and title line (one per subscription and day)."""
    found: Counter[tuple[int, str]] = Counter()
    for request in api.requests:
        if request.method == "sendMessage" and request.ok:
            text = str(request.params["text"])
            found[(int(request.params["chat_id"]), text.split(":")[0])] += 1
    return found


@pytest.mark.slow
async def test_two_schedulers_send_each_daily_digest_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    async with FakeBotAPI() as api:
        settings = settings_for(api, tmp_path, allowed_chat_ids=[GROUP, OTHER])
        setup = await open_store(postgres_url)
        await setup.upsert_posts(demo_posts(NOW))
        for chat in (GROUP, OTHER):
            for topic in TOPICS:
                await setup.subscribe(chat, topic, "08:00", now=NOW - timedelta(days=1))
        clock = Clock(NOW.replace(hour=7, minute=59))
        expected = len(TOPICS) * 2
        async with (
            scheduler(postgres_url, settings, clock, "A"),
            scheduler(postgres_url, settings, clock, "B"),
        ):
            await asyncio.sleep(0.5)
            assert sent(api) == Counter()
            clock.now = NOW.replace(second=5)  # 08:00:05: every subscription is due
            await api.wait_for("sendMessage", expected, timeout=30)
            await asyncio.sleep(1.0)  # many more ticks of both: nothing more is sent
            first_day = sent(api)
            assert len(first_day) == expected and set(first_day.values()) == {1}, first_day
            holder = await setup.lease_holder(SCHEDULER_LEASE, datetime.now(UTC))
            assert holder in ("A", "B")
        # Both stopped; a new pair starts, and the one that held the lease dies holding it
        # (no release): the other sends the next day's digests after the lease expires.
        survivor = "B" if holder == "A" else "A"
        clock.now = NOW + timedelta(days=1, seconds=5)
        now = datetime.now(UTC)
        assert await setup.acquire_lease(SCHEDULER_LEASE, holder, now, now + LEASE)
        async with scheduler(postgres_url, settings, clock, survivor):
            await asyncio.sleep(0.5)
            assert sent(api) == first_day  # the dead holder's lease still runs
            await api.wait_for("sendMessage", 2 * expected, timeout=30)
            await asyncio.sleep(1.0)
            assert await setup.lease_holder(SCHEDULER_LEASE, datetime.now(UTC)) == survivor
        await setup.close()
    assert sent(api) == Counter({key: 2 for key in first_day})  # once a day each


def test_bot_replicas_behind_one_webhook_share_its_secret() -> None:
    from pydantic import SecretStr

    from bot.chat.runner import webhook_secret

    one = Settings(bot_token=SecretStr("123:abc"), webhook_url="https://bot.example/hook")
    two = Settings(bot_token=SecretStr("123:abc"), webhook_url="https://bot.example/hook")
    other = Settings(bot_token=SecretStr("456:def"), webhook_url="https://bot.example/hook")
    assert webhook_secret(one) == webhook_secret(two) != webhook_secret(other)
    assert "abc" not in webhook_secret(one) and len(webhook_secret(one)) == 64
