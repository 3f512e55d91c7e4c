"""`wirebrief run`: the bot, the channel poller and the daily digests, in one process or
split by `--role` over several (pollers share the sources and one scheduler sends the
daily digests, each by lease in the database).

Stops cleanly on SIGINT/SIGTERM: updates stop first, then the poller finishes the page it
is storing (every page commits on its own), then the database closes. Nothing stored is
lost, and nothing half-stored is left: a kill -9 is also safe (see the poller's notes).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import signal
import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.chat.app import build_application, on_startup
from bot.chat.context import App, Context, services
from bot.chat.daily import TICK_SECONDS, daily_tick
from bot.chat.digests import PAGE_KEEP
from bot.chat.services import BotServices
from bot.config import Settings
from bot.digest.topics import load_topics
from bot.errors import ConfigError
from bot.http import make_http_client
from bot.retry import RetryPolicy, backoff_seconds
from bot.store import Store, open_store
from bot.wiring import digest_tools, make_poller

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 7.0
"""What a stop waits for work in progress (digests, the poller's page) before cancelling
it: the whole stop stays within the 10 s Docker and systemd give before they kill."""
CACHE_PRUNE_EVERY = timedelta(hours=24)
CACHE_KEEP = timedelta(days=30)
ALLOWED_UPDATES = [
    Update.MESSAGE, Update.CALLBACK_QUERY, Update.CHANNEL_POST, Update.EDITED_CHANNEL_POST,
]  # fmt: skip
# Waiting for an unreachable Bot API: 2 s, 4 s, 8 s … then every minute, until it answers.
REACH_POLICY = RetryPolicy(initial_wait=2.0, max_wait=60.0)
REJECTED_TOKEN = (
    "the Bot API rejected BOT_TOKEN (revoked or mistyped): copy the current token from @BotFather"
)


async def initialize_when_reachable(
    app: App,
    stop: asyncio.Event,
    policy: RetryPolicy = REACH_POLICY,
) -> bool:
    """Initialize the bot (its getMe), waiting with backoff while the Bot API is unreachable.

    Returns False when `stop` was set while waiting. A rejected token is not worth waiting
    for: it becomes a ConfigError whose message names BOT_TOKEN and never contains it (the
    library's own message does).
    """
    host = urlsplit(app.bot.base_url).netloc
    attempt = 0
    while not stop.is_set():
        try:
            await app.initialize()
            return True
        except InvalidToken:
            raise ConfigError(REJECTED_TOKEN) from None
        except NetworkError as exc:  # TimedOut and 5xx answers are NetworkErrors too
            attempt += 1
            delay = backoff_seconds(policy, attempt)
            log.warning(
                "the Bot API at %s cannot be reached (%s); retrying in %.0f s",
                host, describe_network_error(exc), delay,
            )  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return False


def describe_network_error(exc: TelegramError) -> str:
    """One short phrase for a log line: the error's kind and the library's own words."""
    words = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


def log_polling_error(exc: TelegramError) -> None:
    """Long polling retries by itself; say so in one line, without a traceback."""
    log.warning("polling the Bot API failed (%s); retrying", describe_network_error(exc))


async def start_bot(
    app: App,
    settings: Settings,
    poll_timeout: int = 10,
) -> None:
    """initialize → start-up work → start → long polling (or the webhook)."""
    await app.initialize()
    await on_startup(app)
    await app.start()
    assert app.updater is not None
    if settings.webhook_url:
        path = urlsplit(settings.webhook_url).path.strip("/") or "telegram"
        await app.updater.start_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=settings.webhook_url,
            secret_token=webhook_secret(settings),
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        await app.updater.start_polling(
            poll_interval=0.0,
            timeout=poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=3,
            error_callback=log_polling_error,
        )


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram sends with every webhook call: the same in every replica of
    the bot behind one URL (each sets the webhook at start; a random secret per process
    would leave only the last one's valid), derived from the token, so it is as secret."""
    if settings.bot_token is None:
        return secrets.token_urlsafe(32)
    key = settings.bot_token.get_secret_value().encode()
    return hmac.new(key, b"wirebrief webhook secret", hashlib.sha256).hexdigest()


async def stop_bot(app: App, grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop fetching updates, give the work in progress `grace` seconds, then cancel it.

    `Application.stop` waits for every update it has taken, however long: after downtime
    that is a backlog of digests, each waiting out Telegram's flood control. Cancelled
    work loses nothing stored (a digest is recorded only once delivered).
    """
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        stopping = asyncio.ensure_future(app.stop())
        done, _ = await asyncio.wait({stopping}, timeout=grace)
        if not done:
            busy = [t for t in app.bot_data.services.inflight if not t.done()]
            log.warning(
                "stopping: %d requests still in progress after %.0f s are cancelled",
                len(busy), grace,
            )  # fmt: skip
            for task in busy:
                task.cancel()
            await stopping
    await app.shutdown()


SCHEDULER_LEASE = "scheduler"


def worker_name(settings: Settings) -> str:
    """This process in leases: WORKER_NAME, or host:pid."""
    return settings.worker_name or f"{socket.gethostname()}:{os.getpid()}"


def use_scheduler_lease(
    app: App,
    worker: str,
    lease: timedelta,
    tick_seconds: float | None = None,
) -> None:
    """Daily digests from whichever process holds the scheduler's lease: the daily job
    ticks in every scheduler, and sends only while it holds (and renews) the lease. A
    holder that dies stops renewing; another takes over within `lease`."""
    assert app.job_queue is not None
    interval = tick_seconds
    for job in app.job_queue.get_jobs_by_name("daily"):
        interval = interval or _seconds(job.job.trigger)
        job.schedule_removal()

    async def leased_tick(context: Context) -> None:
        store = services(context).store
        try:
            held = await _hold(store, worker, lease)
        except Exception:
            log.exception("the scheduler's lease could not be renewed")
            return
        if not held:
            return
        # A long tick (digests waiting on flood control) keeps renewing; if the lease is
        # lost meanwhile, the tick stops before another holder could send the same digest.
        tick = asyncio.current_task()
        assert tick is not None

        async def renew() -> None:
            while True:
                await asyncio.sleep(lease.total_seconds() / 3)
                if not await _hold(store, worker, lease):
                    log.warning("the scheduler's lease went to another worker; stopping")
                    tick.cancel()
                    return

        renewing = asyncio.create_task(renew(), name="scheduler-lease")
        try:
            await daily_tick(context)
        finally:
            renewing.cancel()

    app.job_queue.run_repeating(
        leased_tick, interval=interval or TICK_SECONDS, first=1.0, name="daily"
    )


async def _hold(store: Store, worker: str, lease: timedelta) -> bool:
    now = datetime.now(UTC)
    return await store.acquire_lease(SCHEDULER_LEASE, worker, now, now + lease)


def _seconds(trigger: object) -> float | None:
    interval = getattr(trigger, "interval", None)
    return interval.total_seconds() if isinstance(interval, timedelta) else None


def without_daily_digests(app: App) -> None:
    """A bot-only process: the scheduler processes send the daily digests."""
    assert app.job_queue is not None
    for job in app.job_queue.get_jobs_by_name("daily"):
        job.schedule_removal()


async def run(
    settings: Settings,
    stop: asyncio.Event | None = None,
    roles: frozenset[str] = frozenset({"all"}),
) -> None:
    """Run until `stop` is set (or a signal arrives), in the given roles: "bot" (the
    bot's updates), "poller" (the sources, shared by lease with other pollers),
    "scheduler" (daily digests, by lease, and the background upkeep), or "all"."""
    stop = stop or asyncio.Event()
    everything = "all" in roles
    as_bot, as_poller = everything or "bot" in roles, everything or "poller" in roles
    as_scheduler = everything or "scheduler" in roles
    worker = worker_name(settings)
    lease = timedelta(seconds=settings.lease_seconds)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    store = await open_store(settings.database)
    try:
        added = await store.sync_config_sources(settings.sources)
        if added:
            log.info("new sources from SOURCES: %s", ", ".join(added))
        # Digests group by meaning wherever they are made (the bot, the scheduler); a
        # poller alone makes none. Embedding stored posts is the scheduler's upkeep.
        tools = digest_tools(settings, store, with_embedder=as_bot or as_scheduler)
        svc = BotServices(
            settings=settings,
            store=store,
            topics=load_topics(settings.topics_file),
            summariser=tools.summariser,
            embedder=tools.embedder,
        )
        app = build_application(svc) if as_bot or as_scheduler else None
        if app is not None:
            if not await initialize_when_reachable(app, stop):
                return  # asked to stop before the Bot API ever answered
            if as_scheduler:  # by lease even alone: a second process never sends twice
                use_scheduler_lease(app, worker, lease)
            else:
                without_daily_digests(app)
        async with make_http_client() as client:
            poller = make_poller(store, client, settings, worker, lease)
            if app is not None and as_bot:
                await start_bot(app, settings)
            elif app is not None:
                await start_scheduler(app)
            log.info(
                "wirebrief is running (%s as %s): %d topics, summariser %s",
                ", ".join(sorted(roles)), worker, len(svc.topics), svc.summariser_name,
            )  # fmt: skip
            tasks = []
            if as_poller:
                tasks.append(asyncio.create_task(poller.run(stop), name="poller"))
            if as_scheduler:
                tasks.append(asyncio.create_task(_embed_in_background(svc, stop), name="embedder"))
                assert app is not None and app.job_queue is not None
                app.job_queue.run_repeating(
                    prune_cache, interval=CACHE_PRUNE_EVERY, first=60.0, name="prune-llm-cache"
                )
            try:
                await stop.wait()
            finally:
                log.info("stopping")
                stop.set()
                # Together, not one after the other: all fit in the same grace period.
                await asyncio.gather(
                    *([stop_bot(app)] if app is not None else []),
                    *(finish(task, STOP_GRACE_SECONDS) for task in tasks),
                )
                if svc.embedder is not None:
                    await svc.embedder.close()
    finally:
        await store.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def start_scheduler(app: App) -> None:
    """A scheduler without the bot: the job queue and the Bot API for sending, but no
    getUpdates (Telegram allows one long-poller per token: the bot process)."""
    await app.initialize()
    await on_startup(app)
    await app.start()


async def _embed_in_background(svc: BotServices, stop: asyncio.Event) -> None:
    if svc.embedder is None:
        return
    from bot.embeddings.worker import keep_embedded

    await keep_embedded(svc.store, svc.embedder, stop)


async def finish(task: asyncio.Task[None], grace: float) -> None:
    """Let a task end by itself for `grace` seconds, then cancel it (a page in flight
    rolls back; the next poll fetches it again)."""
    try:
        await asyncio.wait_for(asyncio.shield(task), grace)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def prune_cache(context: Context) -> None:
    """Daily: forget cached model answers older than a month (their windows are history)
    and "More" pages older than a week (their buttons then say they expired)."""
    svc = services(context)
    try:
        removed = await svc.store.prune_llm_cache(svc.clock() - CACHE_KEEP)
        await svc.store.prune_digest_pages(svc.clock() - PAGE_KEEP)
    except Exception:
        log.exception("pruning the model answer cache failed")
        return
    if removed:
        log.info("pruned %d cached model answers", removed)
