"""LLM answers and spending: the cache that spares repeated calls, and tokens per day."""

from __future__ import annotations

from datetime import date, datetime

from bot.models import CachedAnswer, LLMUsage
from bot.store.base import Backend, from_unix, stamp, to_unix


class LLMStore:
    """Mixin over `Backend`: the llm_cache and llm_usage tables."""

    db: Backend

    async def cached_answer(self, key: str) -> CachedAnswer | None:
        row = await self.db.fetchone(
            "SELECT key, model, answer, tokens_in, tokens_out, created_at FROM llm_cache "
            "WHERE key = ?",
            (key,),
        )
        if row is None:
            return None
        created = from_unix(row["created_at"])
        assert created is not None
        return CachedAnswer(
            row["key"], row["model"], row["answer"], row["tokens_in"], row["tokens_out"], created
        )

    async def store_answer(
        self, key: str, model: str, answer: str, tokens_in: int, tokens_out: int,
        now: datetime | None = None,
    ) -> None:  # fmt: skip
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO llm_cache (key, model, answer, tokens_in, tokens_out, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "model = excluded.model, answer = excluded.answer, "
                "tokens_in = excluded.tokens_in, tokens_out = excluded.tokens_out, "
                "created_at = excluded.created_at",
                (key, model, answer, tokens_in, tokens_out, stamp(now)),
            )

    async def prune_llm_cache(self, before: datetime) -> int:
        """Forget answers cached before `before`; returns how many."""
        async with self.db.transaction() as conn:
            return await conn.execute(
                "DELETE FROM llm_cache WHERE created_at < ?", (to_unix(before),)
            )

    async def record_llm_usage(
        self, day: date, tokens_in: int, tokens_out: int, calls: int = 1
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO llm_usage (day, tokens_in, tokens_out, calls) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (day) DO UPDATE SET "
                "tokens_in = llm_usage.tokens_in + excluded.tokens_in, "
                "tokens_out = llm_usage.tokens_out + excluded.tokens_out, "
                "calls = llm_usage.calls + excluded.calls",
                (day.isoformat(), tokens_in, tokens_out, calls),
            )

    async def llm_tokens_on(self, day: date) -> LLMUsage:
        row = await self.db.fetchone(
            "SELECT tokens_in, tokens_out, calls FROM llm_usage WHERE day = ?", (day.isoformat(),)
        )
        if row is None:
            return LLMUsage(day)
        return LLMUsage(day, row["tokens_in"], row["tokens_out"], row["calls"])
