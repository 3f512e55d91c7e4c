"""The daily model budget: past LLM_DAILY_TOKEN_LIMIT, digests are extractive with a note."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.demo import demo_posts
from bot.digest.llm import LLMSummariser
from bot.digest.pipeline import build_digest
from bot.store import Store
from tests.digest.model_helpers import DEMO_WINDOW, FAST, NOW, belarus, cite_each, settings_for
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        server.default(cite_each)
        yield server


@pytest.fixture
async def demo(store: Store) -> Store:
    await store.upsert_posts(demo_posts(NOW))
    return store


async def test_past_the_daily_budget_digests_are_extractive(fake: FakeOpenAI, demo: Store) -> None:
    summariser = LLMSummariser.from_settings(
        settings_for(fake, llm_daily_token_limit=500), demo, FAST
    )
    first = await build_digest(demo, belarus(), DEMO_WINDOW, NOW, summariser=summariser)
    assert first.summariser == "llm:test-model" and first.tokens_in > 500
    usage = await demo.llm_tokens_on(summariser.today())
    assert usage.tokens >= 500 and usage.calls == 1
    # Another chat, another topic window: the budget is spent, no call is made.
    second = await build_digest(demo, belarus(), DEMO_WINDOW, NOW, limit=5, summariser=summariser)
    assert second.summariser == "extractive" and second.items
    assert second.notes[0].startswith("Today's model budget (500 tokens")
    assert len(fake.requests) == 1


async def test_no_limit_means_no_budget_check(fake: FakeOpenAI, demo: Store) -> None:
    summariser = LLMSummariser.from_settings(settings_for(fake), demo, FAST)
    for limit in (3, 4):
        digest = await build_digest(
            demo, belarus(), DEMO_WINDOW, NOW, limit=limit, summariser=summariser
        )
        assert digest.summariser == "llm:test-model"
    assert len(fake.requests) == 2
