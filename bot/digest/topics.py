"""Topics: named sets of multilingual terms that become FTS5 queries and bot commands."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.errors import QueryError, TopicError
from bot.query import Term, match_any, word_form_terms
from bot.words import fold

ALL_SOURCES = "digest"
"""The name of the all-sources digest (`/digest`, `/subscribe digest`); a reserved name."""
TOPIC_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Commands the bot owns; a topic may not shadow them.
RESERVED_NAMES = frozenset(
    {
        "start", "help", "digest", "search", "topics", "sources", "addsource", "removesource",
        "subscribe", "unsubscribe", "subscriptions", "status",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic from the topics file, or an ad-hoc query typed by a user."""

    name: str
    title: str
    description: str
    terms: tuple[Term, ...]
    fts_query: str | None
    """None: every post of the window (the all-sources digest)."""
    words: str = ""
    """What the user typed, for an ad-hoc query (so a "More" button can ask again)."""
    not_about: tuple[Term, ...] = ()
    """Phrases that contain a term but are about something else ("Минские соглашения" are
    the Donbas accords, not Belarus): a post found only through them is a passing mention."""

    @classmethod
    def everything(cls) -> Topic:
        """`/digest` alone: the top stories of every channel the team follows."""
        return cls(
            name=ALL_SOURCES, title="All sources",
            description="the top stories of every channel the team follows",
            terms=(), fts_query=None,
        )  # fmt: skip

    @classmethod
    def adhoc(cls, text: str) -> Topic:
        """`/digest some words`: every word must occur, in any of its inflected forms
        (see `word_form_stem`); operators in the text are inert."""
        terms = tuple(word_form_terms(text))
        query = " AND ".join(term.to_fts() for term in terms)
        words = " ".join(text.split())[:80]
        return cls(
            name="query", title=f"“{words}”", description="", terms=terms, fts_query=query,
            words=text,
        )  # fmt: skip

    def focus(self) -> re.Pattern[str] | None:
        """The topic's pattern, or None for the digest of every source (no topic to find)."""
        return self.pattern() if self.terms else None

    def pattern(self) -> re.Pattern[str]:
        """A regex finding the topic's terms in text, as FTS5 would (word starts, no case).

        The extractive summariser uses it to prefer the sentence that is about the topic
        when a long post mentions it in passing.
        """
        alternatives = [_term_regex(term) for term in self.terms]
        if not alternatives:
            return re.compile(r"(?!x)x")  # matches nothing
        unless = "".join(f"(?!{_term_regex(phrase)})" for phrase in self.not_about)
        return re.compile(unless + "(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


def _term_regex(term: Term) -> str:
    """A term as a regex over folded text: word starts, prefixes where the term has `*`."""
    words = [re.escape(fold(w).lower()) + (r"\w*" if p else r"\b") for w, p in term.words]
    return r"\b" + r"\W+".join(words)


def default_topics_path() -> Path:
    return Path(str(resources.files("bot") / "topics.toml"))


def load_topics(path: Path | None = None) -> dict[str, Topic]:
    """The shipped topics, extended by the file at `path` (TOPICS_FILE), keyed by name.

    A topic in `path` with the name of a shipped one replaces it; `include_shipped = false`
    at the top of the file keeps only the file's own topics.
    """
    shipped = read_topics_file(default_topics_path())
    if path is None:
        return shipped
    own, include_shipped = _read_topics(path)
    return {**shipped, **own} if include_shipped else own


def read_topics_file(path: Path) -> dict[str, Topic]:
    """The topics of one file, as written there."""
    return _read_topics(path)[0]


def _read_topics(path: Path) -> tuple[dict[str, Topic], bool]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TopicError(f"topics file {path} does not exist (TOPICS_FILE)") from None
    except UnicodeDecodeError:
        raise TopicError(f"topics file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise TopicError(f"topics file {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopicError(f"topics file {path} is not valid TOML: {exc}") from None
    include_shipped = data.get("include_shipped", True)
    if not isinstance(include_shipped, bool):
        raise TopicError(f"topics file {path}: include_shipped must be true or false")
    entries = data.get("topic")
    if not isinstance(entries, list) or not entries:
        raise TopicError(f"topics file {path} has no [[topic]] entries")
    topics: dict[str, Topic] = {}
    for index, entry in enumerate(entries, start=1):
        topic = _parse_topic(entry, f"{path}: topic #{index}")
        if topic.name in topics:
            raise TopicError(f"{path}: topic {topic.name!r} is defined twice")
        topics[topic.name] = topic
    return topics, include_shipped


def _parse_topic(entry: object, where: str) -> Topic:
    if not isinstance(entry, dict):
        raise TopicError(f"{where}: expected a table with name, title and terms")
    name = entry.get("name")
    if not isinstance(name, str) or not TOPIC_NAME_RE.match(name):
        raise TopicError(
            f"{where}: name {name!r} must be lower-case latin letters, digits or _ "
            "(it becomes a bot command)"
        )
    if name in RESERVED_NAMES:
        raise TopicError(f"{where}: name {name!r} is taken by a bot command")
    raw_terms = entry.get("terms")
    if not isinstance(raw_terms, list) or not raw_terms:
        raise TopicError(f"{where} ({name}): terms must be a non-empty list of strings")
    unique = _parse_terms(raw_terms, f"{where} ({name})", "term")
    raw_not_about = entry.get("not_about", [])
    if not isinstance(raw_not_about, list):
        raise TopicError(f"{where} ({name}): not_about must be a list of strings")
    return Topic(
        name=name,
        title=str(entry.get("title") or name.capitalize()),
        description=str(entry.get("description") or ""),
        terms=unique,
        fts_query=match_any(unique),
        not_about=_parse_terms(raw_not_about, f"{where} ({name})", "not_about phrase"),
    )


def _parse_terms(raw_terms: list[object], where: str, what: str) -> tuple[Term, ...]:
    terms = []
    for raw in raw_terms:
        if not isinstance(raw, str):
            raise TopicError(f"{where}: {what} {raw!r} is not a string")
        try:
            terms.append(Term.parse(raw))
        except QueryError as exc:
            raise TopicError(f"{where}: {exc}") from None
    return tuple(dict.fromkeys(terms))


def resolve_topic(topics: dict[str, Topic], name_or_text: str) -> Topic:
    """A configured topic by name (case-insensitive, `/belarus` too), else an ad-hoc query."""
    key = name_or_text.strip().lstrip("/").lower()
    if key in topics:
        return topics[key]
    return Topic.adhoc(name_or_text)
