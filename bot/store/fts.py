"""The search index's own tokens: what FTS5's unicode61 makes of a text, so that the
PostgreSQL store indexes and queries exactly the same words (`to_tsvector`, `to_tsquery`).
The search terms and MATCH expressions themselves are in `bot.query`.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading

from bot.errors import QueryError
from bot.words import fold

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
