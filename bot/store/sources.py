"""Sources: which channels to keep current, their cursors and their health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.models import Source
from bot.store.base import Backend, Conn, Row, from_unix, stamp, to_unix

SOURCE_COLUMNS = (
    "id, username, channel_id, kind, origin, enabled, status, status_reason, cursor, "
    "posts_stored, last_poll_at, last_success_at, last_error_at, last_error, "
    "consecutive_failures, next_poll_at, resume_before, pending_cursor"
)


def _source(row: Row) -> Source:
    return Source(
        id=row["id"],
        username=row["username"],
        channel_id=row["channel_id"],
        kind=row["kind"],
        origin=row["origin"],
        enabled=bool(row["enabled"]),
        status=row["status"],
        status_reason=row["status_reason"],
        cursor=row["cursor"],
        posts_stored=row["posts_stored"],
        last_poll_at=from_unix(row["last_poll_at"]),
        last_success_at=from_unix(row["last_success_at"]),
        last_error_at=from_unix(row["last_error_at"]),
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"],
        next_poll_at=from_unix(row["next_poll_at"]),
        resume_before=row["resume_before"],
        pending_cursor=row["pending_cursor"],
    )


class SourcesStore:
    """Mixin over `Backend`: the sources table."""

    db: Backend

    async def _fetch_sources(
        self, where: str = "TRUE", params: tuple[Any, ...] = ()
    ) -> list[Source]:
        # NULL usernames first, as SQLite sorts them, on PostgreSQL too.
        rows = await self.db.fetchall(
            f"SELECT {SOURCE_COLUMNS} FROM sources WHERE {where} "
            "ORDER BY username IS NOT NULL, username, id",
            params,
        )
        return [_source(row) for row in rows]

    async def sources(self, enabled_only: bool = True) -> list[Source]:
        return await self._fetch_sources("enabled = 1" if enabled_only else "TRUE")

    async def get_source(self, username: str) -> Source | None:
        found = await self._fetch_sources("username = ?", (username,))
        return found[0] if found else None

    async def add_source(
        self, username: str, origin: str = "config", now: datetime | None = None
    ) -> tuple[Source, bool]:
        """Add (or re-enable) a web preview source; returns it and whether it is new."""
        now_s = stamp(now)
        async with self.db.transaction() as conn:
            row = await conn.fetchone("SELECT enabled FROM sources WHERE username = ?", (username,))
            if row is None:
                await conn.execute(
                    "INSERT INTO sources (username, kind, origin, added_at, next_poll_at) "
                    "VALUES (?, 'web', ?, ?, ?)",
                    (username, origin, now_s, now_s),
                )
                created = True
            else:
                created = not row["enabled"]
                await conn.execute(
                    "UPDATE sources SET enabled = 1, next_poll_at = ? WHERE username = ? "
                    "AND enabled = 0",
                    (now_s, username),
                )
        source = await self.get_source(username)
        assert source is not None
        return source, created

    async def remove_source(self, username: str) -> bool:
        """Stop polling a source; its posts and history stay."""
        async with self.db.transaction() as conn:
            changed = await conn.execute(
                "UPDATE sources SET enabled = 0 WHERE username = ? AND enabled = 1", (username,)
            )
            return changed > 0

    async def sync_config_sources(
        self, usernames: list[str], now: datetime | None = None
    ) -> list[str]:
        """Make sure every configured source exists; returns the ones added now.

        A source an admin removed in the bot stays removed even if SOURCES still lists it.
        """
        added = []
        existing = {s.username.lower() for s in await self.sources(False) if s.username}
        for username in usernames:
            if username.lower() not in existing:
                await self.add_source(username, "config", now)
                added.append(username)
        return added

    async def ensure_updates_source(
        self, channel_id: int, username: str | None, now: datetime | None = None
    ) -> None:
        """A channel whose posts reach the bot through updates becomes a source by itself."""
        async with self.db.transaction() as conn:
            await self._ensure_updates_source_in(conn, channel_id, username, stamp(now))

    @staticmethod
    async def _ensure_updates_source_in(
        conn: Conn, channel_id: int, username: str | None, now: int
    ) -> None:
        # `username = NULL` is never true: a channel without one is found by its id only.
        row = await conn.fetchone(
            "SELECT id FROM sources WHERE channel_id = ? OR username = ?",
            (channel_id, username),
        )
        if row is None:
            await conn.execute(
                "INSERT INTO sources (username, channel_id, kind, origin, added_at, status, "
                "last_success_at) VALUES (?, ?, 'updates', 'channel_post', ?, 'ok', ?)",
                (username, channel_id, now, now),
            )
        else:
            await conn.execute(
                "UPDATE sources SET channel_id = coalesce(channel_id, ?), last_success_at = ?, "
                "status = CASE WHEN kind = 'updates' THEN 'ok' ELSE status END WHERE id = ?",
                (channel_id, now, row["id"]),
            )

    async def count_source_post(self, channel_id: int, count: int = 1) -> None:
        async with self.db.transaction() as conn:
            await self._count_source_posts_in(conn, channel_id, count)

    @staticmethod
    async def _count_source_posts_in(conn: Conn, channel_id: int, count: int) -> None:
        await conn.execute(
            "UPDATE sources SET posts_stored = posts_stored + ? WHERE channel_id = ?",
            (count, channel_id),
        )

    async def due_sources(self, now: datetime) -> list[Source]:
        return await self._fetch_sources(
            "enabled = 1 AND kind = 'web' AND (next_poll_at IS NULL OR next_poll_at <= ?)",
            (to_unix(now),),
        )

    # ----- leases: several workers share the sources ---------------------------------

    async def claim_due_sources(
        self, worker: str, now: datetime, until: datetime, limit: int = 100
    ) -> list[Source]:
        """Due web sources that no worker holds, now leased to `worker` until `until`.

        Read and leased in one write transaction, which both backends run one at a time:
        two workers claiming together never get the same source.
        """
        async with self.db.transaction() as conn:
            rows = await conn.fetchall(
                "SELECT id FROM sources WHERE enabled = 1 AND kind = 'web' "
                "AND (next_poll_at IS NULL OR next_poll_at <= ?) "
                "AND (lease_until IS NULL OR lease_until <= ?) "
                "ORDER BY next_poll_at, id LIMIT ?",
                (to_unix(now), to_unix(now), limit),
            )
            ids = [int(row[0]) for row in rows]
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            await conn.execute(
                f"UPDATE sources SET leased_by = ?, lease_until = ? WHERE id IN ({marks})",
                (worker, to_unix(until), *ids),
            )
        marks = ",".join("?" * len(ids))
        return await self._fetch_sources(f"id IN ({marks})", tuple(ids))

    async def renew_source_leases(
        self, worker: str, source_ids: Sequence[int], until: datetime
    ) -> set[int]:
        """Extend `worker`'s leases on these sources; the ids it still held (a source
        missing from them was taken by another worker after this one's lease ran out)."""
        if not source_ids:
            return set()
        marks = ",".join("?" * len(source_ids))
        async with self.db.transaction() as conn:
            rows = await conn.fetchall(
                f"UPDATE sources SET lease_until = ? WHERE leased_by = ? AND id IN ({marks}) "
                "RETURNING id",
                (to_unix(until), worker, *source_ids),
            )
        return {int(row[0]) for row in rows}

    async def release_source(self, source_id: int, worker: str) -> None:
        """The poll is over: the source is free for whichever worker finds it due next."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET leased_by = NULL, lease_until = NULL "
                "WHERE id = ? AND leased_by = ?",
                (source_id, worker),
            )

    async def record_poll_success(
        self,
        source_id: int,
        channel_id: int | None,
        cursor: int | None,
        new_posts: int,
        now: datetime,
        next_poll_at: datetime,
        resume_before: int | None = None,
        pending_cursor: int | None = None,
    ) -> None:
        """A poll completed. `cursor` None leaves it where it is (a gap is still open,
        described by `resume_before` and `pending_cursor`)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET channel_id = coalesce(?, channel_id), "
                "cursor = CASE WHEN CAST(? AS BIGINT) IS NULL THEN cursor "
                "WHEN coalesce(cursor, 0) > ? THEN cursor ELSE ? END, "
                "resume_before = ?, pending_cursor = ?, "
                "posts_stored = posts_stored + ?, status = 'ok', status_reason = NULL, "
                "last_poll_at = ?, last_success_at = ?, consecutive_failures = 0, "
                "next_poll_at = ? WHERE id = ?",
                (
                    channel_id,
                    cursor,
                    cursor,
                    cursor,
                    resume_before,
                    pending_cursor,
                    new_posts,
                    to_unix(now),
                    to_unix(now),
                    to_unix(next_poll_at),
                    source_id,
                ),
            )

    async def record_poll_failure(
        self, source_id: int, status: str, reason: str, now: datetime, next_poll_at: datetime
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET status = ?, status_reason = ?, last_poll_at = ?, "
                "last_error_at = ?, last_error = ?, "
                "consecutive_failures = consecutive_failures + 1, next_poll_at = ? WHERE id = ?",
                (
                    status,
                    reason,
                    to_unix(now),
                    to_unix(now),
                    reason,
                    to_unix(next_poll_at),
                    source_id,
                ),
            )
