"""What kind of post this is: a report of one event, or a round-up of several.

A round-up ("Главное к утру среды", a morning briefing with one bullet per story) reads
like every story it lists. It must not join those stories into one, and a topic it
mentions in its fourth bullet is not its subject: the relevance score and the sentence
choice read the bullet about the topic, not the post's lead.
"""

from __future__ import annotations

import re

from bot.digest.text import WORD_RE

ROUNDUP_HEADER_RE = re.compile(
    r"^\W*(?:главное (?:к|за|на) |главные новости|головне (?:за|на|до) |головні новини|"
    r"коротко о главном|итоги дня|"
    r"підсумки дня|дайджест|digest|the latest|morning briefing|main news|что известно|"
    r"новости (?:к|на) (?:утру|вечеру|этот час)|news (?:roundup|round-up))",
    re.IGNORECASE,
)
BULLET_RE = re.compile(r"^\s*(?:[^\w\s\"«(\[]{1,3}|\d{1,2}[.)])\s*\S")
MIN_BULLETS = 3
MIN_BULLET_WORDS = 6


def bullets(text: str) -> list[str]:
    """The lines of a post that open with a bullet mark and say something (6+ words)."""
    return [
        line
        for line in text.splitlines()
        if BULLET_RE.match(line) and len(WORD_RE.findall(line)) >= MIN_BULLET_WORDS
    ]


def is_roundup(text: str) -> bool:
    """A post that lists several stories: a round-up header, or three or more long bullets
    that each link somewhere else. Bullets alone are no sign: "Главное из заявлений
    президента" or "▪️ НПЗ … ▪️ ЗРК …" list the facts of one event."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if ROUNDUP_HEADER_RE.match(first.replace("*", "").replace("_", "")):
        return True
    linked = [line for line in bullets(text) if "](" in line or "http" in line]
    return len(linked) >= MIN_BULLETS
