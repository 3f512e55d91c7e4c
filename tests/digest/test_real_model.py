"""A digest of the shared corpus written by a real model (never in the default run).

Point WIREBRIEF_REAL_MODEL_URL at any OpenAI-compatible server (llama.cpp, Ollama, vLLM)
and run `pytest -m realmodel -s` to read the digest and what verification dropped.
WIREBRIEF_REAL_MODEL names the model (default: the first the server lists);
WIREBRIEF_REAL_MODEL_KEY is sent as the key if the server wants one; _TIMEOUT (seconds),
_LANGUAGE and _MAX_INPUT (tokens; small models do better with small parts) tune the run.
"""

from __future__ import annotations

import os
import time

import openai
import pytest

from bot.config import load_settings
from bot.digest.llm import LLMSummariser
from bot.digest.pipeline import build_digest
from bot.digest.render import render_text
from bot.retry import RetryPolicy
from bot.store import Store
from tests.digest.model_helpers import CORPUS_WINDOW, NOW, assert_links_are_stored_posts, belarus

pytestmark = [pytest.mark.realmodel, pytest.mark.timeout(3600)]

URL = os.environ.get("WIREBRIEF_REAL_MODEL_URL")


async def model_name(url: str, key: str) -> str:
    chosen = os.environ.get("WIREBRIEF_REAL_MODEL")
    if chosen:
        return chosen
    async with openai.AsyncOpenAI(base_url=url, api_key=key, max_retries=0) as client:
        models = await client.models.list()
    return models.data[0].id


@pytest.mark.skipif(not URL, reason="set WIREBRIEF_REAL_MODEL_URL to a model server's /v1 URL")
async def test_a_real_model_digest_of_the_corpus_links_only_stored_posts(
    corpus_store: Store,
) -> None:
    assert URL is not None
    key = os.environ.get("WIREBRIEF_REAL_MODEL_KEY", "not-needed")
    settings = load_settings(
        openai_base_url=URL,
        openai_api_key=key,
        llm_model=await model_name(URL, key),
        llm_timeout_seconds=float(os.environ.get("WIREBRIEF_REAL_MODEL_TIMEOUT", "600")),
        digest_language=os.environ.get("WIREBRIEF_REAL_MODEL_LANGUAGE", "en"),
        llm_max_input_tokens=int(os.environ.get("WIREBRIEF_REAL_MODEL_MAX_INPUT", "6000")),
    )
    summariser = LLMSummariser.from_settings(
        settings, None, RetryPolicy(attempts=2, initial_wait=1.0, max_total=1200.0)
    )
    started = time.monotonic()
    digest = await build_digest(corpus_store, belarus(), CORPUS_WINDOW, NOW, summariser=summariser)
    elapsed = time.monotonic() - started
    print(f"\n--- {summariser.name} in {elapsed:.0f}s ---\n{render_text(digest)}")
    print(
        f"summariser={digest.summariser} items={len(digest.items)} "
        f"unverified={sum(not i.verified for i in digest.items)} "
        f"dropped_items={digest.dropped_items} dropped_citations={digest.dropped_citations} "
        f"tokens_in={digest.tokens_in} tokens_out={digest.tokens_out}"
    )
    await assert_links_are_stored_posts(digest, corpus_store)
