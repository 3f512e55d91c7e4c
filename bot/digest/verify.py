"""Verification of a model's answer: the model writes text, the program owns every citation.

`parse_answer` reads structured JSON or plain lines with `[n]` markers into candidate items;
`lines_by_story` keeps the source numbers the prompt really had, drops items left with
none, removes every link and handle the model wrote, and keys each line by its story (at
most one per story). Whether a line may be shown is `support.check_line`'s call. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from bot.digest.tappable import remove_links
from bot.digest.text import MARKDOWN_MARK_RE
from bot.models import Story
from bot.words import LETTERS_RE, shorten

MAX_ITEM_CHARS = 600
MAX_SOURCE_NUMBER = 100_000
"""Larger numbers cannot be a source; they are counted as dropped citations."""

# "[3]", "[2, 5]", "[source 3]", "[Sources: 1; 4]".
MARKER_RE = re.compile(
    r"\[\s*(?:(?:sources?|src|n)\s*[:=#]?\s*)?(\d{1,6}(?:\s*[,;]\s*\d{1,6})*)\s*\]",
    re.IGNORECASE,
)
DIGITS_RE = re.compile(r"\d{1,6}")
# A reference written as a string: "3", "[3]", "source 3", "#3". Only a source number: the
# digits of "https://t.me/c/1/1" or "item 2 of 5" are not a reference to anything.
REFERENCE_RE = re.compile(
    r"\[?\s*(?:(?:sources?|src|n)\s*[:=#]?\s*|#)?(\d{1,6})\s*\]?", re.IGNORECASE
)
BULLET_RE = re.compile(r"^(?:[-*•·–—]+|\d{1,3}[.)]|\(\d{1,3}\))\s+")
JSON_LIST_START_RE = re.compile(r"\[\s*[{\]]")
FENCE_RE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.DOTALL)
# A complete {"text": …, "sources": […]} object, to salvage items from a cut-off answer.
JSON_ITEM_RE = re.compile(
    r'\{\s*"text"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"sources"\s*:\s*\[([^\]]*)\]\s*\}'
)

# Every pattern here is bounded or anchored so that hostile model text (100,000 letters
# without a space) costs linear time, never quadratic.
MARKDOWN_LINK_RE = re.compile(r"\[([^\]\n]{0,1000})\]\(([^)\s]{0,4000})\)")
HTML_TAG_RE = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
SCHEME_URL_RE = re.compile(r"[^\s:/]{0,32}://\S*|\bwww\.\S*", re.IGNORECASE)
TG_LINK_RE = re.compile(
    r"\b(?:tg|ton|tonsite):\S*|\b(?:t|telegram)\.(?:me|dog)\b(?:/\S*)?", re.IGNORECASE
)
# Anything shaped like a Latin domain, in model text (where removing too much costs little):
# evil.example, News.Site.COM/path, with any dot a client reads as one. Links in other
# scripts (пример.дети) and IP hosts are found by Telegram's rules (`remove_links`).
DOMAIN_SHAPE_RE = re.compile(
    r"(?<![\w@.．。｡])(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?[.．。｡])+[a-z]{2,24}\b(?:/\S*)?",
    re.IGNORECASE,
)
EMAIL_RE = re.compile(r"[^\s@＠]{1,64}[@＠][^\s@＠]{1,253}?[.．。｡]\w+")
HANDLE_RE = re.compile(r"(?<!\w)[@＠][@＠\w]*|/\w+[@＠]\w+")
EMPTY_BRACKETS_RE = re.compile(r"\(\s*[,;:]?\s*\)|\[\s*\]")
SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([,.;:!?])")

# A figure: digits, with thousands grouped by a comma, dot, space or apostrophe.
FIGURE_RE = re.compile(r"(?<!\d)\d{1,3}(?:[,.\u00a0\u202f\u2009 '’]\d{3})+(?!\d)|\d+")
_SEPARATORS = str.maketrans("", "", ",.\u00a0\u202f\u2009 '’")


@dataclass(frozen=True, slots=True)
class Candidate:
    """An item as the model wrote it, before verification."""

    text: str
    sources: tuple[int, ...]
    unreadable_sources: int = 0
    """References that were not numbers at all (counted as dropped citations)."""


@dataclass(slots=True)
class StoryLines:
    """The model's line for each story it wrote about, and what could not be used."""

    lines: dict[int, str] = field(default_factory=dict)
    """Source (story) number -> the model's cleaned line for it."""
    dropped_items: int = 0
    """Items that cited no source the prompt had, had no text, or told a story twice."""
    dropped_citations: int = 0
    """References that were not a source of the prompt."""

    def extend(self, other: StoryLines) -> None:
        for number, line in other.lines.items():
            if number in self.lines:
                self.dropped_items += 1
            else:
                self.lines[number] = line
        self.dropped_items += other.dropped_items
        self.dropped_citations += other.dropped_citations


# ----- parsing ----------------------------------------------------------------------


def marker_numbers(text: str) -> list[int]:
    """Source numbers cited with `[n]` markers, in order of appearance."""
    return [int(n) for match in MARKER_RE.finditer(text) for n in DIGITS_RE.findall(match[1])]


def without_markers(text: str) -> str:
    return MARKER_RE.sub("", text)


def parse_answer(answer: str) -> list[Candidate] | None:
    """Candidate items from a model's answer, or None when it cannot be read at all.

    JSON first (bare, fenced, or embedded after a preamble; complete items are salvaged
    from a cut-off answer), else one item per line or bullet carrying `[n]` markers.
    """
    json_text = _json_part(answer)
    if json_text is not None:
        value = _loads(json_text)
        if value is not None:
            candidates = _from_json(value)
            if candidates is not None:
                return candidates
        salvaged = _salvage(json_text)
        return salvaged or None
    return _from_lines(answer)


def _json_part(answer: str) -> str | None:
    fenced = FENCE_RE.search(answer)
    if fenced and fenced[1].lstrip()[:1] in ("{", "["):
        return fenced[1].strip()
    stripped = answer.strip()
    if stripped[:1] == "{" or JSON_LIST_START_RE.match(stripped):
        return stripped
    start = answer.find("{")
    if start >= 0 and '"items"' in answer[start:]:
        end = answer.rfind("}")
        return answer[start : end + 1] if end > start else answer[start:]
    return None


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _from_json(value: Any) -> list[Candidate] | None:
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        entries: list[Any] = value["items"]
    elif isinstance(value, list):
        entries = value
    elif isinstance(value, dict) and "text" in value:
        entries = [value]
    else:
        return None
    return [_json_candidate(entry) for entry in entries]


def _json_candidate(entry: Any) -> Candidate:
    if isinstance(entry, str):
        return Candidate(without_markers(entry), tuple(marker_numbers(entry)))
    if not isinstance(entry, dict):
        return Candidate("", ())
    text = entry.get("text")
    if not isinstance(text, str):
        return Candidate("", ())
    numbers: list[int] = []
    unreadable = 0
    # "source": the story the line tells (the current format); "sources" and [n] markers
    # are read too, from servers or templates of the earlier format.
    refs = [entry["source"]] if "source" in entry else []
    raw = entry.get("sources", [])
    refs += raw if isinstance(raw, list) else [raw]
    numbers += marker_numbers(text)
    ordered: list[int] = []
    for ref in refs:
        number = _number(ref)
        if number is None:
            unreadable += 1
        else:
            ordered.extend(number)
    return Candidate(without_markers(text), tuple(ordered + numbers), unreadable)


def _number(ref: Any) -> list[int] | None:
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return [ref]
    if isinstance(ref, float) and ref.is_integer() and abs(ref) <= MAX_SOURCE_NUMBER:
        return [int(ref)]
    if isinstance(ref, str):
        match = REFERENCE_RE.fullmatch(ref.strip())
        return [int(match[1])] if match else None
    return None


def _salvage(text: str) -> list[Candidate]:
    out = []
    for match in JSON_ITEM_RE.finditer(text):
        value = _loads(match[1])
        if isinstance(value, str):
            refs = _loads(f"[{match[2]}]")
            numbers: list[int] = []
            unreadable = 0
            for ref in refs if isinstance(refs, list) else [match[2]]:
                number = _number(ref)
                if number is None:
                    unreadable += 1
                else:
                    numbers.extend(number)
            out.append(
                Candidate(
                    without_markers(value), tuple(numbers + marker_numbers(value)), unreadable
                )
            )
    return out


def _from_lines(answer: str) -> list[Candidate] | None:
    candidates = []
    for line in answer.splitlines():
        stripped = MARKDOWN_MARK_RE.sub("", line).strip()
        if not stripped:
            continue
        bullet = BULLET_RE.match(stripped)
        body = stripped[bullet.end() :] if bullet else stripped
        numbers = marker_numbers(body)
        if not numbers and not bullet:
            continue  # prose around the items: a title, a preamble, a sign-off
        candidates.append(Candidate(without_markers(body), tuple(numbers)))
    return candidates or None


# ----- verification -----------------------------------------------------------------


def strip_links(text: str) -> str:
    """Item text with every link, address and handle the model wrote removed.

    Links in a digest come only from stored posts; whatever the model writes is text.
    """
    text = MARKDOWN_LINK_RE.sub(r"\1", text)
    text = HTML_TAG_RE.sub(" ", text)
    text = EMAIL_RE.sub(" ", text)
    text = SCHEME_URL_RE.sub(" ", text)
    text = TG_LINK_RE.sub(" ", text)
    text = remove_links(text)
    text = DOMAIN_SHAPE_RE.sub(" ", text)
    return HANDLE_RE.sub(" ", text)


def clean_item_text(text: str) -> str:
    """Plain, one-line item text: no markers, links, handles or markup."""
    text = strip_links(without_markers(text))
    text = MARKDOWN_MARK_RE.sub("", text)
    text = " ".join(text.split())
    text = BULLET_RE.sub("", text)
    for _ in range(2):
        text = EMPTY_BRACKETS_RE.sub("", text)
        text = SPACE_BEFORE_PUNCT_RE.sub(r"\1", " ".join(text.split()))
    text = text.strip(" ,;:—–-|/")
    if not LETTERS_RE.search(text):
        return ""
    return shorten(text, MAX_ITEM_CHARS)


def figures(text: str) -> set[str]:
    """The figures in a text, normalised: "1,500", "1 500" and "1500" are all "1500"."""
    return {match.translate(_SEPARATORS).lstrip("0") or "0" for match in FIGURE_RE.findall(text)}


def known_figures(stories: Sequence[Story]) -> set[str]:
    """Figures an item may state about these stories: any in their posts' texts, plus
    the channel and post counts and the posts' dates (day, month, year; UTC)."""
    known: set[str] = set()
    for story in stories:
        known.update(str(n) for n in (len(story.channels), len(story.posts)))
        for post in story.posts:
            known |= figures(post.text)
            day = post.date.astimezone(UTC)
            known.update(str(n) for n in (day.day, day.month, day.year))
    return known


def lines_by_story(candidates: Sequence[Candidate], sources: Mapping[int, Story]) -> StoryLines:
    """At most one line per story: an item belongs to the first source it cites that the
    prompt had; a later item for the same story is dropped. The program, not the model,
    decides which posts a line cites: all posts of its story."""
    result = StoryLines()
    for candidate in candidates:
        known: list[int] = []
        unknown = candidate.unreadable_sources
        for number in dict.fromkeys(candidate.sources):
            if number in sources and sources[number].posts:
                known.append(number)
            else:
                unknown += 1
        result.dropped_citations += unknown
        text = clean_item_text(candidate.text)
        if not known or not text or known[0] in result.lines:
            result.dropped_items += 1
            continue
        result.lines[known[0]] = text
    return result
