"""Online backups with SQLite's backup API: a consistent copy while the bot writes."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import StoreError

PAGES_PER_STEP = 4096


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    posts: int
    bytes: int


def backup_target(dest: Path, now: datetime | None = None, folder: bool = False) -> Path:
    """A folder gets a time-stamped file name; a file path is used as it is.

    `folder`: the path was written as a folder (`backups/`), so it is one even before it
    exists; pathlib drops the trailing slash that says so.
    """
    if folder or dest.is_dir():
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        return dest / f"wirebrief-{stamp}.db"
    return dest


def backup_database(source: Path, dest: Path, folder: bool = False) -> BackupResult:
    """Copy `source` to `dest` consistently, verify the copy, then move it into place.

    Blocking (run it in a thread from async code). The copy is written next to `dest`
    and renamed only after `integrity_check` passes, so `dest` is never half-written.
    """
    if not source.is_file():
        raise StoreError(f"no database at {source}")
    target = backup_target(dest, folder=folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                # Steps of pages let writers in between; SQLite restarts the copy if the
                # source changes mid-way, so the result is one consistent snapshot.
                src.backup(dst, pages=PAGES_PER_STEP)
                dst.execute("PRAGMA journal_mode = DELETE")
                check = dst.execute("PRAGMA integrity_check").fetchone()[0]
                if check != "ok":
                    raise StoreError(f"the backup copy failed its integrity check: {check}")
                posts = dst.execute("SELECT count(*) FROM posts").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"backup of {source} failed: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    return BackupResult(target, int(posts), target.stat().st_size)
