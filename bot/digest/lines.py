"""Whether a sentence can stand alone as a digest line.

A digest line is read without its post: "Именно акции в поддержку…", "В связи с этим он…",
"Изменения не коснутся…" or "He said the talks…" point at something the reader never saw.
Such a sentence may still carry the topic; then the line is the post's lead with that
sentence after it, so the pronoun has its noun.
"""

from __future__ import annotations

import re

from bot.words import LETTERS_RE

# Openings that refer back to something said before (ru, uk, be, en), lower-cased.
_DANGLING_WORDS_TEXT = """
    именно это этот эта эти этим этого этой этом тот та те того той том такой такая такие он
    она оно они его ее её их ему ей им нем ней них там тогда также тоже поэтому однако но и
    а или впрочем причем причём зато ведь значит итак кроме изменения данный данная данные
    указанный указанная вышеуказанный последний последняя последние це цей ця ці цим цього
    цієї той та ті такий така такі він вона воно вони його її їх йому їй їм там тоді також
    теж тому однак але і й а або втім причому зате отже крім гэта гэты ён яна яны іх таксама
    але he she it they this these that those his her its their him them there also however
    but and or so thus then meanwhile moreover furthermore besides
"""
DANGLING_WORDS = frozenset(_DANGLING_WORDS_TEXT.split())
DANGLING_STARTS = (
    "в связи с", "при этом", "кроме того", "по его слов", "по ее слов", "по её слов",
    "по их слов", "по ее данн", "по её данн", "по его данн", "по их данн",
    "между тем", "в то же время", "в свою очередь",
    "с учетом этого", "с учётом этого", "в результате", "в ответ", "об этом",
    "у зв'язку", "у зв’язку", "при цьому", "крім того", "за його слов", "за її слов",
    "за їхніми слов", "як зазначає", "як зазначив", "водночас", "між тим", "у свою чергу",
    "про це", "у відповідь",
    "according to him", "according to her", "according to them", "in response", "at the same time",
    "as a result", "in addition", "on the other hand",
)  # fmt: skip
LEADING_CONNECTIVE_RE = re.compile(
    r"^(?:в связи с этим|при этом|кроме того|также|тоже|однако|но|и|а|впрочем|между тем|"
    r"у зв['’]язку з цим|при цьому|крім того|також|однак|але|і|водночас|"
    r"also|however|but|and|meanwhile|moreover)\s*,?\s+",
    re.IGNORECASE,
)
MIN_WORDS = 4
WIRE_LABEL_RE = re.compile(
    r"^(?:update(?:d)?(?:\s*\d+)?|breaking(?:\s+news)?|exclusive|срочно|молния|важно|"
    r"обновлено|оновлено|терміново|важливо|ексклюзив|эксклюзив)\s*[:|]\s+(?=\S)",
    re.IGNORECASE,
)
"""A channel's label before its headline ("Update: Death toll rises to 4…", "Срочно:"):
the reader of a digest line needs the news, not the channel's flag."""


def stands_alone(sentence: str) -> bool:
    """Whether a sentence makes sense without the sentences before it."""
    text = sentence.strip().lstrip("«\"“'(")
    if not text or text[0] in "—–-…,;:)":
        return False
    first = text[0]
    if first.isalpha() and first.islower():
        return False  # a fragment: the tail of a sentence cut at a line break
    words = LETTERS_RE.findall(text.lower())
    if len(words) < MIN_WORDS:
        return False
    if words[0] in DANGLING_WORDS:
        return False
    lower = " ".join(words[:6])
    return not lower.startswith(DANGLING_STARTS)


def opens_well(sentence: str) -> bool:
    """Like `stands_alone`, but a short opening ("Провів Ставку.") is fine: it will be
    followed by the next sentence of its post."""
    text = sentence.strip().lstrip("«\"“'(")
    if not text or not (text[0].isupper() or text[0].isdigit()):
        return False
    words = LETTERS_RE.findall(text.lower())
    return bool(words) and words[0] not in DANGLING_WORDS


def without_connective(sentence: str) -> str:
    """ "В связи с этим он в шутку вспомнил…" → "он в шутку вспомнил…": the part that can
    follow the lead after an ellipsis."""
    return LEADING_CONNECTIVE_RE.sub("", sentence.strip(), count=1)


def without_label(sentence: str) -> str:
    """ "Update: Death toll rises to 4 in Kyiv" → "Death toll rises to 4 in Kyiv"."""
    stripped = WIRE_LABEL_RE.sub("", sentence, count=1)
    return stripped if stripped[:1].isupper() or stripped[:1].isdigit() else sentence
