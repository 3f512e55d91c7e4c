"""`wirebrief run`: the bot, the channel poller and the daily digests in one process.

Stops cleanly on SIGINT/SIGTERM: updates stop first, then the poller finishes the page it
is storing (every page commits on its own), then the database closes. Nothing stored is
lost, and nothing half-stored is left: a kill -9 is also safe (see the poller's notes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from datetime import timedelta
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.chat.access import services
from bot.chat.app import build_application, on_startup
from bot.chat.services import BotServices
from bot.config import Settings
from bot.digest.topics import load_topics
from bot.http import make_http_client
from bot.ingest.poller import Poller, PreviewFetcher
from bot.store import open_store

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
CACHE_PRUNE_EVERY = timedelta(hours=24)
CACHE_KEEP = timedelta(days=30)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CHANNEL_POST, Update.EDITED_CHANNEL_POST]


async def start_bot(
    app: Application,  # type: ignore[type-arg]
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
            secret_token=secrets.token_urlsafe(32),
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        await app.updater.start_polling(
            poll_interval=0.0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES
        )


async def stop_bot(app: Application) -> None:  # type: ignore[type-arg]
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or a signal arrives)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    from bot.digest.llm import make_summarizer

    store = await open_store(settings.database_path)
    try:
        added = await store.sync_config_sources(settings.sources)
        if added:
            log.info("new sources from SOURCES: %s", ", ".join(added))
        svc = BotServices(
            settings=settings,
            store=store,
            topics=load_topics(settings.topics_file),
            summarizer=make_summarizer(settings, store),
        )
        app = build_application(svc)
        async with make_http_client() as client:
            poller = Poller(
                store,
                PreviewFetcher(client, settings.tme_url),
                interval=timedelta(seconds=settings.poll_interval_seconds),
                backfill=settings.backfill_posts,
            )
            await start_bot(app, settings)
            log.info(
                "wirebrief is running: %d topics, summariser %s",
                len(svc.topics),
                svc.summarizer_name,
            )
            polling = asyncio.create_task(poller.run(stop), name="poller")
            assert app.job_queue is not None
            app.job_queue.run_repeating(
                prune_cache, interval=CACHE_PRUNE_EVERY, first=60.0, name="prune-llm-cache"
            )
            try:
                await stop.wait()
            finally:
                log.info("stopping")
                stop.set()
                await stop_bot(app)
                await finish(polling, STOP_GRACE_SECONDS)
    finally:
        await store.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def finish(task: asyncio.Task[None], grace: float) -> None:
    """Let a task end by itself for `grace` seconds, then cancel it (a page in flight
    rolls back; the next poll fetches it again)."""
    try:
        await asyncio.wait_for(asyncio.shield(task), grace)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def prune_cache(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily: forget cached model answers older than a month (their windows are history)."""
    svc = services(context)
    try:
        removed = await svc.store.prune_llm_cache(svc.clock() - CACHE_KEEP)
    except Exception:
        log.exception("pruning the model answer cache failed")
        return
    if removed:
        log.info("pruned %d cached model answers", removed)
