"""Building FTS5 MATCH expressions that no input can break.

Every term is wrapped in double quotes (a quote inside is doubled), so FTS5 sees it as a
string and never as an operator, a column filter or a syntax error. Prefix matching is the
only operator we add ourselves, after the closing quote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.errors import QueryError

# What unicode61 keeps as token characters: letters, digits (and marks inside words).
WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
MAX_QUERY_WORDS = 16


def fold(text: str) -> str:
    """The folding the index applies on top of unicode61 (see migration 0001)."""
    return text.replace("ё", "е").replace("Ё", "Е")


@dataclass(frozen=True, slots=True)
class Term:
    """One topic term: a word or a phrase; each word may match as a prefix (`word*`)."""

    words: tuple[tuple[str, bool], ...]

    @classmethod
    def parse(cls, raw: str) -> Term:
        """`білорус*` is a prefix term, `Minsk` an exact word, `пункт* пропуску` a phrase."""
        words = []
        for chunk in raw.split():
            prefix = chunk.endswith("*")
            for i, word in enumerate(found := WORD_RE.findall(chunk)):
                words.append((word, prefix and i == len(found) - 1))
        if not words:
            raise QueryError(f"term {raw.strip()!r} has no letters or digits")
        return cls(tuple(words))

    @classmethod
    def word(cls, text: str, prefix: bool = False) -> Term:
        return cls(((text, prefix),))

    def to_fts(self) -> str:
        """A phrase of quoted strings joined by FTS5's `+`, each with its own prefix mark."""
        return " + ".join(
            '"' + fold(word).replace('"', '""') + '"' + ("*" if prefix else "")
            for word, prefix in self.words
        )

    def __str__(self) -> str:
        return " ".join(word + ("*" if prefix else "") for word, prefix in self.words)


def match_any(terms: Iterable[Term]) -> str:
    """An FTS5 expression matching posts that contain any of the terms."""
    parts = sorted({term.to_fts() for term in terms})
    if not parts:
        raise QueryError("no search terms")
    return " OR ".join(parts)


def match_all_words(text: str) -> str:
    """Free text from a user: every word must occur (the last may be a prefix if it ends in *).

    Operators typed by the user (AND, OR, NEAR, quotes, parentheses, column:filters) are
    treated as plain words.
    """
    words = WORD_RE.findall(text)[:MAX_QUERY_WORDS]
    if not words:
        raise QueryError(f"nothing to search for in {text.strip()[:40]!r}: type some words")
    terms = [Term.word(word) for word in words]
    if text.rstrip().endswith("*"):
        terms[-1] = Term.word(words[-1], prefix=True)
    return " AND ".join(term.to_fts() for term in terms)
