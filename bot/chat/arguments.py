"""Command arguments: words, then an optional span (`3d`), `all` and `brief`, in any order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.digest.window import DEFAULT_SPAN, looks_like_span, parse_span
from bot.errors import SpanError

TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MAX_ARGUMENT_CHARS = 200
ALL_WORD = "all"
BRIEF_WORD = "brief"


@dataclass(frozen=True, slots=True)
class DigestRequest:
    """What `/belarus 9d all`, `/belarus 3d brief` or `/digest Minsk 3d` asks for."""

    words: list[str]
    span: timedelta
    all_stories: bool = False
    brief: bool = False
    """A wire editor's brief instead of the digest's list (see bot.digest.brief)."""


def parse_digest_args(args: Sequence[str], allow_all: bool = True) -> DigestRequest:
    """Words, then a span and (with `allow_all`) the words `all` and `brief` at the end, in
    any order (`/digest brief` alone is the brief of every source).

    A trailing argument shaped like a span is always a span, so `-5h` or `99999d` is a
    clear error (SpanError) rather than a word of the query or a silent 24 hours.
    """
    words = [a for a in args if a.strip()]
    span: timedelta | None = None
    all_stories = brief = False
    while words:
        last = words[-1].strip()
        if span is None and looks_like_span(last):
            span = parse_span(last)
        elif allow_all and not all_stories and last.lower() == ALL_WORD:
            all_stories = True
        elif allow_all and not brief and last.lower() == BRIEF_WORD:
            brief = True
        else:
            break
        words.pop()
    return DigestRequest(words, span or DEFAULT_SPAN, all_stories, brief)


def split_span(args: Sequence[str]) -> tuple[list[str], timedelta]:
    """Words and the span; the span is the last argument when it looks like one."""
    request = parse_digest_args(args, allow_all=False)
    return request.words, request.span


def parse_time_of_day(text: str) -> str:
    """`8:00` → `08:00`; anything else is a clear error."""
    match = TIME_RE.match(text.strip())
    if not match:
        raise SpanError(f"{text.strip()[:10]!r} is not a time of day: use HH:MM, e.g. 08:00")
    return f"{int(match[1]):02d}:{match[2]}"


def clip(text: str) -> str:
    """User text is bounded before it goes anywhere."""
    return text[:MAX_ARGUMENT_CHARS]
