"""Helpers for the model tests: a scripted model's answers, settings pointing at the local
OpenAI-compatible server, and the check that every link shown is a stored post."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import Settings, load_settings
from bot.digest.llm import LLMSummariser
from bot.digest.render import render_html, render_json, render_markdown, render_text
from bot.digest.topics import Topic, load_topics
from bot.digest.window import Window
from bot.models import Digest
from bot.retry import RetryPolicy
from bot.store import Store
from tests.fakes.openai_server import FakeOpenAI, Reply

NOW = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
DEMO_WINDOW = Window(NOW - timedelta(hours=24), NOW)
CORPUS_WINDOW = Window(datetime(2024, 11, 26, tzinfo=UTC), datetime(2024, 12, 5, tzinfo=UTC))
FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, max_total=5.0)
SOURCE_RE = re.compile(r'<source n="(\d+)"[^>]*>\n(.*?)\n</source>', re.DOTALL)
URL_RE = re.compile(r"https?://[^\s\"'<>)\]]+|\bt\.me/\S+|@\w{3,}")


def belarus() -> Topic:
    return load_topics()["belarus"]


def settings_for(fake: FakeOpenAI, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_base_url": fake.base_url,
        "openai_api_key": fake.api_key,
        "llm_model": fake.model,
        "llm_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return load_settings(**values)


def summariser_for(
    fake: FakeOpenAI, store: Store | None, policy: RetryPolicy = FAST, **overrides: Any
) -> LLMSummariser:
    return LLMSummariser.from_settings(settings_for(fake, **overrides), store, policy)


def sources_in(request: dict[str, Any]) -> dict[int, str]:
    """The numbered sources a request carried: number -> text."""
    user = request["messages"][-1]["content"]
    return {int(n): text for n, text in SOURCE_RE.findall(user)}


def told(source_text: str) -> str:
    """What the well-behaved model says about a source: its first fifteen words."""
    return " ".join(source_text.split()[:15]).rstrip(" ,;:—–-")


def cite_each(request: dict[str, Any]) -> Reply:
    """A well-behaved model: one item per source, citing it, in the requested format."""
    sources = sources_in(request)
    items = [{"text": told(text), "sources": [n]} for n, text in sources.items()]
    if "response_format" in request:
        return Reply(content=json.dumps({"items": items}, ensure_ascii=False))
    return Reply(content="\n".join(f"- {i['text']} [{i['sources'][0]}]" for i in items))


async def stored_urls(store: Store) -> set[str]:
    return {post.url async for post in store.iter_posts(None, None, None)}


async def stored_handles(store: Store) -> set[str]:
    return {channel.handle for channel in await store.channels()}


async def assert_links_are_stored_posts(digest: Digest, store: Store) -> None:
    """Every link in every rendering is a stored post; the only handles are stored channels'."""
    stored = await stored_urls(store)
    for item in digest.items:
        for citation in item.citations:
            assert citation.url in stored, citation
    allowed = stored | await stored_handles(store)
    for render in (render_text, render_markdown, render_html, render_json):
        shown = render(digest).replace("\\_", "_")  # Markdown escapes the _ of @a_b
        for found in URL_RE.findall(shown):
            assert found in allowed, f"{render.__name__} shows {found!r}"


def lie_about_each(request: dict[str, Any]) -> Reply:
    """A model that invents: the same confident sentence for every story it was given."""
    items = [
        {"source": n, "text": "Lukashenko ordered 12,000 troops north."}
        for n in sources_in(request)
    ]
    return Reply(content=json.dumps({"items": items}))
