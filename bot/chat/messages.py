"""Fitting HTML replies into Telegram messages.

A digest is rendered as parts (header, one per item, footer); messages are packed from
whole parts, so a split falls between items, never inside a tag or a link. A single part
too long for one message (a model that wrote an essay) is cut between lines, then
between words outside any tag or entity.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from telegram.constants import MessageLimit

MAX_MESSAGE = MessageLimit.MAX_TEXT_LENGTH  # 4096
SEPARATOR = "\n\n"
TAG_RE = re.compile(r"<[^>]*>")


def visible_length(fragment: str) -> int:
    """Characters Telegram counts: tags removed, entities decoded."""
    return len(html.unescape(TAG_RE.sub("", fragment)))


def pack_messages(parts: Sequence[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Whole parts per message, as few messages as fit; raw length kept under `limit`.

    The raw (markup-included) length is a safe upper bound of what Telegram counts.
    """
    return _pack((piece for part in parts for piece in _fit(part, limit)), SEPARATOR, limit)


def _pack(pieces: Iterable[str], joiner: str, limit: int) -> list[str]:
    """Greedy packing: as many consecutive pieces per chunk as fit in `limit`."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def _fit(part: str, limit: int) -> list[str]:
    """A part as pieces of at most `limit` characters, cut only where markup allows."""
    if len(part) <= limit:
        return [part]
    return _pack(
        (chunk for line in part.split("\n") for chunk in _cut_line(line, limit)), "\n", limit
    )


def _cut_line(line: str, limit: int) -> list[str]:
    """Cut an overlong line at spaces that are outside tags; tags are kept whole.

    A line with an open tag that spans the cut (e.g. a long <b>…</b>) loses that tag's
    markup rather than being cut inside it.
    """
    if len(line) <= limit:
        return [line]
    if TAG_RE.search(line):
        line = html.escape(html.unescape(TAG_RE.sub("", line)), quote=False)
        if len(line) <= limit:
            return [line]
    out: list[str] = []
    while len(line) > limit:
        cut = _safe_cut(line, limit)
        out.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    if line:
        out.append(line)
    return out


def _safe_cut(text: str, limit: int) -> int:
    """The last space before `limit` not inside an entity; a hard cut if there is none."""
    window = text[:limit]
    cut = window.rfind(" ")
    if cut <= 0:
        cut = limit
    amp = window.rfind("&", 0, cut)
    if amp != -1 and ";" not in window[amp:cut]:
        cut = amp  # never split "&amp;"
    return max(cut, 1)
