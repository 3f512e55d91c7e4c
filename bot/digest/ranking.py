"""Ranking stories the way a wire editor reads them.

score = (1 + 1.5·log2(independent channels)) · (0.3 + 0.7·relevance)
        + 0.3·recency + 0.5·min(1, log2(posts)/3) + 0.2·min(1, log10(1 + views)/6)

- independent channels: channels that reported the story themselves (forwards and verbatim
  copies left out, see `provenance`); 1 → 1, 2 → 2.5, 4 → 4, 8 → 5.5. It dominates: a story
  three channels confirm outranks any story one channel claims, unless the topic is only
  mentioned in passing there.
- relevance (0-1, see `relevance`): the best of the story's posts; a story whose posts
  only mention the topic in passing (relevance < 0.5) is shown after every story the
  topic is central to, whatever its other scores.
- recency (0-1): 1 for a story whose last report is at the window's end, 0 at its start.
- reach: posts in the story (saturating at 8: one channel's six updates on an attack
  outweigh a fresh one-line alert) and views (saturating at a million).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime

from bot.digest.relevance import Relevance, relevance
from bot.models import Story


def story_relevance(story: Story, focus: re.Pattern[str] | None) -> Relevance:
    """The topic's place in the story: its best place in any of the story's posts."""
    return max((relevance(post.text, focus) for post in story.posts), key=lambda r: r.score)


def rank_score(story: Story, central: float, since: datetime, until: datetime) -> float:
    independent = max(1, len(story.independent_channels))
    corroboration = 1.0 + 1.5 * math.log2(independent)
    span = max(1.0, (until - since).total_seconds())
    recency = min(1.0, max(0.0, 1.0 - (until - story.last_date).total_seconds() / span))
    posts = min(1.0, math.log2(len(story.posts)) / 3)
    views = min(1.0, math.log10(1 + story.views) / 6)
    return corroboration * (0.3 + 0.7 * central) + 0.3 * recency + 0.5 * posts + 0.2 * views


def rank_stories(
    stories: Sequence[Story],
    focus: re.Pattern[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Story]:
    """Stories best first (see the module's formula); each learns its relevance."""
    if not stories:
        return []
    since = since or min(s.first_date for s in stories)
    until = until or max(s.last_date for s in stories)
    scored = []
    for story in stories:
        found = story_relevance(story, focus)
        story.relevance, story.relevance_why = found.score, found.why
        score = rank_score(story, found.score, since, until)
        scored.append((found.central, score, story.last_date, -story.posts[0].id, story))
    scored.sort(key=lambda item: item[:4], reverse=True)
    return [item[-1] for item in scored]
