"""Who reported a story first, and which of its posts are copies rather than confirmations.

A forward, or a channel pasting another channel's post word for word, adds a link but no
confirmation: "3 channels" where two copy the first is one report. A post is a copy when it
is a forward, or when most of its word sequences (4-word shingles) are found in an earlier
post of another channel in the story. Rewrites and translations are not copies: they are
counted as independent, which is what the channels themselves claim to be.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.digest.text import clean_text
from bot.models import Post, Story
from bot.words import LETTERS_RE

SHINGLE = 4
COPY_CONTAINMENT = 0.7
"""Share of a post's shingles found in the earlier post that makes it a copy."""
MIN_SHINGLES = 3
"""Posts shorter than this (in shingles) are judged by exact words only."""


def shingles(text: str) -> frozenset[tuple[str, ...]]:
    words = [w.lower() for w in LETTERS_RE.findall(clean_text(text))]
    if len(words) < SHINGLE:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


def find_copies(posts: Sequence[Post]) -> dict[int, int | None]:
    """Post id -> id of the earlier post it copies (None: a forward from outside the story).

    `posts` oldest first. Only posts of other channels can be copied from: a channel that
    posts its own report twice is one channel either way.
    """
    copies: dict[int, int | None] = {}
    seen: list[tuple[Post, frozenset[tuple[str, ...]]]] = []
    for post in posts:
        own = shingles(post.text)
        original = _copied_from(post, own, seen)
        if original is not None:
            copies[post.id] = original.id
        elif post.forwarded_from:
            copies[post.id] = None
        seen.append((post, own))
    return copies


def _copied_from(
    post: Post,
    own: frozenset[tuple[str, ...]],
    earlier: Sequence[tuple[Post, frozenset[tuple[str, ...]]]],
) -> Post | None:
    if not own:
        return None
    for other, theirs in earlier:
        if other.channel.id == post.channel.id or not theirs:
            continue
        if len(own) < MIN_SHINGLES:
            if own == theirs:
                return other
            continue
        if len(own & theirs) / len(own) >= COPY_CONTAINMENT:
            return other
    return None


def with_provenance(story: Story) -> Story:
    story.copies = find_copies(story.posts)
    return story
