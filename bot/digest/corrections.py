"""Corrections: telling a chat that a post it received as a citation has changed.

No peer bot does this. An edit "in substance" is one that changes a figure, or changes a
fair share of the words; fixing a typo or an emoji is not worth a correction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.digest.text import clean_text
from bot.models import Post
from bot.words import LETTERS_RE, shorten

NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
SUBSTANTIVE_WORD_CHANGE = 0.15


@dataclass(frozen=True, slots=True)
class Correction:
    """One line of a correction: the post, and what became of it."""

    post: Post
    deleted: bool
    now_says: str


def substantive_change(old: str, new: str) -> bool:
    """True when the edit changes a figure or more than 15% of the words."""
    if sorted(NUMBER_RE.findall(old)) != sorted(NUMBER_RE.findall(new)):
        return True
    before = set(LETTERS_RE.findall(clean_text(old).lower()))
    after = set(LETTERS_RE.findall(clean_text(new).lower()))
    if not before and not after:
        return False
    changed = len(before ^ after) / max(1, len(before | after))
    return changed > SUBSTANTIVE_WORD_CHANGE


def correction_for(post: Post, seen_text: str, deleted: bool) -> Correction | None:
    """The correction to send, or None when the change is not worth one."""
    if deleted:
        return Correction(post, True, "")
    if not substantive_change(seen_text, post.text):
        return None
    return Correction(post, False, shorten(" ".join(clean_text(post.text).split()), 200))
