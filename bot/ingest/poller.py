"""Keeping public channels current through their web preview pages (t.me/s/<name>).

The first poll of a channel backfills its recent history, paging back with `?before=`;
later polls re-read the newest page (to catch edits and deletions) and page back only as
far as the cursor. Every page is stored as soon as it is read, and the cursor moves only
when a poll completes, so a kill at any moment loses nothing and a restart re-reads at
most one poll's pages (upserts are idempotent: nothing is stored twice).

Politeness: one shared HTTP client, a concurrency limit, a minimum pause between
requests to the same host, timeouts, and backoff (the shared retry policy) on errors and
on the empty "No posts found" answer that too-fast polling gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit

import httpx

from bot.errors import WirebriefError
from bot.ingest.webpreview import PreviewPage, parse_preview_page
from bot.models import IncomingPost, Source
from bot.retry import RetryPolicy, retry_after_seconds, retrying
from bot.store import Store

log = logging.getLogger(__name__)

MAX_PAGES_PER_POLL = 60
UNAVAILABLE_RETRY = timedelta(hours=12)
MAX_ERROR_BACKOFF = timedelta(hours=6)
REQUEST_DEADLINE = 30.0
"""Seconds one request may take in all, headers and body: httpx's timeouts are per read, so
a server sending a byte every few seconds would otherwise hold a poll forever."""
MAX_PAGE_BYTES = 4 * 1024 * 1024
"""A preview page is about 150 KB; a body (decompressed) larger than this is not one."""
READ_LIMIT = 64 * 1024
CLAIM_BATCH = 8
"""Sources one leasing worker holds at once: twice the fetcher's concurrency keeps it busy
(its pace to t.me is the limit) and leaves the rest to the other workers."""


class TransientFetchError(WirebriefError):
    """Worth retrying: a 5xx, a 429, a timeout, or the empty "No posts found" page."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChannelUnavailable(WirebriefError):
    """The channel has no public preview, or does not exist: poll it rarely."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class BadPage(WirebriefError):
    """An answer that is not a preview page we will read: too large, or sent from elsewhere."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """One answer, its body read within the size cap and the deadline."""

    status: int
    location: str | None
    retry_after: float | None
    text: str


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientFetchError | httpx.TransportError)


class HostPacer:
    """At most one request start per `interval` seconds to one host."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    async def wait(self, host: str) -> None:
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            due = self._last.get(host, 0.0) + self.interval
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last[host] = time.monotonic()


class PreviewFetcher:
    """Fetches and parses preview pages; turns every way t.me can fail into our errors."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        pacing: float = 1.0,
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        deadline: float = REQUEST_DEADLINE,
        max_bytes: int = MAX_PAGE_BYTES,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.origin = _origin(self.base_url)
        self.pacer = HostPacer(pacing)
        self.limit = asyncio.Semaphore(concurrency)
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self.max_bytes = max_bytes

    async def page(self, username: str, before: int | None = None) -> PreviewPage:
        """One preview page, newest when `before` is None; retried while transient."""
        what = f"@{username}" + (f" before {before}" if before else "")
        async for attempt in retrying(self.retry, _is_transient, f"fetching {what}"):
            with attempt:
                return await self._page_once(username, before)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get(self, url: str, params: dict[str, int] | None = None) -> Fetched:
        """One GET within the deadline, its body read (and un-gzipped) within the size cap."""
        host = urlsplit(url).netloc
        async with self.limit:
            await self.pacer.wait(host)
            try:
                async with asyncio.timeout(self.deadline):
                    return await self._fetch(url, params)
            except TimeoutError:
                raise TransientFetchError(
                    f"t.me did not send the page within {self.deadline:g} s"
                ) from None

    async def _fetch(self, url: str, params: dict[str, int] | None) -> Fetched:
        # Only gzip is asked for, and decompressed here with a bound on the output, so a
        # small body that inflates to gigabytes is stopped at the cap, not in memory.
        headers = {"Accept-Encoding": "gzip"}
        async with self.client.stream("GET", url, params=params, headers=headers) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_large(url)
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("identity", "gzip", ""):
                raise BadPage(f"t.me sent the page as {encoding[:20]!r}, which is not read")
            body = bytearray()
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
            async for raw in response.aiter_raw(READ_LIMIT):
                if inflate is None:
                    body += raw
                else:
                    data = raw
                    while data and len(body) <= self.max_bytes:
                        body += inflate.decompress(data, self.max_bytes + 1 - len(body))
                        data = inflate.unconsumed_tail
                if len(body) > self.max_bytes:
                    raise self._too_large(url)
            text = bytes(body).decode(response.encoding or "utf-8", errors="replace")
            return Fetched(
                response.status_code,
                response.headers.get("location"),
                retry_after_seconds(response.headers),
                text,
            )

    def _too_large(self, url: str) -> BadPage:
        what = urlsplit(url).path or url
        return BadPage(f"the page {what} is larger than {self.max_bytes // 2**20} MB; not read")

    async def _page_once(self, username: str, before: int | None) -> PreviewPage:
        url = f"{self.base_url}/s/{username}"
        response = await self._get(url, {"before": before} if before else None)
        if response.status in (301, 302, 303, 307, 308):
            await self._explain_redirect(username, urljoin(url, response.location or ""))
        if response.status == 404:
            raise ChannelUnavailable("not_found", f"@{username} does not exist (404)")
        if response.status == 429 or response.status >= 500:
            raise TransientFetchError(f"t.me answered {response.status}", response.retry_after)
        if response.status != 200:
            raise ChannelUnavailable("error", f"t.me answered {response.status} for @{username}")
        # Parsing is CPU work (a hostile page of deeply nested tags is a lot of it): keep it
        # off the event loop, so the bot keeps answering meanwhile.
        page = await asyncio.to_thread(parse_preview_page, response.text, f"@{username}")
        if page.no_posts:
            raise TransientFetchError(f"t.me showed 'No posts found' for @{username}")
        if not page.is_preview and page.problems:
            raise BadPage(page.problems[0])  # refused, e.g. nested too deep to parse
        if not page.is_preview:
            raise ChannelUnavailable("not_found", f"@{username}: t.me did not show a preview page")
        return only_channel(page, username)

    async def _explain_redirect(self, username: str, location: str) -> None:
        """t.me redirects /s/<name> to /<name> when there is no preview to show. A redirect
        anywhere but t.me itself is not followed: it could point at an internal address."""
        target = _origin(location)
        if target != self.origin:
            shown = urlsplit(location).netloc[:60] or location[:60]
            raise BadPage(f"t.me redirected @{username} to another host ({shown}); not followed")
        landing = await self._get(location)
        page = await asyncio.to_thread(parse_preview_page, landing.text, f"@{username} landing")
        if landing.status == 200 and page.title:
            raise ChannelUnavailable(
                "no_preview", f"@{username} exists but has no public web preview"
            )
        raise ChannelUnavailable("not_found", f"@{username} is not a public channel")


def only_channel(page: PreviewPage, username: str) -> PreviewPage:
    """The page's posts of the channel asked for: a page served for one channel that carries
    posts of another (`data-post="other/5"`) must not write into the other's history."""
    wanted = username.lower()
    kept = [p for p in page.posts if (p.channel.username or "").lower() == wanted]
    foreign = len(page.posts) - len(kept)
    problems = list(page.problems)
    if foreign:
        problems.append(f"@{username}: {foreign} post(s) of other channels on its page; skipped")
        log.warning("@%s: page carried %d post(s) of other channels; skipped", username, foreign)
    return replace(page, posts=kept, channel=username, problems=problems)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


@dataclass(slots=True)
class PollOutcome:
    """What one poll of one source did, for logs, `ingest --once` and health."""

    source: str
    status: str
    new_posts: int = 0
    edited: int = 0
    deleted: int = 0
    pages: int = 0
    error: str | None = None
    next_poll_at: datetime | None = None
    channel_id: int | None = None
    """The source's channel row, as the store named it when posts were stored."""

    def line(self) -> str:
        if self.error:
            return f"{self.source}: {self.status}: {self.error}"
        parts = [f"{self.new_posts} new"]
        if self.edited:
            parts.append(f"{self.edited} edited")
        if self.deleted:
            parts.append(f"{self.deleted} deleted")
        return f"{self.source}: ok, {', '.join(parts)} ({self.pages} page(s))"


class Poller:
    """Polls due sources and records their health in the store."""

    def __init__(
        self,
        store: Store,
        fetcher: PreviewFetcher,
        interval: timedelta = timedelta(minutes=5),
        backfill: int = 100,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        worker: str | None = None,
        lease: timedelta | None = None,
        claim_batch: int = CLAIM_BATCH,
        max_pages: int = MAX_PAGES_PER_POLL,
    ) -> None:
        self.store = store
        self.max_pages = max_pages
        """Pages one poll reads at most; a longer backlog is resumed by the next polls."""
        self.fetcher = fetcher
        self.interval = interval
        self.backfill = backfill
        self.clock = clock
        self.worker = worker
        """With `lease`: this worker's name in the sources' leases. Several pollers then
        share one database, each source polled by one of them at a time."""
        self.lease = lease
        self.claim_batch = claim_batch
        self._held: dict[int, float] = {}

    async def poll_once(self, sources: list[Source] | None = None) -> list[PollOutcome]:
        """Poll the given sources (default: every enabled web source) concurrently."""
        if sources is None:
            sources = [s for s in await self.store.sources() if s.kind == "web"]
        return list(await asyncio.gather(*(self._poll_safely(s) for s in sources)))

    async def _poll_safely(self, source: Source) -> PollOutcome:
        """One source's poll; whatever goes wrong is this source's outcome, not the others'."""
        try:
            return await self.poll_source(source)
        except Exception as exc:
            # A database that is full or locked: this source's poll is lost, not the
            # others', and the cursor did not move, so a later round fetches it again.
            # Held back in memory too, in case the failure cannot even be recorded.
            reason = f"{type(exc).__name__}: {exc}"
            log.error("@%s: poll failed: %s", source.username, reason)
            return await self._unexpected_failure(source, reason)

    async def poll_due(self) -> list[PollOutcome]:
        held = {sid for sid, until in self._held.items() if until > time.monotonic()}
        due = [s for s in await self.store.due_sources(self.clock()) if s.id not in held]
        return await self.poll_once(due)

    async def _unexpected_failure(self, source: Source, reason: str) -> PollOutcome:
        wait = min(self.interval * (2**source.consecutive_failures), MAX_ERROR_BACKOFF)
        self._held[source.id] = time.monotonic() + wait.total_seconds()
        try:
            return await self._failed(source, "error", reason, wait)
        except Exception as exc:
            log.error("@%s: cannot record the failure either: %s", source.username, exc)
            return PollOutcome(f"@{source.username}", "error", error=reason)

    async def run(self, stop: asyncio.Event, tick: float = 5.0) -> None:
        """Poll due sources until `stop` is set. Each source's poll is its own task, started
        when it is due, so a source whose server stalls delays no other source (and a
        failing source never stops the loop)."""
        running: dict[int, asyncio.Task[None]] = {}
        if self.lease is not None:
            # Renew well within the lease: a live worker's sources are never taken from it.
            tick = min(tick, self.lease.total_seconds() / 3)
        try:
            while not stop.is_set():
                try:
                    for lost in await self._renew(list(running)):
                        # Another worker holds it now (this one was stalled past its lease):
                        # stop, so the source is polled by one worker at a time.
                        if (task := running.get(lost)) is not None:
                            log.warning("lost the lease on source %d; its poll stops", lost)
                            task.cancel()
                    held = {sid for sid, until in self._held.items() if until > time.monotonic()}
                    for source in await self._due(len(running)):
                        if source.id in held or source.id in running:
                            if source.id not in running:
                                await self._release(source)
                            continue
                        task = asyncio.create_task(
                            self._poll_and_log(source), name=f"poll @{source.username}"
                        )
                        running[source.id] = task
                        task.add_done_callback(functools.partial(_forget, running, source.id))
                except Exception:
                    log.exception("polling round failed; trying again in %.0fs", tick)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=tick)
        finally:
            tasks = list(running.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _due(self, running: int) -> list[Source]:
        """The due sources; with a lease, those this worker could claim (a few at a time,
        so the other workers get their share)."""
        now = self.clock()
        if self.lease is None or self.worker is None:
            return await self.store.due_sources(now)
        room = self.claim_batch - running
        if room <= 0:
            return []
        return await self.store.claim_due_sources(self.worker, now, now + self.lease, room)

    async def _renew(self, source_ids: list[int]) -> set[int]:
        """Renew this worker's leases on the sources it is polling; those it lost."""
        if self.lease is None or self.worker is None or not source_ids:
            return set()
        until = self.clock() + self.lease
        kept = await self.store.renew_source_leases(self.worker, source_ids, until)
        return set(source_ids) - kept

    async def _release(self, source: Source) -> None:
        if self.lease is not None and self.worker is not None:
            await self.store.release_source(source.id, self.worker)

    async def _poll_and_log(self, source: Source) -> None:
        """A task's body: the poll, then its one log line; then the source's lease is free."""
        try:
            outcome = await self._poll_safely(source)
            log.info("poll %s", outcome.line())
        finally:
            with contextlib.suppress(Exception):  # unreleased, it expires by itself
                await self._release(source)

    async def poll_source(self, source: Source) -> PollOutcome:
        assert source.username is not None
        label = f"@{source.username}"
        try:
            outcome = await self._collect(source)
        except ChannelUnavailable as exc:
            return await self._failed(source, exc.status, str(exc), UNAVAILABLE_RETRY)
        except (TransientFetchError, BadPage, httpx.HTTPError) as exc:
            reason = _describe(exc)
            backoff = min(self.interval * (2**source.consecutive_failures), MAX_ERROR_BACKOFF)
            return await self._failed(source, "error", reason, backoff)
        log.debug("%s polled: %s", label, outcome.line())
        return outcome

    async def _failed(
        self, source: Source, status: str, reason: str, wait: timedelta
    ) -> PollOutcome:
        now = self.clock()
        next_poll = now + max(wait, self.interval)
        await self.store.record_poll_failure(source.id, status, reason, now, next_poll)
        log.warning("@%s: %s (next try %s)", source.username, reason, next_poll.isoformat())
        return PollOutcome(f"@{source.username}", status, error=reason, next_poll_at=next_poll)

    async def _collect(self, source: Source) -> PollOutcome:
        """One poll. The cursor moves only when everything down to it is stored; a backlog
        longer than one poll reads leaves a resume point, and the next poll continues
        there before it looks at anything newer."""
        assert source.username is not None
        outcome = PollOutcome(f"@{source.username}", "ok")
        first_poll = source.cursor is None
        wanted = self.backfill if first_poll else None
        max_pages = self.max_pages if wanted is None else max(self.max_pages, wanted // 10 + 2)
        resuming = not first_poll and source.resume_before is not None
        if resuming:
            page = await self.fetcher.page(source.username, before=source.resume_before)
            newest_id = source.pending_cursor or source.cursor or 0
        else:
            page = await self.fetcher.page(source.username)
            newest_id = max((p.message_id for p in page.posts), default=source.cursor or 0)
        outcome.pages = 1
        kept = await self._store_page(page.posts, source, outcome, wanted, 0)
        if not resuming:
            outcome.deleted += await self._note_deletions(page, outcome.channel_id)
        while (
            page.before is not None
            and page.posts
            and outcome.pages < max_pages
            and self._needs_older(source, page, wanted, kept)
        ):
            page = await self.fetcher.page(source.username, before=page.before)
            outcome.pages += 1
            kept += await self._store_page(page.posts, source, outcome, wanted, kept)
        gap_open = (
            wanted is None
            and page.before is not None
            and bool(page.posts)
            and self._needs_older(source, page, wanted, kept)
        )
        if gap_open:
            log.warning(
                "@%s: %d pages read, older posts remain down to id %s; the next poll "
                "continues from id %s", source.username, outcome.pages, source.cursor, page.before,
            )  # fmt: skip
        now = self.clock()
        outcome.next_poll_at = now + self.interval
        await self.store.record_poll_success(
            source.id,
            outcome.channel_id,  # None (nothing stored) keeps the channel the source has
            None if gap_open else (newest_id or None),
            outcome.new_posts,
            now,
            outcome.next_poll_at,
            resume_before=page.before if gap_open else None,
            pending_cursor=newest_id if gap_open else None,
        )
        return outcome

    def _needs_older(
        self, source: Source, page: PreviewPage, wanted: int | None, kept: int
    ) -> bool:
        if wanted is not None:
            return kept < wanted
        oldest = min(p.message_id for p in page.posts)
        return source.cursor is not None and oldest > source.cursor + 1

    async def _store_page(
        self,
        posts: list[IncomingPost],
        source: Source,
        outcome: PollOutcome,
        wanted: int | None,
        kept: int,
    ) -> int:
        """Store a page (newest first when backfilling, so the limit keeps the latest)."""
        chosen = sorted(posts, key=lambda p: p.message_id, reverse=True)
        if wanted is not None:
            chosen = chosen[: max(0, wanted - kept)]
        if chosen:
            result = await self.store.upsert_posts(chosen, self.clock())
            outcome.new_posts += result.inserted
            outcome.edited += result.edited
            # A page holds the asked channel's posts only (see `only_channel`).
            outcome.channel_id = result.channel_ids[0]
        return len(chosen)

    async def _note_deletions(self, page: PreviewPage, channel_id: int | None) -> int:
        """Stored posts inside the newest page's id range that the page no longer shows
        (`channel_id`: the page's channel row, None when none of its posts was stored).

        Only from a page read without problems: a post the parser could not read is not
        a deleted post.
        """
        if not page.posts or page.problems or channel_id is None:
            return 0
        ids = {p.message_id for p in page.posts}
        low, high = min(ids), max(ids)
        stored = await self.store.message_ids_between(channel_id, low, high)
        gone = [mid for mid in stored if mid not in ids]
        return await self.store.mark_deleted(channel_id, gone, self.clock()) if gone else 0


def _forget(running: dict[int, asyncio.Task[None]], source_id: int, _: object) -> None:
    running.pop(source_id, None)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "t.me did not answer in time"
    if isinstance(exc, httpx.TransportError):
        return f"cannot reach t.me ({type(exc).__name__})"
    return str(exc)
