"""Importing history files into the store, in batches that each commit on their own.

A kill at any moment loses at most the batch in flight, and running the import again
completes it: upserts are idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.errors import ImportFormatError
from bot.ingest.imports import ImportItem, Rejected, Skipped, find_import_files, read_import_file
from bot.models import MAX_POST_TEXT_CHARS, IncomingPost, capped_text
from bot.store import Store, UpsertResult

BATCH_SIZE = 2000


@dataclass(slots=True)
class ImportReport:
    """Totals of an import, for the summary line and the exit status."""

    files: int = 0
    counts: UpsertResult = field(default_factory=UpsertResult)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    cut: int = 0
    """Posts whose text was longer than MAX_POST_TEXT_CHARS and was stored cut."""

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        c = self.counts
        return (
            f"{self.files} file(s): imported {c.inserted}, updated {c.updated} "
            f"({c.edited} edited), unchanged {c.unchanged}, rejected {len(self.rejected)}"
            + (
                f", skipped {len(self.skipped)} chat(s) that are not channels"
                if self.skipped
                else ""
            )
            + (
                f", {self.cut} post text(s) cut to {MAX_POST_TEXT_CHARS:,} characters"
                if self.cut
                else ""
            )
        )


Progress = Callable[[Path, int], None]
"""Called with the current file and the number of records read from it so far."""


async def import_paths(
    store: Store, paths: list[Path], progress: Progress | None = None, username: str | None = None
) -> ImportReport:
    """Import files and folders. `username` names the channel of a one-channel export that
    does not say it (Desktop exports give only the numeric id), so its posts and the same
    channel's web preview posts are one channel, not two."""
    report = ImportReport()
    for path in find_import_files(paths):
        report.files += 1
        await _import_file(store, path, report, progress, username)
    return report


def _with_username(items: Iterator[ImportItem], path: Path, username: str) -> Iterator[ImportItem]:
    peer_ids: set[int | None] = set()
    for item in items:
        if isinstance(item, IncomingPost) and item.channel.username is None:
            peer_ids.add(item.channel.peer_id)
            if len(peer_ids) > 1:
                raise ImportFormatError(
                    f"{path}: --username names one channel, but this file holds several"
                )
            item = replace(item, channel=replace(item.channel, username=username))
        yield item


async def _import_file(
    store: Store,
    path: Path,
    report: ImportReport,
    progress: Progress | None,
    username: str | None = None,
) -> None:
    items = read_import_file(path)
    if username:
        items = _with_username(items, path, username)
    seen = 0
    while True:
        # Parsing is CPU work on plain Python objects: keep it off the event loop.
        chunk = await asyncio.to_thread(_next_chunk, items, BATCH_SIZE)
        if not chunk:
            break
        batch: list[IncomingPost] = []
        for item in chunk:
            if isinstance(item, IncomingPost):
                if len(item.text) > MAX_POST_TEXT_CHARS:
                    item = replace(item, text=capped_text(item.text))
                    report.cut += 1
                batch.append(item)
            elif isinstance(item, Rejected):
                report.rejected.append(item)
            else:
                report.skipped.append(item)
        if batch:
            report.counts += await store.upsert_posts(batch)
        seen += len(chunk)
        if progress:
            progress(path, seen)


def _next_chunk(items: Iterator[ImportItem], size: int) -> list[ImportItem]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            break
    return chunk
