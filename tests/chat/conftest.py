"""A real Application talking HTTP to the local fake Bot API, over a real SQLite file."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from telegram.ext import Application

from bot.chat.app import build_application
from bot.chat.runner import start_bot, stop_bot
from bot.chat.services import BotServices
from bot.chat.state import DailyRetries
from bot.config import Settings, load_settings
from bot.demo import demo_posts
from bot.digest.summary import ExtractiveSummariser, Summariser
from bot.digest.topics import load_topics
from bot.models import ChannelRef, IncomingPost
from bot.store import Store
from tests.fakes.botapi import FakeBotAPI

GROUP = -1001111111111
ADMIN = 501
MEMBER = 502
STRANGER_CHAT = -1002222222222
NOW = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
HREF_RE = re.compile(r'<a href="([^"]+)"')


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Bot:
    app: Application  # type: ignore[type-arg]
    api: FakeBotAPI
    store: Store
    svc: BotServices
    clock: Clock

    def say(
        self, text: str, chat_id: int = GROUP, user_id: int = MEMBER, **kw: Any
    ) -> dict[str, Any]:
        return self.api.user_message(chat_id, text, user_id=user_id, **kw)

    async def replies(self, count: int, chat_id: int = GROUP) -> list[str]:
        await self.api.wait_for(
            "sendMessage", count, timeout=15,
            predicate=lambda r: r.params.get("chat_id") == chat_id,
        )  # fmt: skip
        return self.api.texts_to(chat_id)

    def sent_html(self, chat_id: int = GROUP) -> list[str]:
        """The HTML the bot sent (sendMessage and editMessageText), in order."""
        return [
            str(request.params["text"])
            for request in self.api.requests
            if request.method in ("sendMessage", "editMessageText")
            and request.ok
            and request.params.get("chat_id") == chat_id
        ]


def many_channel_posts() -> list[IncomingPost]:
    """Ten stories about Мінськ, each reported by twelve channels in the hour before NOW:
    a digest (or a brief) of them is longer than one message."""
    events = ["вибух", "рейд", "мітинг", "затримання", "обстріл", "нарада", "пожежа", "арешт",
              "страйк", "обшук"]  # fmt: skip
    return [
        IncomingPost(
            ChannelRef(username=f"channel_{c:02d}"),
            1000 + 100 * s + c,
            NOW - timedelta(minutes=30 * s + c),
            f"Мінськ: подія {s} — {events[s]} біля об'єкта {s * 111}, кодова назва "
            f"Операція{s}Альфа{s}, " + "подробиці уточнюються " * 8,
        )
        for s in range(10)
        for c in range(12)
    ]


def digests_to(api: FakeBotAPI, chat_id: int = GROUP, title: str = "Belarus") -> list[str]:
    """The digests (not the other replies) a chat received, as its members see them."""
    return [t for t in api.texts_to(chat_id) if t.startswith(f"{title}: ")]


def settings_for(api: FakeBotAPI, tmp_path: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": api.token,
        "bot_api_url": api.base_url,
        "database_path": tmp_path / "bot.db",
        "allowed_chat_ids": [GROUP],
        "admin_user_ids": [ADMIN],
        "chat_cooldown_seconds": 0,
    }
    values.update(overrides)
    return load_settings(**values)


@asynccontextmanager
async def running_bot(
    api: FakeBotAPI,
    store: Store,
    settings: Settings,
    clock: Clock,
    summariser: Summariser | None = None,
    tick_seconds: float = 0.1,
    daily_retries: DailyRetries | None = None,
) -> AsyncIterator[Bot]:
    svc = BotServices(
        settings=settings, store=store, topics=load_topics(),
        summariser=summariser or ExtractiveSummariser(), clock=clock,
        daily_retries=daily_retries or DailyRetries(),
    )  # fmt: skip
    app = build_application(svc, tick_seconds=tick_seconds)
    await start_bot(app, settings, poll_timeout=1)
    try:
        yield Bot(app, api, store, svc, clock)
    finally:
        await stop_bot(app)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest_asyncio.fixture
async def demo_store(store: Store) -> Store:
    """The demo sample, its newest post 15 minutes before NOW."""
    await store.upsert_posts(demo_posts(NOW))
    return store


@pytest_asyncio.fixture
async def bot(api: FakeBotAPI, demo_store: Store, tmp_path: Any) -> AsyncIterator[Bot]:
    async with running_bot(api, demo_store, settings_for(api, tmp_path), Clock()) as running:
        yield running
