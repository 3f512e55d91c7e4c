"""Search terms and the FTS5 MATCH expressions made of them, built so that no input can
break them.

Every term is wrapped in double quotes (a quote inside is doubled), so FTS5 sees it as a
string and never as an operator, a column filter or a syntax error. Prefix matching is the
only operator we add ourselves, after the closing quote. Pure text: the topics (in the
digest) and the store both use it; the PostgreSQL store translates these expressions
(`bot.store.fts.to_tsquery`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.errors import QueryError
from bot.words import WORD_RE, fold

MAX_QUERY_WORDS = 16


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


# ----- word forms ---------------------------------------------------------------------

# Inflectional endings of Russian and Ukrainian nouns, adjectives and infinitives, longest
# first. A word typed by a user loses at most one of them and matches as a prefix, so
# Грузия (грузи*) finds Грузии, Грузию, Грузией and Україна (україн*) finds України.
# Derivational suffixes are left alone on purpose: a stemmer that takes "Грузия" to "груз"
# also finds every post about freight (груз, грузовой).
_ENDINGS = tuple(
    sorted(
        (
            "ого", "его", "ому", "ему", "ыми", "ими", "ами", "ями", "ові", "еві", "єві",
            "ою", "ею", "ої", "ій", "ів", "їв", "ім", "ой", "ей", "ом", "ем", "ам", "ям",
            "ах", "ях", "ов", "ев", "ый", "ий", "ая", "яя", "ое", "ее", "ые", "ие", "ых",
            "их", "ым", "им", "ую", "юю", "ть", "ти",
            "а", "я", "о", "е", "ь", "ы", "и", "у", "ю", "і", "ї", "є", "й",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_CYRILLIC_RE = re.compile(r"[а-яёіїєґў]", re.IGNORECASE)
MIN_STEM = 4
"""A shorter remainder stays a whole word: рада, мир and США are not prefixes of much else."""


def word_form_stem(word: str) -> tuple[str, bool]:
    """The part of `word` its inflected forms share, and whether to match it as a prefix.

    Cyrillic words lose one inflectional ending (keeping at least MIN_STEM letters); Latin
    words lose a plural -s; words shorter than MIN_STEM, and numbers, match exactly.
    """
    lower = fold(word).lower()
    if len(lower) < MIN_STEM or lower.isdigit():
        return word, False
    if _CYRILLIC_RE.search(lower):
        for ending in _ENDINGS:
            if lower.endswith(ending) and len(lower) - len(ending) >= MIN_STEM:
                return lower[: -len(ending)], True
        return lower, True
    if lower.endswith("s") and not lower.endswith("ss") and len(lower) - 1 >= MIN_STEM:
        return lower[:-1], True
    return lower, True


def match_word_forms(text: str) -> str:
    """Free text from a user (`/search`, `--query`, `/digest words`): every word must occur,
    in any of its inflected forms; a word ending in `*` matches as typed, as a prefix.

    As in `match_all_words`, operators typed by the user are plain words.
    """
    terms = word_form_terms(text)
    return " AND ".join(term.to_fts() for term in terms)


def word_form_terms(text: str) -> list[Term]:
    """The terms of `match_word_forms`, one per word (for highlighting and the summary)."""
    terms: list[Term] = []
    for chunk in text.split():
        explicit = chunk.endswith("*")
        for word in WORD_RE.findall(chunk):
            if len(terms) == MAX_QUERY_WORDS:
                return terms
            stem, prefix = (word, True) if explicit else word_form_stem(word)
            terms.append(Term.word(stem, prefix=prefix))
    if not terms:
        raise QueryError(f"nothing to search for in {text.strip()[:40]!r}: type some words")
    return terms
