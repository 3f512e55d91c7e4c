"""The model answer cache and usage ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.store import Store


async def test_cached_answers_are_found_and_old_ones_pruned(store: Store) -> None:
    await store.store_answer("k1", "m", '{"items": []}', 120, 30)
    cached = await store.cached_answer("k1")
    assert cached is not None and cached.answer == '{"items": []}'
    assert await store.prune_llm_cache(datetime.now(UTC) - timedelta(days=30)) == 0
    assert await store.prune_llm_cache(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert await store.cached_answer("k1") is None


async def test_usage_adds_up_per_day(store: Store) -> None:
    day = date(2026, 3, 11)
    await store.record_llm_usage(day, 100, 20)
    await store.record_llm_usage(day, 50, 5)
    await store.record_llm_usage(day + timedelta(days=1), 7, 1)
    usage = await store.llm_tokens_on(day)
    assert (usage.tokens_in, usage.tokens_out, usage.calls, usage.tokens) == (150, 25, 2, 175)
