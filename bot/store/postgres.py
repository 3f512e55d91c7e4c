"""The PostgreSQL backend: the same store on a server that several workers share.

psycopg 3 (not asyncpg): its DB-API shape (`%s` parameters, `rowcount`, `executemany`)
matches what the mixins already do with aiosqlite, so they keep one spelling of their
SQL with `?`; libpq reads every form of `postgresql://` URL, service file and `PG*`
variable an operator already uses (TLS modes, .pgpass); it has a synchronous API too, and
COPY for `wirebrief migrate`; and it prepares statements only when told to, so it also
works behind a transaction-pooling pgbouncer.

Writes take one transaction-scoped advisory lock, the guarantee SQLite's BEGIN IMMEDIATE
gives: one writer at a time across every process, so the mixins' read-then-write logic
(channel resolution, edits, leases) holds unchanged. Reads run concurrently.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import BaseRowFactory
from psycopg_pool import AsyncConnectionPool

from bot.errors import StoreError
from bot.store.base import Backend, Conn, Params, Row, check_migrations, migrations
from bot.store.fts import to_tsvector

log = logging.getLogger(__name__)

WRITE_LOCK = 0x77697265  # "wire": the advisory lock every write transaction holds
MIGRATE_LOCK = 0x6D696772  # "migr": held while one process migrates
POOL_SIZE = 4
CONNECT_TIMEOUT = 30.0


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@functools.lru_cache(maxsize=512)
def placeholders(sql: str) -> str:
    """`?` → `%s` (outside quoted strings), and a literal `%` doubled for psycopg."""
    out: list[str] = []
    for i, part in enumerate(re.split(r"('(?:[^']|'')*')", sql)):
        part = part.replace("%", "%%")
        out.append(part if i % 2 else part.replace("?", "%s"))
    return "".join(out)


class PgRow(tuple[Any, ...]):
    """A row by position or by column name, like sqlite3.Row."""

    __slots__ = ()
    _names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def pg_row(cursor: Any) -> Any:
    """psycopg row factory making `PgRow`s (one subclass per result shape)."""
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    row_type = type("PgRow", (PgRow,), {"__slots__": (), "_names": names})

    def make(values: Sequence[Any]) -> PgRow:
        row: PgRow = row_type(values)
        return row

    return make


_ROW_FACTORY: BaseRowFactory[Any] = pg_row


class _PgConn(Conn):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> Sequence[Row]:
        cur = await self.conn.execute(placeholders(sql), params)
        return await cur.fetchall()

    async def execute(self, sql: str, params: Params = ()) -> int:
        cur = await self.conn.execute(placeholders(sql), params)
        return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.conn.cursor() as cur:
            await cur.executemany(placeholders(sql), list(rows))

    async def insert(self, sql: str, params: Params = ()) -> int:
        cur = await self.conn.execute(placeholders(sql) + " RETURNING id", params)
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def index_texts(self, channel_id: int, texts: Sequence[tuple[int, str]]) -> None:
        """The text index follows inserts and edits (FTS5's triggers do this in SQLite)."""
        if not texts:
            return
        # One statement for the batch (arrays), not one per post.
        await self.execute(
            "INSERT INTO post_search (post_id, tokens) "
            "SELECT p.id, t.tokens FROM unnest(CAST(? AS bigint[]), CAST(? AS tsvector[])) "
            "AS t (message_id, tokens) JOIN posts p ON p.message_id = t.message_id "
            "AND p.channel_id = ? "
            "ON CONFLICT (post_id) DO UPDATE SET tokens = excluded.tokens",
            (
                [message_id for message_id, _ in texts],
                [to_tsvector(text) for _, text in texts],
                channel_id,
            ),
        )


class PostgresDatabase(Backend):
    """A pool of psycopg connections to one PostgreSQL database."""

    kind = "postgresql"

    def __init__(self, url: str, pool: AsyncConnectionPool[Any]) -> None:
        self.url = url
        self.pool = pool

    @property
    def location(self) -> str:
        return redact_url(self.url)

    @classmethod
    async def open(
        cls, url: str, create: bool = True, pool_size: int = POOL_SIZE
    ) -> PostgresDatabase:
        """Connect and migrate. `create` is accepted for the same signature as SQLite: a
        server database is made by its operator, so a missing one is always an error."""
        check_migrations()
        try:  # once directly: a wrong URL fails now, with the server's own words
            probe = await psycopg.AsyncConnection.connect(url, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {redact_url(url)}: {_reason(exc)}") from None
        await probe.close()
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "row_factory": _ROW_FACTORY, "prepare_threshold": None},
            open=False,
            timeout=CONNECT_TIMEOUT,
            name="wirebrief",
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except Exception as exc:  # psycopg_pool.PoolTimeout carries the last error
            await pool.close()
            raise StoreError(f"cannot connect to {redact_url(url)}: {_reason(exc)}") from None
        db = cls(url, pool)
        try:
            await db._migrate()
        except psycopg.Error as exc:
            await pool.close()
            raise StoreError(f"cannot use database {redact_url(url)}: {_reason(exc)}") from None
        return db

    async def close(self) -> None:
        await self.pool.close()

    async def fetchall(self, sql: str, params: Params = ()) -> Sequence[Row]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(placeholders(sql), params)
            return await cur.fetchall()  # type: ignore[no-any-return]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield _PgConn(conn)

    async def schema_version(self) -> int:
        async with self.pool.connection() as conn:
            return await _version(conn)

    async def _migrate(self) -> None:
        """Each migration in its own transaction (PostgreSQL's DDL is transactional), one
        process at a time: two workers starting together apply each migration once."""
        async with self.pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS wirebrief_schema (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                current = await _version(conn)
                for version, name, sql in migrations("postgresql"):
                    if version <= current:
                        continue
                    log.info("applying migration %s (PostgreSQL)", name)
                    async with conn.transaction():
                        await conn.execute(sql.encode())  # a script: several statements
                        await conn.execute(
                            "INSERT INTO wirebrief_schema (version, name) VALUES (%s, %s)",
                            (version, name),
                        )
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))


async def _version(conn: psycopg.AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT to_regclass('wirebrief_schema') IS NOT NULL")
    row = await cur.fetchone()
    if not row or not row[0]:
        return 0
    cur = await conn.execute("SELECT coalesce(max(version), 0) FROM wirebrief_schema")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


def _reason(exc: BaseException) -> str:
    """psycopg's message, first line; a pool timeout says what the last attempt met."""
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or type(exc).__name__
    if cause is not None and "couldn't get a connection" in text.lower():
        text = str(cause) or text
    return " ".join(text.split())[:300]
