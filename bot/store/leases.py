"""Leases: which worker sends the daily digests (and, in sources.py, polls a source).

A lease is a row (or two columns of a source) with a holder and an expiry; the holder
renews it while it works, and a worker that dies simply stops renewing, so after the lease
time another takes over. Every claim is one statement inside a write transaction, which
both backends run one at a time: two workers never hold the same lease.
"""

from __future__ import annotations

from datetime import datetime

from bot.store.base import Backend, to_unix


class LeasesStore:
    """Mixin over `Backend`: the leases table (named leases with a holder and an expiry)."""

    db: Backend

    async def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take the lease `name` (free, expired, or already ours) until `until`; False while
        another holder's lease runs."""
        async with self.db.transaction() as conn:
            changed = await conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at "
                "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
                (name, holder, to_unix(until), to_unix(now)),
            )
        return changed > 0

    async def release_lease(self, name: str, holder: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        row = await self.db.fetchone(
            "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, to_unix(now))
        )
        return None if row is None else str(row[0])
