"""The text vocabulary every layer shares: what a word is, the folding the search index
applies, and the small helpers that turn text and counts into words for readers.

It imports nothing of wirebrief: the store (`bot.store`), the search terms (`bot.query`)
and the digest (`bot.digest`) all stand on it.
"""

from __future__ import annotations

import re

# What unicode61 keeps as token characters: letters, digits (and marks inside words), with
# an apostrophe inside a word kept (п'ять, don't): the words of a search term.
WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
LETTERS_RE = re.compile(r"[^\W_]+", re.UNICODE)
"""Runs of letters and digits, an apostrophe splitting them: the words stems are made of."""


def fold(text: str) -> str:
    """The folding the index applies on top of unicode61 (see migration 0001)."""
    return text.replace("ё", "е").replace("Ё", "Е")


def plural(count: int, word: str, many: str | None = None) -> str:
    """ "1 post", "3 posts"; `many` for words that do not just take an s ("story")."""
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:—–- ")
    return cut + "…"
