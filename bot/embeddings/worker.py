"""The background embedder of `wirebrief run`: new posts get their vectors soon after they
are stored, whichever way they arrived (the poller, channel posts, an import), so a digest
finds them ready and embeds nothing on the request path.

Work runs a batch at a time in a thread (`LocalEmbedder` / the openai client), so the event
loop keeps answering; a stop request is honoured between batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.embeddings.base import Embedder
from bot.embeddings.service import backfill
from bot.store import Store

log = logging.getLogger(__name__)

IDLE_SECONDS = 30.0
"""Pause between checks when there is nothing to embed."""
FAILURE_SECONDS = 300.0
"""Pause after the model failed (a server down): digests group by words meanwhile."""
ROUND = 256
"""Posts per round; a backlog is worked off round after round without pausing."""


async def keep_embedded(store: Store, embedder: Embedder, stop: asyncio.Event) -> None:
    """Until `stop`: embed whatever stored post lacks a vector of this model."""
    while not stop.is_set():
        pause = IDLE_SECONDS
        try:
            report = await backfill(store, embedder, limit=ROUND)
        except Exception:
            log.exception("the background embedder failed; retrying in %.0f s", FAILURE_SECONDS)
            pause = FAILURE_SECONDS
        else:
            if report.embedded:
                log.info("embedded %d new posts (%s)", report.embedded, embedder.model)
            if report.problem:
                log.warning("embedding: %s; retrying in %.0f s", report.problem, FAILURE_SECONDS)
                pause = FAILURE_SECONDS
            elif report.embedded + report.failed >= ROUND:
                pause = 0.0  # more to do
        if pause:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
