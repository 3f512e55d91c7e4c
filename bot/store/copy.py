"""`wirebrief migrate --to postgresql://…`: copy a SQLite database into PostgreSQL.

Table by table in the order their references need, each in batches of rows in SQLite's
rowid order, written with COPY. A batch and the note of how far its table has come commit
in one PostgreSQL transaction, so a killed copy loses at most the batch in flight and the
next run goes on from the last committed one: nothing is copied twice, nothing is skipped.
The note (table `wirebrief_copy`) exists only while a copy is unfinished; the last step
sets the id sequences past the copied ids, checks the counts and drops it.

The text index of PostgreSQL (`post_search`) is made from each batch of posts as it is
copied; leases are not copied (they belong to the running processes of the old install).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.store.base import Database
from bot.store.fts import to_tsvector

log = logging.getLogger(__name__)

ORDER = (
    "channels", "posts", "post_edits", "post_embeddings", "sources", "subscriptions",
    "digests_sent", "cited_posts", "digest_pages", "llm_cache", "llm_usage",
)  # fmt: skip
"""Referenced tables before the tables that reference them; a table added by a later
migration and not named here is copied after these, in the order SQLite created them."""
NOT_COPIED = frozenset({"leases"})
CLEARED = {"sources": ("leased_by", "lease_until")}
"""Columns copied as NULL: a lease of the old install's process means nothing here."""
BATCH_ROWS = 5_000
PROGRESS_TABLE = "wirebrief_copy"

Progress = Callable[[str, int, int], None]
"""Called after each batch: (table, rows copied in all so far, rows to copy in all)."""


@dataclass
class CopyReport:
    copied: dict[str, int] = field(default_factory=dict)
    """Rows per table now in PostgreSQL (copied in this run or an earlier, resumed one)."""
    resumed: bool = False

    @property
    def total(self) -> int:
        return sum(self.copied.values())

    def summary(self) -> str:
        posts = self.copied.get("posts", 0)
        start = "Resumed and finished" if self.resumed else "Copied"
        tables = sum(1 for n in self.copied.values() if n)
        return f"{start}: {posts} posts, {self.total} rows in {tables} tables."


async def copy_to_postgres(
    source: Path,
    url: str,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> CopyReport:
    """Copy the SQLite database at `source` into the PostgreSQL database at `url`, which
    must be empty (migrated or not) or hold an unfinished copy of the same file."""
    from bot.store.postgres import PostgresDatabase

    lite = await Database.open(source, create=False)
    try:
        pg = await PostgresDatabase.open(url)
        try:
            where = str(await asyncio.to_thread(Path(source).resolve))
            return await _copy(lite, pg, where, progress, batch_rows)
        finally:
            await pg.close()
    finally:
        await lite.close()


async def _copy(
    lite: Database, pg: Any, source: str, progress: Progress | None, batch_rows: int
) -> CopyReport:
    tables = await _tables(lite)
    done = await _start(pg, source, tables)
    report = CopyReport(resumed=bool(done))
    totals = {t: await _count(lite, t) for t in tables}
    total = sum(totals.values())
    copied_so_far = sum(min(done.get(t, (0, 0))[1], totals[t]) for t in tables)
    if progress:
        progress("", copied_so_far, total)
    for table in tables:
        columns = await _columns(lite, pg, table)
        last_rowid, rows_done = done.get(table, (0, 0))
        select = ", ".join(
            "NULL" if c in CLEARED.get(table, ()) else f'"{c}"' for c in columns
        )  # fmt: skip
        while True:
            rows = await lite.fetchall(
                f'SELECT rowid, {select} FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?',
                (last_rowid, batch_rows),
            )
            if not rows:
                break
            values: list[tuple[Any, ...]] = [tuple(row)[1:] for row in rows]  # type: ignore[arg-type]
            last_rowid = int(rows[-1][0])
            rows_done += len(rows)
            async with pg.transaction() as conn:
                await _write(conn.conn, table, columns, values)
                await conn.execute(
                    f"UPDATE {PROGRESS_TABLE} SET last_rowid = ?, rows_done = ? "
                    "WHERE table_name = ?",
                    (last_rowid, rows_done, table),
                )
            copied_so_far += len(rows)
            if progress:
                progress(table, copied_so_far, total)
        report.copied[table] = rows_done
    await _finish(lite, pg, tables)
    return report


async def _tables(lite: Database) -> list[str]:
    """The tables to copy, in order: not SQLite's own, not the FTS5 index and its shadow
    tables (PostgreSQL keeps its own index), not the leases."""
    rows = await lite.fetchall(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
    )
    virtual = [str(r[0]) for r in rows if str(r[1] or "").upper().startswith("CREATE VIRTUAL")]
    names = [
        str(r[0])
        for r in rows
        if not str(r[0]).startswith("sqlite_")
        and str(r[0]) not in virtual
        and not any(str(r[0]).startswith(v + "_") for v in virtual)
        and str(r[0]) not in NOT_COPIED
    ]
    return [t for t in ORDER if t in names] + [t for t in names if t not in ORDER]


async def _columns(lite: Database, pg: Any, table: str) -> list[str]:
    mine = [str(r[1]) for r in await lite.fetchall(f'PRAGMA table_info("{table}")')]
    theirs = {
        str(r[0])
        for r in await pg.fetchall(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
    }
    missing = [c for c in mine if c not in theirs]
    if not theirs or missing:
        raise StoreError(
            f"PostgreSQL has no {'table' if not theirs else 'columns ' + ', '.join(missing)} "
            f"for SQLite's {table}: are both at the same wirebrief version?"
        )
    return mine


async def _count(lite: Database, table: str) -> int:
    row = await lite.fetchone(f'SELECT count(*) FROM "{table}"')
    return int(row[0]) if row else 0


async def _start(pg: Any, source: str, tables: list[str]) -> dict[str, tuple[int, int]]:
    """The progress of an unfinished copy of `source` (table → last rowid, rows), or {}
    for a new copy into an empty database; anything else is refused before a row moves."""
    async with pg.transaction() as conn:
        exists = await conn.fetchone("SELECT to_regclass(?) IS NOT NULL", (PROGRESS_TABLE,))
        if exists and exists[0]:
            rows = await conn.fetchall(
                f"SELECT table_name, source, last_rowid, rows_done FROM {PROGRESS_TABLE}"
            )
            sources = {str(r[1]) for r in rows}
            if sources and sources != {source}:
                raise StoreError(
                    f"{pg.location} holds an unfinished copy of {', '.join(sorted(sources))}, "
                    f"not of {source}: finish that one, or start over on an empty database"
                )
            found = {str(r[0]): (int(r[2]), int(r[3])) for r in rows}
            for table in tables:
                if table not in found:
                    await conn.execute(
                        f"INSERT INTO {PROGRESS_TABLE} (table_name, source) VALUES (?, ?)",
                        (table, source),
                    )
            log.info("resuming the copy of %s into %s", source, pg.location)
            return found
        for table in ("channels", "posts", "sources", "subscriptions", "digests_sent"):
            row = await conn.fetchone(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if row and row[0]:
                raise StoreError(
                    f"{pg.location} already holds data ({table}): migrate copies into an "
                    "empty database (create a new one, or drop and recreate this one)"
                )
        await conn.execute(
            f"CREATE TABLE {PROGRESS_TABLE} (table_name TEXT PRIMARY KEY, source TEXT NOT NULL, "
            "last_rowid BIGINT NOT NULL DEFAULT 0, rows_done BIGINT NOT NULL DEFAULT 0)"
        )
        await conn.executemany(
            f"INSERT INTO {PROGRESS_TABLE} (table_name, source) VALUES (?, ?)",
            [(table, source) for table in tables],
        )
    return {}


async def _write(conn: Any, table: str, columns: list[str], values: list[tuple[Any, ...]]) -> None:
    """COPY a batch in; posts also get their text index rows."""
    names = ", ".join(f'"{c}"' for c in columns)
    async with conn.cursor() as cur:
        async with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in values:
                await copy.write_row(row)
        if table == "posts":
            id_at, text_at = columns.index("id"), columns.index("text")
            async with cur.copy("COPY post_search (post_id, tokens) FROM STDIN") as copy:
                for row in values:
                    await copy.write_row((row[id_at], to_tsvector(row[text_at])))


async def _finish(lite: Database, pg: Any, tables: list[str]) -> None:
    """Sequences past the copied ids (new rows must not take an old id), counts checked,
    and the progress note dropped: the database is an ordinary wirebrief database now."""
    async with pg.transaction() as conn:
        for table in tables:
            row = await conn.fetchone(f'SELECT count(*) FROM "{table}"')
            theirs, mine = int(row[0]) if row else 0, await _count(lite, table)
            if theirs != mine:
                raise StoreError(
                    f"after the copy PostgreSQL's {table} has {theirs} rows and SQLite's "
                    f"{mine}: was the bot still writing to the SQLite file? Stop it, drop "
                    "and recreate the PostgreSQL database, and migrate again"
                )
            sequence = await conn.fetchone(
                "SELECT pg_get_serial_sequence(quote_ident(table_name::text), column_name::text) "
                "FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = ? AND column_name = 'id'",
                (table,),
            )
            if sequence and sequence[0]:
                await conn.execute(
                    f'SELECT setval(?, (SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)',
                    (str(sequence[0]),),
                )
        await conn.execute(f"DROP TABLE {PROGRESS_TABLE}")
    # Statistics for the planner now, not at autovacuum's next round: without them it
    # scans every post for a search that the text index answers at once.
    async with pg.transaction() as conn:
        await conn.execute("ANALYZE")
