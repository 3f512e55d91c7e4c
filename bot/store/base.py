"""The database connection: opening, pragmas, migrations and write transactions.

`Backend` is what the store's mixins speak to: a few query methods with `?` placeholders
and a write `transaction()`. `Database` is the SQLite one (one file, aiosqlite); the
PostgreSQL one is `bot.store.postgres.PostgresDatabase`. Business logic stays in the
mixins, once; a backend only runs SQL (and keeps the text index where triggers cannot).
"""

from __future__ import annotations

import abc
import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from bot.errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000


def is_postgres_url(target: object) -> bool:
    """`DATABASE_URL=postgresql://…` (or postgres://) selects the PostgreSQL store."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def to_unix(value: datetime) -> int:
    """Store times as unix seconds; naive datetimes are refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: wirebrief keeps every time in UTC")
    return int(value.timestamp())


def stamp(now: datetime | None) -> int:
    """The time a write records: the caller's clock (the poller's, the bot's, a test's),
    or the wall clock for a caller that has none (a one-off script)."""
    return to_unix(now) if now is not None else int(time.time())


def from_unix(value: int | None) -> datetime | None:
    """A stored time; one outside datetime's years (a row written by hand or by an older
    version) reads as the first or last representable moment instead of failing the read."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.min.replace(tzinfo=UTC) if value < 0 else datetime.max.replace(tzinfo=UTC)


def migrations(dialect: str = "sqlite") -> list[tuple[int, str, str]]:
    """(version, name, sql) for every file in migrations/ (SQLite), or in
    migrations/postgresql/ for `dialect` "postgresql", in order.

    The SQLite files are the list of versions; PostgreSQL has one file of the same name
    for each (`check_migrations` holds them to that).
    """
    folder = resources.files("bot.store") / "migrations"
    if dialect == "postgresql":
        folder = folder / "postgresql"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def check_migrations() -> None:
    """Both backends have the same versions under the same names (one list of versions)."""
    sqlite = [(v, n) for v, n, _ in migrations("sqlite")]
    postgres = [(v, n) for v, n, _ in migrations("postgresql")]
    if sqlite != postgres:
        raise StoreError(f"migrations differ between SQLite {sqlite} and PostgreSQL {postgres}")


class Row(Protocol):
    """A result row: by column name or by position (sqlite3.Row, or the PostgreSQL row)."""

    def __getitem__(self, key: int | str, /) -> Any: ...


Params = Sequence[Any]


class Conn(abc.ABC):
    """Statements inside a write transaction (`Backend.transaction()`)."""

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> Sequence[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""

    @abc.abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abc.abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int:
        """An INSERT of one row into a table with an `id` column; the new row's id."""

    @abc.abstractmethod
    async def index_texts(self, channel_id: int, texts: Sequence[tuple[int, str]]) -> None:
        """Bring the text index up to date for (message id, text) of a channel's posts that
        were just inserted or edited."""


class Backend(abc.ABC):
    """One database: reads outside a transaction, writes inside `transaction()`."""

    kind: str
    """"sqlite" or "postgresql": for the few statements the two spell differently."""

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> Sequence[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Conn]:
        """BEGIN … COMMIT, rolled back on any exception; one writer at a time."""

    @abc.abstractmethod
    async def schema_version(self) -> int: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the data is, for messages: a path, or a URL without its password."""


class _SQLiteConn(Conn):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> Sequence[Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        cur = await self.conn.execute(sql, params)
        return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self.conn.executemany(sql, rows)

    async def insert(self, sql: str, params: Params = ()) -> int:
        cur = await self.conn.execute(sql, params)
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def index_texts(self, channel_id: int, texts: Sequence[tuple[int, str]]) -> None:
        """Nothing to do: SQLite's triggers keep the FTS5 index (migration 0001)."""


class Database(Backend):
    """SQLite: one aiosqlite connection in autocommit mode; writes go through `transaction()`.

    A single connection is shared by the bot, the poller and the scheduler. aiosqlite runs
    its statements one at a time on its own thread, and the write lock keeps one coroutine's
    transaction from interleaving with another's.
    """

    kind = "sqlite"

    def __init__(self, path: Path, conn: aiosqlite.Connection) -> None:
        self.path = path
        self.conn = conn
        self._write_lock = asyncio.Lock()
        self._tx = _SQLiteConn(conn)

    @property
    def location(self) -> str:
        return str(self.path)

    async def fetchall(self, sql: str, params: Params = ()) -> Sequence[Row]:
        # execute_fetchall: one trip to aiosqlite's thread for the statement and its rows.
        return list(await self.conn.execute_fetchall(sql, params))

    @classmethod
    async def open(cls, path: Path | str, create: bool = True) -> Database:
        """Open (and migrate) the database at `path`.

        `create=False` is for commands that only read: a mistyped path must be an error,
        not a new empty database that then looks healthy.
        """
        path = Path(path)
        if str(path) != ":memory:":
            if path.is_dir():
                raise StoreError(f"{path} is a folder, not a database file (--db, DATABASE_PATH)")
            if not create and not path.is_file():
                raise StoreError(
                    f"no database at {path}: check --db or DATABASE_PATH "
                    "(`wirebrief import` or `wirebrief run` creates one)"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        pending = aiosqlite.connect(str(path), isolation_level=None)
        try:
            conn = await pending
        except sqlite3.Error as exc:
            # aiosqlite stops its worker thread without waiting; wait here, while the loop
            # still runs, or the thread reports to a closed loop ("Event loop is closed").
            worker = getattr(pending, "_thread", None)
            if worker is not None:
                await asyncio.to_thread(worker.join, 5)
            raise StoreError(f"cannot open database {path}: {exc}") from None
        conn.row_factory = aiosqlite.Row
        db = cls(path, conn)
        try:
            await db._configure()
            await db._migrate()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(f"cannot use database {path}: {exc}") from None
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def _configure(self) -> None:
        await self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await self.conn.execute("PRAGMA journal_mode = WAL")
        await self.conn.execute("PRAGMA synchronous = NORMAL")
        await self.conn.execute("PRAGMA foreign_keys = ON")

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        current = await self.schema_version()
        for version, name, sql in migrations():
            if version <= current:
                continue
            log.info("applying migration %s", name)
            # One transaction per migration: a kill mid-way leaves the previous version.
            async with self.transaction() as conn:
                # executescript would commit first; run the statements one by one instead.
                for statement in split_sql(sql):
                    await conn.execute(statement)
                await self.conn.execute(f"PRAGMA user_version = {version}")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (or cancellation)."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._tx
            except BaseException:
                # SQLite has already rolled back after some errors (a full disk): then a
                # second ROLLBACK would fail and hide the real error.
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")


def split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
