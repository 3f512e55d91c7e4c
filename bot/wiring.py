"""The composition root: the parts a command needs, built from the settings in one place.

`cli.py` (digests, `ingest`, `demo`, `embed`) and `chat/runner.py` (`run`) build their
store's companions here, so the choice of summariser, embedder and poller is made once:
the core (`bot.digest`) never reads the settings to decide which model to use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from bot.config import Settings
from bot.digest.summary import ExtractiveSummariser, Summariser
from bot.embeddings.factory import make_embedder
from bot.ingest.poller import Poller, PreviewFetcher
from bot.retry import RetryPolicy

if TYPE_CHECKING:
    from bot.digest.llm import AnswerStore
    from bot.embeddings.base import Embedder
    from bot.store import Store


def make_summariser(
    settings: Settings,
    store: AnswerStore | None = None,
    policy: RetryPolicy | None = None,
    embedder: Embedder | None = None,
) -> Summariser:
    """The model when one is configured (a key or a base URL), else the extractive one.
    `embedder`: checks that each model line means what its posts say."""
    if not settings.llm_enabled:
        return ExtractiveSummariser()
    from bot.digest.llm import DEFAULT_POLICY, LLMSummariser  # openai only when it is used

    return LLMSummariser.from_settings(settings, store, policy or DEFAULT_POLICY, embedder)


@dataclass(frozen=True, slots=True)
class DigestTools:
    """What making a digest needs besides the store: the embedder (None: words only) and
    the summariser, which checks model lines with that same embedder."""

    embedder: Embedder | None
    summariser: Summariser


def digest_tools(settings: Settings, store: Store, with_embedder: bool = True) -> DigestTools:
    embedder = make_embedder(settings) if with_embedder else None
    return DigestTools(embedder, make_summariser(settings, store, embedder=embedder))


def make_poller(
    store: Store,
    client: httpx.AsyncClient,
    settings: Settings,
    worker: str | None = None,
    lease: timedelta | None = None,
) -> Poller:
    """The t.me/s poller of the settings' sources, pacing and backfill (leased per source
    to `worker` when several processes share the database)."""
    return Poller(
        store,
        PreviewFetcher(client, settings.tme_url),
        interval=timedelta(seconds=settings.poll_interval_seconds),
        backfill=settings.backfill_posts,
        worker=worker,
        lease=lease,
    )
