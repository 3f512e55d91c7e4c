"""Channel boilerplate: the lines a channel repeats under many of its posts.

"Читать нас без VPN можно здесь: bit.ly/…", "👉 Топор Live. Подписаться", a signature, a
block of hashtags. Such lines say nothing about the event, yet two unrelated posts of one
channel share them all, which makes them look alike to the grouping and crowds the lines a
reader should see. They are learned per channel from its stored posts and left out of
grouping, sentence choice and prompts; the stored text stays as it was.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from bot.words import LETTERS_RE

MIN_POSTS = 8
"""A channel with fewer stored posts than this has no habits to learn yet."""
MIN_SHARE = 0.15
MIN_REPEATS = 4
"""A line is boilerplate when it shows in at least this many posts, and this share."""
WITH_OTHER_TEXT = 0.8
"""…and, where it shows, the post usually says something else too: an air-raid channel
whose whole post is "БпЛА курсом на Харків" repeats its news, not a signature."""
MAX_KEY_WORDS = 40
HASHTAG_LINE_RE = re.compile(r"^\W*(?:#[^\W_][\w]*\W*)+$")


def line_key(line: str) -> str:
    """A line as its words, lower-cased: "❗️ [Подписывайся на Mash](…)" and
    "❗ [подписывайся на mash](…)" are one key."""
    return _words_key(line.lower())


def _words_key(lowered: str) -> str:
    return " ".join(LETTERS_RE.findall(lowered)[:MAX_KEY_WORDS])


def learn(texts: Sequence[str]) -> frozenset[str]:
    """The line keys that are boilerplate in this channel's posts."""
    if len(texts) < MIN_POSTS:
        return frozenset()
    seen: Counter[str] = Counter()
    alongside: Counter[str] = Counter()
    keys_of: dict[str, str] = {}  # a channel's lines repeat (that is what is looked for)
    for text in texts:
        keys = set()
        for line in text.lower().splitlines():
            key = keys_of.get(line)
            if key is None:
                key = keys_of[line] = _words_key(line)
            if key:
                keys.add(key)
        seen.update(keys)
        if len(keys) > 1:
            alongside.update(keys)
    needed = max(MIN_REPEATS, MIN_SHARE * len(texts))
    return frozenset(
        key
        for key, count in seen.items()
        if count >= needed and alongside[key] >= WITH_OTHER_TEXT * count
    )


def strip_boilerplate(text: str, keys: frozenset[str]) -> str:
    """The text without the channel's boilerplate lines and hashtag-only lines.

    A text made only of such lines is returned as it was: better a signature than nothing.
    """
    lines = text.splitlines()
    kept = [
        line
        for line in lines
        if not HASHTAG_LINE_RE.match(line) and (not keys or line_key(line) not in keys)
    ]
    if len(kept) == len(lines):
        return text
    if not any(LETTERS_RE.search(line) for line in kept):
        return text
    return "\n".join(kept)
