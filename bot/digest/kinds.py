"""What kind of post this is: a report of one event, a round-up of several, or a live alert.

A round-up ("Главное к утру среды", a morning briefing with one bullet per story) reads
like every story it lists. It must not join those stories into one, and a topic it
mentions in its fourth bullet is not its subject: the relevance score and the sentence
choice read the bullet about the topic, not the post's lead.
"""

from __future__ import annotations

import re

from bot.words import LETTERS_RE

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
        if BULLET_RE.match(line) and len(LETTERS_RE.findall(line)) >= MIN_BULLET_WORDS
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


# A live air-raid alert names a threat and where it is heading ("Харківщина: група БпЛА ➡️ в
# напрямку Старого Салтова", "Ракети курсом на Дніпро. Перебувайте в укриттях!"). The air
# force posts hundreds a month; each is news for minutes, not a story for a digest.
THREAT_MOVING_RE = re.compile(
    r"\b(?:бпла|бла|шахед\w*|ракет\w*|(?-i:КАБ)|дрон\w*|ціл[ьі]|швидкісн\w*|авіаці\w*)"
    r"[^.!\n]{0,80}?(?:курсом|напрям\w*|направлени\w*|вектор\w*|повз|поблизу|наближа\w*|"
    r"приближа\w*|вход\w*|в бік|в р-ні|[ву] районі|передміст\w*|(?-i:над [А-ЯІЇЄҐ])|"
    r"з (?:пів|сход|заход)|(?-i:\bна [А-ЯІЇЄҐ]))|^\W*(?:увага|загроза)|укритт",
    re.IGNORECASE,
)
ALERT_MAX_WORDS = 40
NOT_AN_ALERT_RE = re.compile(
    r"\d|сообщ|заяв|повідом|заяви|said|предупрежд|попередж|жертв|погиб|загиб|ранен|поранен|"
    r"пострада|постражда|убил|вбив",
    re.IGNORECASE,
)


def is_live_alert(text: str) -> bool:
    """A short post whose opening names a threat on the move, with no figures and no
    source: an alert, not a report (a tally has figures; a report says who said so)."""
    if len(LETTERS_RE.findall(text)) >= ALERT_MAX_WORDS or NOT_AN_ALERT_RE.search(text):
        return False
    first = re.split(r"(?<=[.!?])\s+|\n", text.strip(), maxsplit=1)[0]
    return THREAT_MOVING_RE.search(first) is not None
