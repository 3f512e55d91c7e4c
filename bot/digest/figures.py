"""Figures that changed: the toll that rose through the day, or two channels' counts that
disagree, each with its source.

A post's figures are numbers (or number words) next to a word saying what they count, the
killed and the injured, in Ukrainian, Russian or English: "погибли 2 человека и 14
пострадали", "At least 6 killed, 40 injured", "кількість загиблих зросла до 15", "Four
people are now confirmed dead". Only posts that give one value for a kind take part. Drones
and missiles are left out on purpose: "652 из 675 БПЛА" counts the downed and the launched
in one breath, and two such counts are not two reports that disagree. Pure code; it works
with no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.digest.dates import DAY_MONTH_RE, MONTH_DAY_RE
from bot.digest.text import clean_text
from bot.models import Post, Story

KINDS: dict[str, tuple[str, ...]] = {
    "killed": (
        "killed", "kill", "dead", "died", "death", "fatalit",
        "загин", "загиб", "вбит", "вбил", "погиб", "убит", "убил", "жертв",
    ),
    "injured": (
        "injur", "wounded", "hurt",
        "поранен", "постражд", "травмов", "ранен", "пострадал", "пострадавш",
    ),
}  # fmt: skip
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "двоє": 2, "двох": 2, "троє": 3, "трьох": 3, "трое": 3, "троих": 3, "чотири": 4,
    "чотирьох": 4, "четыре": 4, "четверо": 4, "четырех": 4, "четырёх": 4, "пять": 5,
    "п'ять": 5, "п’ять": 5, "пʼять": 5, "пятеро": 5, "п'ятеро": 5, "п’ятеро": 5, "пʼятеро": 5,
    "п'ятьох": 5, "п’ятьох": 5, "пʼятьох": 5, "пятерых": 5, "шестеро": 6, "шістьох": 6,
    "шесть": 6, "шість": 6, "семеро": 7, "сімох": 7, "семь": 7, "сім": 7, "восемь": 8,
    "вісім": 8, "дев'ять": 9, "дев’ять": 9, "девять": 9, "десять": 10, "десятеро": 10,
}  # fmt: skip
"""Small counts are often written out: "Two people are now confirmed dead"."""
ORDINALS = {
    "первая": 1, "вторая": 2, "третья": 3, "четвертая": 4, "четвёртая": 4, "пятая": 5,
    "шестая": 6, "седьмая": 7, "восьмая": 8, "девятая": 9, "десятая": 10,
    "друга": 2, "третя": 3, "четверта": 4, "п'ята": 5, "п’ята": 5, "пʼята": 5, "шоста": 6,
    "сьома": 7, "восьма": 8, "дев'ята": 9, "дев’ята": 9, "десята": 10,
    "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}  # fmt: skip
"""A toll told as an ordinal, "это пятая жертва", "п'ята жертва", "the fifth victim": counted
only right before the victim ("третя доба поспіль" counts days, not the dead)."""
VICTIM = ("жертв", "victim")
MAX_AFTER = 5
"""Words from what is counted to its figure: "кількість загиблих у Дніпрі зросла до 15"."""
MAX_BEFORE = 3
"""Words from a figure to what it counts: "2 людини загинули", "107 ударними БпЛА"."""
NOT_COUNTS_RE = re.compile(
    rf"{DAY_MONTH_RE.pattern}|{MONTH_DAY_RE.pattern}|\d{{1,2}}[:.]\d\d", re.I
)
"""Dates and times: "у ніч на 24 квітня (з 18:00…)" counts nothing."""
TOKEN_RE = re.compile(
    r"(?<![\w-])\d{1,3}(?:[ \u00a0\u202f,]\d{3})+(?![\w%-])"  # 1 000, 1,500
    r"|(?<![\w.,:-])\d+(?![\w%:-]|[.,]\d)"  # 46, not 14.5%, 3-этажный or Ту-95
    r"|[^\W\d_]+(?:['’ʼ][^\W\d_]+)?"  # a word (п’ятьох)
)

CLAUSE_RE = re.compile(r"[.;!?\n]+\s*|,\s+(?=\D)")
MAX_VALUE = 100_000


@dataclass(frozen=True, slots=True)
class FigureReport:
    value: int
    post: Post


@dataclass(frozen=True, slots=True)
class FigureChange:
    """One kind of figure that the story's posts give differently, oldest report first."""

    kind: str
    reports: tuple[FigureReport, ...]

    @property
    def latest(self) -> FigureReport:
        return self.reports[-1]


def _kind_of(word: str) -> str | None:
    lower = word.lower()
    for kind, stems in KINDS.items():
        if lower.startswith(stems):
            return kind
    return None


def _ordinal_toll(tokens: Sequence[str], i: int) -> int | None:
    """The toll an ordinal gives when the next word is the victim ("пятая жертва")."""
    value = ORDINALS.get(tokens[i].lower())
    if value is None or i + 1 >= len(tokens) or not tokens[i + 1].lower().startswith(VICTIM):
        return None
    return value


def _number(token: str) -> int | None:
    if not token[0].isdigit():
        return NUMBER_WORDS.get(token.lower())
    value = int(re.sub(r"\D", "", token))
    return value if 0 < value <= MAX_VALUE else None


COUNTED_RE = re.compile(
    "|".join(re.escape(stem) for stems in KINDS.values() for stem in stems) + "|" + "|".join(VICTIM)
)
"""Any word that is counted (in lower case): a text with none gives no figures (most posts;
checked first, on the lower-cased text: re.IGNORECASE over Cyrillic is ten times slower)."""


def figures_of(text: str) -> dict[str, set[int]]:
    """Kind -> the values the text gives for it."""
    if COUNTED_RE.search(text.lower()) is None:
        return {}
    found: dict[str, set[int]] = {}
    for clause in CLAUSE_RE.split(NOT_COUNTS_RE.sub(" ", clean_text(text))):
        tokens = TOKEN_RE.findall(clause)
        for i in range(len(tokens)):
            if (toll := _ordinal_toll(tokens, i)) is not None:
                found.setdefault("killed", set()).add(toll)
        kinds = [(i, kind) for i, t in enumerate(tokens) if (kind := _kind_of(t))]
        if not kinds:
            continue
        for i, token in enumerate(tokens):
            value = _number(token)
            if value is None:
                continue
            # The nearest counted word; on a tie the one after ("2 killed", "107 drones").
            near = [
                (abs(j - i), j < i, k)
                for j, k in kinds
                if (j > i and j - i <= MAX_BEFORE) or (j < i and i - j <= MAX_AFTER)
            ]
            if near:
                found.setdefault(min(near)[2], set()).add(value)
    return found


def changed_figures(story: Story) -> list[FigureChange]:
    """The kinds whose single-valued reports differ across the story's posts."""
    reports: dict[str, list[FigureReport]] = {}
    for post in story.posts:
        for kind, values in figures_of(post.text).items():
            if len(values) == 1:
                reports.setdefault(kind, []).append(FigureReport(next(iter(values)), post))
    changes = []
    for kind in KINDS:
        found = reports.get(kind, [])
        if len({r.value for r in found}) > 1:
            changes.append(FigureChange(kind, tuple(_distinct_steps(found))))
    return changes


def _distinct_steps(reports: Sequence[FigureReport]) -> list[FigureReport]:
    """Oldest first, one report per run of equal values (the first to give each value)."""
    steps: list[FigureReport] = []
    for report in sorted(reports, key=lambda r: (r.post.date, r.post.id)):
        if not steps or steps[-1].value != report.value:
            steps.append(report)
    return steps
