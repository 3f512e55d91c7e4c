"""The built-in summariser: each story told by its clearest sentence, no model needed.

The line comes from the post the topic is most central to (see `relevance`), and is its
headline or lead when those are about the topic; among equally central posts, the one
whose line carries most of what the story's posts agree on (stems found in several
posts). A line must stand alone (see `lines`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from bot.digest.items import story_item
from bot.digest.kinds import bullets, is_roundup
from bot.digest.lines import opens_well, stands_alone, without_connective, without_label
from bot.digest.relevance import relevance
from bot.digest.text import clean_text, features, sentences, strip_symbols
from bot.models import DigestItem, Post, Story
from bot.words import fold, shorten

MAX_ITEM_CHARS = 320
SHORT_SENTENCE_CHARS = 70
IDEAL_SENTENCE_CHARS = 180
LATEST_SHARE = 0.8
"""A later post's line is preferred when it carries at least this share of the best one's
shared words."""


def summarise_story(story: Story, focus: re.Pattern[str] | None = None) -> DigestItem | None:
    """One digest item for the story, or None when no post has readable text.

    `focus` (the topic's terms) favours sentences about the topic: a long round-up that
    mentions Minsk once is told by its Minsk sentence, not its lead.
    """
    text, post = best_line(story, focus)
    if not text:
        return None
    return story_item(story, text, told_by=post)


def best_text(story: Story, focus: re.Pattern[str] | None = None) -> str:
    """The story's line (see `best_line`)."""
    return best_line(story, focus)[0]


def best_line(story: Story, focus: re.Pattern[str] | None = None) -> tuple[str, Post | None]:
    """The story's line and the post it is from: the post the topic is most central to,
    its headline or lead when that is on the topic, else its sentence about the topic
    (after the lead when that sentence cannot stand alone); in a round-up, the item about
    the topic."""
    stem_posts: Counter[str] = Counter()
    for post in story.posts:
        stem_posts.update(features(post.text))
    needed = 2 if len(story.posts) > 1 else 1
    candidates: list[tuple[float, float, int, str]] = []  # (central, shared, order, line)
    for order, post in enumerate(story.posts):
        line = post_line(post.text, focus)
        if not line:
            continue
        central = relevance(post.text, focus).score
        shared = _score(line, 0, stem_posts, needed) + (0.0 if post.id in story.copies else 0.05)
        candidates.append((central, shared, order, line))
    if not candidates:
        return "", None
    top = max(c[0] for c in candidates)
    best_shared = max(c[1] for c in candidates if c[0] == top)
    # Among lines nearly as good, the latest: a toll's update, not its first report; but
    # an original before its copies (a copy says nothing new, and the line cites its post).
    near = [c for c in candidates if c[0] == top and c[1] >= LATEST_SHARE * best_shared]
    chosen = max(near, key=lambda c: (story.posts[c[2]].id not in story.copies, c[2]))
    return shorten(chosen[3], MAX_ITEM_CHARS), story.posts[chosen[2]]


def post_line(text: str, focus: re.Pattern[str] | None) -> str:
    """One post told in one line (see `best_text`)."""
    if focus is not None and is_roundup(text):
        item = next((b for b in bullets(clean_text(text)) if focus.search(fold(b))), None)
        if item is not None:
            return strip_symbols(item)
    parts = sentences(clean_text(text))
    if not parts:
        return ""
    parts[0] = without_label(parts[0])
    lead_at = (
        0
        if opens_well(parts[0])
        else next((i for i, part in enumerate(parts[:3]) if stands_alone(part)), 0)
    )
    lead = _with_next(parts, lead_at)
    if focus is None or focus.search(fold(lead)):
        return lead
    topical = [i for i, part in enumerate(parts) if focus.search(fold(part))]
    if not topical:
        return lead
    # The lead says what the post is about; the sentence about the topic follows it, so a
    # pronoun in it has its noun and a reader sees why a report on Georgia is here.
    about = parts[topical[0]]
    joined = f"{_end_sentence(parts[lead_at])} … {without_connective(about)}"
    if len(joined) <= MAX_ITEM_CHARS:
        return joined
    alone = next((parts[i] for i in topical if stands_alone(parts[i])), None)
    return alone if alone is not None else lead


def _with_next(parts: Sequence[str], index: int) -> str:
    """A headline-short sentence is followed by the next one of the same post."""
    text = parts[index]
    if len(text) < SHORT_SENTENCE_CHARS and index + 1 < len(parts):
        text = f"{_end_sentence(text)} {parts[index + 1]}"
    return text


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
