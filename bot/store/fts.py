"""Building FTS5 MATCH expressions that no input can break.

Every term is wrapped in double quotes (a quote inside is doubled), so FTS5 sees it as a
string and never as an operator, a column filter or a syntax error. Prefix matching is the
only operator we add ourselves, after the closing quote.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
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


# ----- the same matching on PostgreSQL ------------------------------------------------
#
# PostgreSQL's own parsers split words differently from FTS5's unicode61 (hyphenated
# words, numbers such as 1.5, URLs, and letters depend on the server's locale). So the
# PostgreSQL store gets its tokens from here, made by unicode61's own rules, and keeps
# them as a tsvector; queries become tsquery values made of the same tokens. A post and
# a query then match on PostgreSQL exactly when they match on SQLite.

TSVECTOR_MAX_POSITION = 16383
"""PostgreSQL keeps word positions up to this; later words share it (phrases that far
into a very long post may match loosely; single words and prefixes are unaffected)."""
TSVECTOR_MAX_LEXEME_BYTES = 2046
_FTS5_TERM_RE = re.compile(r'"((?:[^"]|"")*)"(\*?)')


_ASTRAL_OR_NUL_RE = re.compile("[\x00\U00010000-\U0010ffff]")
"""Characters not probed in advance (emoji and other planes; NUL)."""


class _Unicode61:
    """What unicode61 (remove_diacritics 2) makes of each character: None for a
    separator, else its folded form ("" for a mark that is dropped). Asked of SQLite's own
    tokenizer, so it is exact for the SQLite the SQLite store uses: the Basic Multilingual
    Plane and the emoji at once (about half a second, once per process), other
    characters when met."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._conn.execute(
            "CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61 remove_diacritics 2')"
        )
        self._conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, instance)")
        self.table: dict[int, str | None] = {}
        self.translation: dict[int, str] = {}
        """For str.translate: separators to a space, token characters to their folded
        form (only those that change), so a text is tokenized at C speed."""
        # The Basic Multilingual Plane and the emoji blocks at once; the rest when met.
        bmp = [cp for cp in range(1, 0x10000) if not 0xD800 <= cp < 0xE000]
        self._learn(self._probe([*bmp, *range(0x1F000, 0x1FB00)]))

    def _learn(self, found: dict[int, str | None]) -> None:
        self.table.update(found)
        for cp, folded in found.items():
            if folded is None:
                self.translation[cp] = " "
            elif folded != chr(cp):
                self.translation[cp] = folded

    def tokens(self, text: str) -> list[str]:
        """The tokens of `text`, as `fold` character by character would make them."""
        rare = _ASTRAL_OR_NUL_RE.findall(text)
        if rare:
            unknown = [cp for cp in {ord(c) for c in rare} if cp not in self.table]
            if unknown:
                self._learn(self._probe(unknown))
        return [token for token in text.translate(self.translation).split(" ") if token]

    def _probe(self, points: list[int]) -> dict[int, str | None]:
        with self._lock:
            self._conn.execute("DELETE FROM t")
            self._conn.executemany(
                "INSERT INTO t (rowid, x) VALUES (?, ?)", ((cp, f"q{chr(cp)}q") for cp in points)
            )
            found: dict[int, list[tuple[int, str]]] = {}
            for doc, term, offset in self._conn.execute("SELECT doc, term, offset FROM v"):
                found.setdefault(doc, []).append((offset, term))
        table: dict[int, str | None] = {}
        for cp in points:
            terms = [term for _, term in sorted(found.get(cp, []))]
            # "q", "q": a separator; "qXq": a token character folded to X.
            table[cp] = terms[0][1:-1] if len(terms) == 1 else None
        return table

    def fold(self, char: str) -> str | None:
        code = ord(char)
        try:
            return self.table[code]
        except KeyError:
            self._learn(self._probe([code]))
            return self.table[code]


@functools.cache
def _unicode61() -> _Unicode61:
    return _Unicode61()


def index_tokens(text: str) -> list[str]:
    """The tokens FTS5 indexes for `text` (after the store's ё folding), in order."""
    return _unicode61().tokens(fold(text))


def _lexeme(token: str) -> str:
    if "'" not in token and "\\" not in token:
        return f"'{token}'"
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def to_tsvector(text: str) -> str:
    """The tsvector literal (lexemes with positions) of a post's text, for PostgreSQL."""
    positions: dict[str, list[str]] = {}
    for index, token in enumerate(index_tokens(text), start=1):
        # (4 bytes a character at most in UTF-8: only a long token needs encoding)
        if len(token) * 4 > TSVECTOR_MAX_LEXEME_BYTES and (
            len(token.encode()) > TSVECTOR_MAX_LEXEME_BYTES
        ):
            continue  # PostgreSQL refuses longer words; no one searches for one
        position = str(min(index, TSVECTOR_MAX_POSITION))
        where = positions.get(token)
        if where is None:
            positions[token] = [position]
        elif len(where) < 256 and where[-1] != position:
            where.append(position)  # positions rise (no sort); past the cap, one is kept
    return " ".join(f"{_lexeme(token)}:{','.join(where)}" for token, where in positions.items())


def to_tsquery(match: str) -> str:
    """A PostgreSQL tsquery literal for an FTS5 expression made by this module's builders
    (quoted terms with optional `*`, phrases joined by `+`, and AND / OR between them).

    Each quoted term is tokenized as FTS5 tokenizes it; a phrase with a term that has no
    tokens matches nothing, as in FTS5.
    """
    phrases: list[list[str] | None] = [[]]  # None: a phrase that can match nothing
    operators: list[str] = []
    pos, joined = 0, True
    while pos < len(match):
        if match[pos].isspace():
            pos += 1
        elif (term := _FTS5_TERM_RE.match(match, pos)) is not None:
            if not joined:
                raise QueryError(f"not a query this store builds: {match[:60]!r}")
            tokens = index_tokens(term.group(1).replace('""', '"'))
            current = phrases[-1]
            if not tokens or current is None:
                phrases[-1] = None
            else:
                lexemes = [_lexeme(token) for token in tokens]
                if term.group(2):
                    lexemes[-1] += ":*"
                current.extend(lexemes)
            pos, joined = term.end(), False
        elif match.startswith("+", pos) and not joined:
            pos, joined = pos + 1, True
        elif (word := match[pos : pos + 3].rstrip()) in ("AND", "OR") and not joined:
            operators.append("&" if word == "AND" else "|")
            phrases.append([])
            pos, joined = pos + len(word), True
        else:
            raise QueryError(f"not a query this store builds: {match[:60]!r}")
    if joined:
        raise QueryError(f"not a query this store builds: {match[:60]!r}")
    rendered = [
        "(" + " <-> ".join(phrase) + ")" if phrase else "('x' & !'x')" for phrase in phrases
    ]
    out = [rendered[0]]
    for operator, part in zip(operators, rendered[1:], strict=True):
        out += [operator, part]
    return " ".join(out)
