"""The Telegraph account that briefs are published with: one row, its token a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.store.base import Backend, from_unix, to_unix


@dataclass(frozen=True, slots=True)
class TelegraphAccount:
    short_name: str
    author_name: str
    access_token: str = field(repr=False)
    created_at: datetime


class TelegraphStore:
    """Mixin over `Database`: the telegraph_account table."""

    db: Backend

    async def telegraph_account(self) -> TelegraphAccount | None:
        row = await self.db.fetchone(
            "SELECT short_name, author_name, access_token, created_at FROM telegraph_account "
            "WHERE id = 1"
        )
        if row is None:
            return None
        created = from_unix(row["created_at"])
        assert created is not None
        return TelegraphAccount(row["short_name"], row["author_name"], row["access_token"], created)

    async def save_telegraph_account(self, account: TelegraphAccount) -> None:
        """Keep `account`, replacing the one before (whose token Telegraph refused)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO telegraph_account "
                "(id, short_name, author_name, access_token, created_at) VALUES (1, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET short_name = excluded.short_name, "
                "author_name = excluded.author_name, access_token = excluded.access_token, "
                "created_at = excluded.created_at",
                (
                    account.short_name,
                    account.author_name,
                    account.access_token,
                    to_unix(account.created_at),
                ),
            )
