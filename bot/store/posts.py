"""Channels and posts: idempotent upserts that keep edits, and the reads the digest needs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.models import (
    MAX_POST_TEXT_CHARS,
    Channel,
    ChannelRef,
    ChannelSummary,
    IncomingPost,
    Post,
    capped_text,
)
from bot.store.base import Backend, Conn, Row, from_unix, stamp, to_unix
from bot.store.fts import to_tsquery

POST_COLUMNS = (
    "p.id, p.channel_id, p.message_id, p.date, p.text, p.views, p.edit_date, "
    "p.forwarded_from, p.media_kind, p.edited"
)
PG_MATCH = "p.id IN (SELECT post_id FROM post_search WHERE tokens @@ CAST(? AS tsquery))"
"""PostgreSQL's spelling of "matches the FTS query" (the query made by `to_tsquery`)."""
SQLITE_MAX_VARS = 900
DATE_DRIVEN_MAX_SPAN = timedelta(days=8)
"""Up to this window length (a daily or weekly digest) a topic's posts are found by date
first; longer windows are found through the FTS index first (see `posts_in_window`)."""


@dataclass(slots=True)
class UpsertResult:
    """What an upsert did: new posts, text edits, metadata refreshes, nothing; and the
    channel rows the posts belong to (so a caller need not look its channel up again)."""

    inserted: int = 0
    edited: int = 0
    refreshed: int = 0
    unchanged: int = 0
    channel_ids: list[int] = field(default_factory=list)

    @property
    def updated(self) -> int:
        return self.edited + self.refreshed

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.inserted += other.inserted
        self.edited += other.edited
        self.refreshed += other.refreshed
        self.unchanged += other.unchanged
        self.channel_ids += [c for c in other.channel_ids if c not in self.channel_ids]
        return self


def same_text(a: str, b: str) -> bool:
    """Whitespace differences between sources (export vs web page) are not edits."""
    return a.split() == b.split()


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PostsStore:
    """Mixin over `Backend`: everything about channels and posts."""

    db: Backend
    _channels: dict[int, Channel]

    # ----- channels -------------------------------------------------------------------

    async def _load_channels(self, conn: Conn | None = None) -> None:
        """Read the channels again; inside a transaction with its `conn`, so that another
        process's new channel is seen before this one decides to create it."""
        sql = "SELECT id, peer_id, username, title FROM channels"
        rows = await (conn or self.db).fetchall(sql)
        self._channels = {
            row["id"]: Channel(row["id"], row["peer_id"], row["username"], row["title"])
            for row in rows
        }

    async def channel(self, channel_id: int) -> Channel:
        if channel_id not in self._channels:
            await self._load_channels()
        return self._channels[channel_id]

    async def channels(self) -> list[Channel]:
        await self._load_channels()
        return sorted(self._channels.values(), key=lambda c: c.name.lower())

    def _find_channel(self, ref: ChannelRef) -> tuple[Channel | None, Channel | None]:
        by_peer = by_name = None
        for channel in self._channels.values():
            if ref.peer_id is not None and channel.peer_id == ref.peer_id:
                by_peer = channel
            if (
                ref.username
                and channel.username
                and channel.username.lower() == ref.username.lower()
            ):
                by_name = channel
        return by_peer, by_name

    async def find_channel(self, username: str) -> Channel | None:
        await self._load_channels()
        return self._find_channel(ChannelRef(username=username))[1]

    async def _resolve_channel(self, conn: Conn, ref: ChannelRef, now: int) -> Channel:
        """The channel row for `ref`, created or completed with what `ref` adds.

        Must run inside a transaction. When the username now belongs to a different numeric
        id (a renamed channel), the numeric id wins and the old row loses the username.
        """
        by_peer, by_name = self._find_channel(ref)
        if by_peer and by_name and by_peer.id != by_name.id:
            if by_name.peer_id is None:
                # One channel seen two ways: by id (an export) and by username (its web
                # preview). Now that both are known, the two rows become one.
                await self._merge_channels(conn, keep=by_peer, gone=by_name)
            else:
                # The username moved to another channel: the old row keeps its id only.
                await conn.execute(
                    "UPDATE channels SET username = NULL WHERE id = ?", (by_name.id,)
                )
                self._channels[by_name.id] = Channel(
                    by_name.id, by_name.peer_id, None, by_name.title
                )
            by_name = None
        found = by_peer or by_name
        if found is None:
            new_id = await conn.insert(
                "INSERT INTO channels (peer_id, username, title, created_at) VALUES (?, ?, ?, ?)",
                (ref.peer_id, ref.username, ref.title, now),
            )
            channel = Channel(new_id, ref.peer_id, ref.username, ref.title)
            self._channels[channel.id] = channel
            return channel
        username = ref.username or found.username
        if found.username and username and found.username.lower() == username.lower():
            username = found.username  # usernames are case-insensitive; keep the first spelling
        merged = Channel(
            found.id,
            found.peer_id if found.peer_id is not None else ref.peer_id,
            username,
            ref.title or found.title,
        )
        if merged != found:
            await conn.execute(
                "UPDATE channels SET peer_id = ?, username = ?, title = ? WHERE id = ?",
                (merged.peer_id, merged.username, merged.title, merged.id),
            )
            self._channels[merged.id] = merged
        return merged

    async def _merge_channels(self, conn: Conn, keep: Channel, gone: Channel) -> None:
        """Move `gone`'s posts and sources to `keep`; a post stored under both stays once
        (the copy under `keep`), so no story counts one channel twice."""
        # What UPDATE OR IGNORE does in SQLite, spelled so PostgreSQL runs it too: rows
        # that would collide with one of `keep`'s stay behind (and are deleted next).
        await conn.execute(
            "UPDATE posts SET channel_id = ? WHERE channel_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM posts k WHERE k.channel_id = ? AND k.message_id = posts.message_id)",
            (keep.id, gone.id, keep.id),
        )
        await conn.execute("DELETE FROM posts WHERE channel_id = ?", (gone.id,))
        await conn.execute(
            "UPDATE sources SET channel_id = ? WHERE channel_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM sources k WHERE k.channel_id = ?)",
            (keep.id, gone.id, keep.id),
        )
        await conn.execute("UPDATE sources SET channel_id = NULL WHERE channel_id = ?", (gone.id,))
        await conn.execute("DELETE FROM channels WHERE id = ?", (gone.id,))
        self._channels.pop(gone.id, None)

    async def ensure_channel(self, ref: ChannelRef, now: datetime | None = None) -> Channel:
        async with self.db.transaction() as conn:
            await self._load_channels(conn)
            return await self._resolve_channel(conn, ref, stamp(now))

    # ----- writing posts --------------------------------------------------------------

    async def upsert_posts(
        self, posts: Sequence[IncomingPost], now: datetime | None = None
    ) -> UpsertResult:
        """Insert new posts, apply edits, refresh views; all in one transaction. The
        result names the channel row of each channel the posts came from.

        Idempotent: the same posts again change nothing. An empty text never replaces a
        stored one (a page that failed to show the text is not an edit).
        """
        if not posts:
            return UpsertResult()
        async with self.db.transaction() as conn:
            return await self._upsert_in(conn, posts, stamp(now))

    async def _upsert_in(self, conn: Conn, posts: Sequence[IncomingPost], now: int) -> UpsertResult:
        """`upsert_posts` inside a transaction the caller holds."""
        result = UpsertResult()
        # Every way in (web pages, updates, imports) is capped here as well as at its edge.
        posts = [
            post
            if len(post.text) <= MAX_POST_TEXT_CHARS
            else replace(post, text=capped_text(post.text))
            for post in posts
        ]
        await self._load_channels(conn)
        by_channel: dict[int, dict[int, IncomingPost]] = {}
        for post in posts:
            channel = await self._resolve_channel(conn, post.channel, now)
            if channel.id not in result.channel_ids:
                result.channel_ids.append(channel.id)
            # A later duplicate in the same batch wins, as it would in two batches.
            by_channel.setdefault(channel.id, {})[post.message_id] = post
        for channel_id, incoming in by_channel.items():
            existing = await self._existing(conn, channel_id, list(incoming))
            inserts, edits, refreshes = [], [], []
            edited: list[int] = []
            for message_id, post in incoming.items():
                row = existing.get(message_id)
                if row is None:
                    inserts.append(self._insert_params(channel_id, post, now))
                    continue
                text_changed = bool(post.text.strip()) and not same_text(post.text, row["text"])
                meta = self._meta(post, row)
                if text_changed:
                    edits.append((post.text, now, *meta, row["id"]))
                    edited.append(message_id)
                elif meta != self._meta_of_row(row) or row["deleted_at"] is not None:
                    refreshes.append((now, *meta, row["id"]))
                else:
                    result.unchanged += 1
            if inserts:
                await conn.executemany(
                    "INSERT INTO posts (channel_id, message_id, date, text, views, "
                    "edit_date, forwarded_from, media_kind, author, reply_to, "
                    "first_seen_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    inserts,
                )
            if edits:
                await conn.executemany(
                    "UPDATE posts SET text = ?, edited = 1, updated_at = ?, views = ?, "
                    "edit_date = ?, forwarded_from = ?, media_kind = ?, deleted_at = NULL "
                    "WHERE id = ?",
                    edits,
                )
            if refreshes:
                await conn.executemany(
                    "UPDATE posts SET updated_at = ?, views = ?, edit_date = ?, "
                    "forwarded_from = ?, media_kind = ?, deleted_at = NULL WHERE id = ?",
                    refreshes,
                )
            if inserts or edits:
                await conn.index_texts(
                    channel_id,
                    [(row[1], row[3]) for row in inserts]
                    + [(mid, incoming[mid].text) for mid in edited],
                )
            result.inserted += len(inserts)
            result.edited += len(edits)
            result.refreshed += len(refreshes)
        return result

    @staticmethod
    def _insert_params(channel_id: int, post: IncomingPost, now: int) -> tuple[Any, ...]:
        return (
            channel_id,
            post.message_id,
            to_unix(post.date),
            post.text,
            post.views,
            to_unix(post.edit_date) if post.edit_date else None,
            post.forwarded_from,
            post.media_kind,
            post.author,
            post.reply_to,
            now,
            now,
        )

    @staticmethod
    def _meta(post: IncomingPost, row: Row) -> tuple[Any, ...]:
        """Metadata after merging: a source that does not know a field keeps the stored one."""
        edit_date = row["edit_date"]
        # A web page says only "edited": its marker (edit_date == date) never replaces a
        # real edit time from an export or an update.
        if post.edit_date and (edit_date is None or post.edit_date != post.date):
            edit_date = to_unix(post.edit_date)
        return (
            post.views if post.views is not None else row["views"],
            edit_date,
            post.forwarded_from or row["forwarded_from"],
            post.media_kind or row["media_kind"],
        )

    @staticmethod
    def _meta_of_row(row: Row) -> tuple[Any, ...]:
        return (row["views"], row["edit_date"], row["forwarded_from"], row["media_kind"])

    @staticmethod
    async def _existing(conn: Conn, channel_id: int, message_ids: list[int]) -> dict[int, Row]:
        found: dict[int, Row] = {}
        for chunk in _chunks(message_ids, SQLITE_MAX_VARS):
            marks = ",".join("?" * len(chunk))
            for row in await conn.fetchall(
                "SELECT id, message_id, text, views, edit_date, forwarded_from, media_kind, "
                f"deleted_at FROM posts WHERE channel_id = ? AND message_id IN ({marks})",
                (channel_id, *chunk),
            ):
                found[row["message_id"]] = row
        return found

    async def mark_deleted(
        self, channel_id: int, message_ids: Iterable[int], now: datetime | None = None
    ) -> int:
        """Record that posts were found deleted; they leave digests but keep their history."""
        ids = list(message_ids)
        if not ids:
            return 0
        when = stamp(now)
        changed = 0
        async with self.db.transaction() as conn:
            for chunk in _chunks(ids, SQLITE_MAX_VARS):
                marks = ",".join("?" * len(chunk))
                changed += await conn.execute(
                    f"UPDATE posts SET deleted_at = ?, updated_at = ? WHERE channel_id = ? "
                    f"AND deleted_at IS NULL AND message_id IN ({marks})",
                    (when, when, channel_id, *chunk),
                )
        return changed

    async def message_ids_between(self, channel_id: int, low: int, high: int) -> list[int]:
        """Stored, not deleted message ids of a channel in [low, high]."""
        rows = await self.db.fetchall(
            "SELECT message_id FROM posts WHERE channel_id = ? AND message_id BETWEEN ? AND ? "
            "AND deleted_at IS NULL",
            (channel_id, low, high),
        )
        return [row[0] for row in rows]

    # ----- reading posts --------------------------------------------------------------

    async def _posts_from_rows(self, rows: Iterable[Row]) -> list[Post]:
        posts = []
        for row in rows:
            posts.append(
                Post(
                    id=row["id"],
                    channel=await self.channel(row["channel_id"]),
                    message_id=row["message_id"],
                    date=from_unix(row["date"]),  # type: ignore[arg-type]
                    text=row["text"],
                    views=row["views"],
                    edit_date=from_unix(row["edit_date"]),
                    forwarded_from=row["forwarded_from"],
                    media_kind=row["media_kind"],
                    edited=bool(row["edited"]),
                )
            )
        return posts

    async def posts_in_window(
        self,
        since: datetime,
        until: datetime,
        match: str | None = None,
        channel_ids: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> list[Post]:
        """Posts with since <= date < until, oldest first, optionally matching an FTS query."""
        where = ["p.date >= ?", "p.date < ?", "p.deleted_at IS NULL"]
        params: list[Any] = [to_unix(since), to_unix(until)]
        if channel_ids:
            where.append(f"p.channel_id IN ({','.join('?' * len(channel_ids))})")
            params.extend(channel_ids)
        if match is not None and self.db.kind == "postgresql":
            # The planner chooses between the date index and the text index by itself.
            sql = (
                f"SELECT {POST_COLUMNS} FROM posts p WHERE {' AND '.join(where)} "
                f"AND {PG_MATCH} ORDER BY p.date, p.id"
            )
            params.append(to_tsquery(match))
        elif match is not None and until - since <= DATE_DRIVEN_MAX_SPAN:
            # A short window: walk its stretch of the date index and keep the posts the FTS
            # query matched (`+` keeps SQLite from driving the join from the match list).
            # Cost grows with the posts of the window, not with the matches in the whole
            # store: joining from FTS5 looks up every match of every day ever stored.
            sql = (
                f"SELECT {POST_COLUMNS} FROM posts p WHERE {' AND '.join(where)} "
                "AND +p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?) "
                "ORDER BY p.date, p.id"
            )
            params.append(match)
        elif match is not None:
            sql = (
                f"SELECT {POST_COLUMNS} FROM posts_fts f JOIN posts p ON p.id = f.rowid "
                f"WHERE posts_fts MATCH ? AND {' AND '.join(where)} ORDER BY p.date, p.id"
            )
            params.insert(0, match)
        else:
            sql = (
                f"SELECT {POST_COLUMNS} FROM posts p WHERE {' AND '.join(where)} "
                "ORDER BY p.date, p.id"
            )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return await self._posts_from_rows(await self.db.fetchall(sql, params))

    async def search(
        self,
        match: str,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[Post]:
        """Posts matching an FTS query, newest first."""
        postgres = self.db.kind == "postgresql"
        where = [PG_MATCH if postgres else "posts_fts MATCH ?", "p.deleted_at IS NULL"]
        params: list[Any] = [to_tsquery(match) if postgres else match]
        if since is not None:
            where.append("p.date >= ?")
            params.append(to_unix(since))
        if until is not None:
            where.append("p.date < ?")
            params.append(to_unix(until))
        params.append(limit)
        source = "posts p" if postgres else "posts_fts f JOIN posts p ON p.id = f.rowid"
        sql = (
            f"SELECT {POST_COLUMNS} FROM {source} "
            f"WHERE {' AND '.join(where)} ORDER BY p.date DESC, p.id DESC LIMIT ?"
        )
        return await self._posts_from_rows(await self.db.fetchall(sql, params))

    async def latest_post(
        self, match: str | None = None, before: datetime | None = None
    ) -> Post | None:
        """The newest stored post (matching `match`), for "nothing new since …" answers."""
        if match is None:
            sql = f"SELECT {POST_COLUMNS} FROM posts p WHERE p.deleted_at IS NULL"
            params: list[Any] = []
            if before is not None:
                sql += " AND p.date < ?"
                params.append(to_unix(before))
            sql += " ORDER BY p.date DESC LIMIT 1"
            posts = await self._posts_from_rows(await self.db.fetchall(sql, params))
            return posts[0] if posts else None
        posts = await self.search(match, until=before, limit=1)
        return posts[0] if posts else None

    async def iter_posts(
        self,
        channel_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        batch: int = 1000,
    ) -> AsyncIterator[Post]:
        """Every stored post (deleted ones too), oldest first, read in batches (for export)."""
        last = (-(2**62), 0)
        while True:
            where = ["(p.date, p.id) > (?, ?)"]
            params: list[Any] = list(last)
            if channel_id is not None:
                where.append("p.channel_id = ?")
                params.append(channel_id)
            if since is not None:
                where.append("p.date >= ?")
                params.append(to_unix(since))
            if until is not None:
                where.append("p.date < ?")
                params.append(to_unix(until))
            sql = (
                f"SELECT {POST_COLUMNS} FROM posts p WHERE {' AND '.join(where)} "
                "ORDER BY p.date, p.id LIMIT ?"
            )
            rows = await self.db.fetchall(sql, (*params, batch))
            if not rows:
                return
            for post in await self._posts_from_rows(rows):
                yield post
            final = list(rows)[-1]
            last = (final["date"], final["id"])

    async def previous_texts(self, post_ids: Sequence[int]) -> dict[int, list[str]]:
        """Earlier texts of edited posts, oldest first."""
        found: dict[int, list[str]] = {}
        for chunk in _chunks(list(post_ids), SQLITE_MAX_VARS):
            marks = ",".join("?" * len(chunk))
            for row in await self.db.fetchall(
                f"SELECT post_id, old_text FROM post_edits WHERE post_id IN ({marks}) ORDER BY id",
                chunk,
            ):
                found.setdefault(row["post_id"], []).append(row["old_text"])
        return found

    async def posts_by_ids(self, post_ids: Sequence[int]) -> list[Post]:
        """Stored posts (deleted ones too) by their row ids, oldest first."""
        found: list[Post] = []
        for chunk in _chunks(list(post_ids), SQLITE_MAX_VARS):
            marks = ",".join("?" * len(chunk))
            found += await self._posts_from_rows(
                await self.db.fetchall(
                    f"SELECT {POST_COLUMNS} FROM posts p WHERE p.id IN ({marks})", chunk
                )
            )
        return sorted(found, key=lambda p: (p.date, p.id))

    async def get_post(self, channel_id: int, message_id: int) -> Post | None:
        rows = await self.db.fetchall(
            f"SELECT {POST_COLUMNS} FROM posts p WHERE p.channel_id = ? AND p.message_id = ?",
            (channel_id, message_id),
        )
        posts = await self._posts_from_rows(rows)
        return posts[0] if posts else None

    async def count_posts(self) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM posts")
        return int(row[0]) if row else 0

    async def channel_summaries(self) -> list[ChannelSummary]:
        """Every stored channel with its posts, their date range and how they arrive."""
        rows = await self.db.fetchall(
            "SELECT c.id, count(p.id) AS n, min(p.date) AS first, max(p.date) AS last, "
            "(SELECT s.kind || ':' || s.enabled FROM sources s WHERE s.channel_id = c.id) "
            "AS source FROM channels c LEFT JOIN posts p ON p.channel_id = c.id "
            "AND p.deleted_at IS NULL GROUP BY c.id"
        )
        arrivals = {
            "web:1": "web preview", "web:0": "web preview (removed)",
            "updates:1": "channel posts", "updates:0": "channel posts (removed)",
        }  # fmt: skip
        out = [
            ChannelSummary(
                await self.channel(row["id"]),
                int(row["n"]),
                from_unix(row["first"]),
                from_unix(row["last"]),
                arrivals.get(row["source"] or "", "import"),
            )
            for row in rows
        ]
        return sorted(out, key=lambda c: c.channel.name.lower())
