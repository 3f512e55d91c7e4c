"""What chats asked for and received: subscriptions, digests sent, posts cited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.store.base import Backend, from_unix, stamp, to_unix

IS_DELETED = "CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END"
"""A post's deletion as the 0 or 1 the integer columns keep (PostgreSQL has no implicit
boolean to integer)."""


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    chat_id: int
    topic: str
    time_of_day: str
    origin: str
    last_sent_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DigestPage:
    """The next page of a long digest, as its "More" button will ask for it."""

    id: int
    chat_id: int
    topic: str
    query: str | None
    since: datetime
    until: datetime
    shown: int
    page_size: int
    exclude_seen: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CitedChange:
    """A post a chat received that has since changed: edited text, or deleted."""

    post_id: int
    seen_text: str
    deleted: bool


class ChatStore:
    """Mixin over `Backend` for the bot's promises to chats."""

    db: Backend

    async def subscribe(
        self, chat_id: int, topic: str, time_of_day: str, origin: str = "chat",
        created_by: int | None = None, now: datetime | None = None,
    ) -> bool:  # fmt: skip
        """A chat asks for a daily digest (or moves it); True when it is new or was off.

        `now` is the bot's clock: a subscription made after today's time starts tomorrow.
        """
        created = stamp(now)
        async with self.db.transaction() as conn:
            row = await conn.fetchone(
                "SELECT active FROM subscriptions WHERE chat_id = ? AND topic = ?",
                (chat_id, topic),
            )
            if row is not None:
                await conn.execute(
                    "UPDATE subscriptions SET time_of_day = ?, active = 1, created_at = ? "
                    "WHERE chat_id = ? AND topic = ?",
                    (time_of_day, created, chat_id, topic),
                )
                return not row["active"]
            await conn.execute(
                "INSERT INTO subscriptions (chat_id, topic, time_of_day, origin, created_by, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (chat_id, topic, time_of_day, origin, created_by, created),
            )
            return True

    async def ensure_configured_subscription(
        self, chat_id: int, topic: str, time_of_day: str, now: datetime
    ) -> bool:
        """DIGEST_CHAT_IDS at start-up: add what is missing, never undo a chat's choice."""
        async with self.db.transaction() as conn:
            added = await conn.execute(
                "INSERT INTO subscriptions (chat_id, topic, time_of_day, origin, created_at) "
                "VALUES (?, ?, ?, 'config', ?) ON CONFLICT (chat_id, topic) DO NOTHING",
                (chat_id, topic, time_of_day, to_unix(now)),
            )
            return added > 0

    async def unsubscribe(self, chat_id: int, topic: str) -> bool:
        """Turn a daily digest off; the row stays so a restart does not turn it back on."""
        async with self.db.transaction() as conn:
            changed = await conn.execute(
                "UPDATE subscriptions SET active = 0 WHERE chat_id = ? AND topic = ? "
                "AND active = 1",
                (chat_id, topic),
            )
            return changed > 0

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its subscriptions and history follow it."""
        # UPDATE OR IGNORE, spelled for both backends: a row the new chat already has
        # (the same topic, the same post) stays with the old id.
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET chat_id = ? WHERE chat_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM subscriptions n WHERE n.chat_id = ? "
                "AND n.topic = subscriptions.topic)",
                (new_chat_id, old_chat_id, new_chat_id),
            )
            await conn.execute(
                "UPDATE cited_posts SET chat_id = ? WHERE chat_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM cited_posts n WHERE n.chat_id = ? "
                "AND n.post_id = cited_posts.post_id)",
                (new_chat_id, old_chat_id, new_chat_id),
            )

    async def subscriptions(self, chat_id: int | None = None) -> list[Subscription]:
        sql = (
            "SELECT id, chat_id, topic, time_of_day, origin, last_sent_at, created_at "
            "FROM subscriptions"
        )
        sql += " WHERE active = 1"
        params: tuple[int, ...] = ()
        if chat_id is not None:
            sql += " AND chat_id = ?"
            params = (chat_id,)
        rows = await self.db.fetchall(sql + " ORDER BY chat_id, time_of_day, topic", params)
        return [
            Subscription(r["id"], r["chat_id"], r["topic"], r["time_of_day"], r["origin"],
                         from_unix(r["last_sent_at"]), from_unix(r["created_at"]))  # type: ignore[arg-type]
            for r in rows
        ]  # fmt: skip

    async def mark_subscription_sent(self, subscription_id: int, when: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET last_sent_at = ? WHERE id = ?",
                (to_unix(when), subscription_id),
            )

    async def record_digest(
        self,
        chat_id: int,
        topic: str,
        kind: str,
        since: datetime,
        until: datetime,
        summariser: str,
        items: int,
        cited_post_ids: Sequence[int],
        sent_at: datetime,
    ) -> int:
        """Remember a digest a chat received and the text of every post it cited."""
        async with self.db.transaction() as conn:
            digest_id = await conn.insert(
                # The column keeps the spelling of migration 0004 (the code says summariser).
                "INSERT INTO digests_sent (chat_id, topic, kind, since, until, summarizer, "
                "items, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (chat_id, topic, kind, to_unix(since), to_unix(until), summariser, items,
                 to_unix(sent_at)),
            )  # fmt: skip
            await conn.executemany(
                "INSERT INTO cited_posts (chat_id, post_id, digest_id, seen_text, seen_deleted) "
                f"SELECT ?, id, ?, text, {IS_DELETED} FROM posts WHERE id = ? "
                "ON CONFLICT (chat_id, post_id) DO UPDATE SET digest_id = excluded.digest_id, "
                "seen_text = excluded.seen_text, seen_deleted = excluded.seen_deleted",
                [(chat_id, digest_id, post_id) for post_id in set(cited_post_ids)],
            )
        return digest_id

    async def cited_post_ids(self, chat_id: int) -> set[int]:
        rows = await self.db.fetchall(
            "SELECT post_id FROM cited_posts WHERE chat_id = ?", (chat_id,)
        )
        return {row[0] for row in rows}

    async def cited_changes(self, chat_id: int) -> list[CitedChange]:
        """Posts this chat received whose text changed or that were deleted since."""
        rows = await self.db.fetchall(
            "SELECT c.post_id, c.seen_text, p.text, p.deleted_at IS NOT NULL AS deleted, "
            "c.seen_deleted FROM cited_posts c JOIN posts p ON p.id = c.post_id "
            "WHERE c.chat_id = ? AND ((p.deleted_at IS NOT NULL AND c.seen_deleted = 0) "
            "OR (p.deleted_at IS NULL AND p.text <> c.seen_text))",
            (chat_id,),
        )
        return [CitedChange(r["post_id"], r["seen_text"], bool(r["deleted"])) for r in rows]

    async def acknowledge_changes(self, chat_id: int, post_ids: Sequence[int]) -> None:
        """The chat has been told (or the change was too small to tell): stop reporting it."""
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE cited_posts SET seen_text = (SELECT text FROM posts WHERE id = ?), "
                f"seen_deleted = (SELECT {IS_DELETED} FROM posts WHERE id = ?) "
                "WHERE chat_id = ? AND post_id = ?",
                [(pid, pid, chat_id, pid) for pid in post_ids],
            )

    # ----- "More" pages ---------------------------------------------------------------

    async def add_digest_page(
        self, chat_id: int, topic: str, query: str | None, since: datetime, until: datetime,
        shown: int, page_size: int, exclude_seen: bool, now: datetime,
    ) -> int:  # fmt: skip
        """Remember the next page of a digest; its id goes into the button."""
        async with self.db.transaction() as conn:
            return await conn.insert(
                "INSERT INTO digest_pages (chat_id, topic, query, since, until, shown, "
                "page_size, exclude_seen, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (chat_id, topic, query, to_unix(since), to_unix(until), shown, page_size,
                 int(exclude_seen), to_unix(now)),
            )  # fmt: skip

    async def take_digest_page(
        self, page_id: int, chat_id: int, now: datetime
    ) -> DigestPage | None:
        """The page behind a pressed button, once: None if it is unknown, of another chat,
        or already taken (a double press)."""
        async with self.db.transaction() as conn:
            taken = await conn.execute(
                "UPDATE digest_pages SET used_at = ? WHERE id = ? AND chat_id = ? "
                "AND used_at IS NULL",
                (to_unix(now), page_id, chat_id),
            )
            if taken == 0:
                return None
            r = await conn.fetchone(
                "SELECT id, chat_id, topic, query, since, until, shown, page_size, "
                "exclude_seen, created_at FROM digest_pages WHERE id = ?",
                (page_id,),
            )
        assert r is not None
        return DigestPage(
            r["id"], r["chat_id"], r["topic"], r["query"], from_unix(r["since"]),  # type: ignore[arg-type]
            from_unix(r["until"]), r["shown"], r["page_size"], bool(r["exclude_seen"]),  # type: ignore[arg-type]
            from_unix(r["created_at"]),  # type: ignore[arg-type]
        )  # fmt: skip

    async def release_digest_page(self, page_id: int) -> None:
        """The page could not be delivered: its button may be pressed again."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE digest_pages SET used_at = NULL WHERE id = ?", (page_id,))

    async def prune_digest_pages(self, before: datetime) -> int:
        """Forget pages made before `before`: their buttons then say they expired."""
        async with self.db.transaction() as conn:
            return await conn.execute(
                "DELETE FROM digest_pages WHERE created_at < ?", (to_unix(before),)
            )
