"""The built-in summariser: each story told by its clearest sentence, no model needed.

"Clearest" means the sentence that carries most of what the story's posts agree on
(stems found in several posts), preferring lead sentences and moderate length. A story
of one post is told by its lead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from bot.digest.items import story_item
from bot.digest.text import clean_text, features, sentences
from bot.models import DigestItem, Story
from bot.store.fts import fold

MAX_ITEM_CHARS = 320
SHORT_SENTENCE_CHARS = 70
IDEAL_SENTENCE_CHARS = 180


TOPIC_BONUS = 3.0


def summarise_story(story: Story, focus: re.Pattern[str] | None = None) -> DigestItem | None:
    """One digest item for the story, or None when no post has readable text.

    `focus` (the topic's terms) favours sentences about the topic: a long round-up that
    mentions Minsk once is told by its Minsk sentence, not its lead.
    """
    text = best_text(story, focus)
    if not text:
        return None
    return story_item(story, text)


def best_text(story: Story, focus: re.Pattern[str] | None = None) -> str:
    stem_posts: Counter[str] = Counter()
    for post in story.posts:
        stem_posts.update(features(post.text))
    shared_needed = 2 if len(story.posts) > 1 else 1
    best: tuple[float, int, int] | None = None
    candidates: list[list[str]] = []
    for p_index, post in enumerate(story.posts):
        post_sentences = sentences(clean_text(post.text))
        candidates.append(post_sentences)
        for s_index, sentence in enumerate(post_sentences):
            score = _score(sentence, s_index, stem_posts, shared_needed)
            if focus is not None and focus.search(fold(sentence)):
                score = (score + 0.1) * TOPIC_BONUS
            if best is None or score > best[0]:
                best = (score, p_index, s_index)
    if best is None:
        return ""
    _, p_index, s_index = best
    chosen = candidates[p_index]
    text = chosen[s_index]
    # A headline-short sentence is followed by the next one of the same post.
    if len(text) < SHORT_SENTENCE_CHARS and s_index + 1 < len(chosen):
        text = f"{_end_sentence(text)} {chosen[s_index + 1]}"
    return shorten(text, MAX_ITEM_CHARS)


def _score(sentence: str, position: int, stem_posts: Counter[str], needed: int) -> float:
    stems = features(sentence)
    if not stems:
        return -1.0
    coverage = sum(min(stem_posts[s], 5) for s in stems if stem_posts[s] >= needed)
    length_penalty = 1.0 + abs(len(sentence) - IDEAL_SENTENCE_CHARS) / IDEAL_SENTENCE_CHARS
    lead_bonus = 1.0 / (1.0 + 0.3 * position)
    return coverage * lead_bonus / length_penalty


def _end_sentence(text: str) -> str:
    return text if text[-1:] in ".!?…:;" else text + "."


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:—–- ")
    return cut + "…"


def summarise_stories(
    stories: Sequence[Story], focus: re.Pattern[str] | None = None
) -> list[DigestItem]:
    """Items for stories in the given (ranked) order, skipping stories without text."""
    items = []
    for story in stories:
        item = summarise_story(story, focus)
        if item is not None:
            items.append(item)
    return items
