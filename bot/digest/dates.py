"""Calendar dates a post names ("у ніч на 25 квітня", "24 апреля", "May 29", "29.05").

Reports of two different nights' attacks read alike, and multilingual embeddings rate
them as similar as one night's reports in two languages. The date a report opens with
tells them apart: two posts that name dates, none in common, are not one event.
"""

from __future__ import annotations

import re

_MONTHS = {
    1: "січ|январ|january",
    2: "лют|феврал|february",
    3: "берез|март|march",
    4: "квіт|апрел|april",
    5: "трав|мая|май|may",
    6: "черв|июн|june",
    7: "лип|июл|july",
    8: "серп|август|august",
    9: "верес|сентябр|september",
    10: "жовт|октябр|october",
    11: "листопад|ноябр|november",
    12: "груд|декабр|december",
}
_MONTH_OF = {stem: month for month, stems in _MONTHS.items() for stem in stems.split("|")}
# Slavic stems take any ending (квітня, апреля); English names and "май" stand alone.
_MONTH = "|".join(
    stem if stem.isascii() or stem == "май" else stem + r"\w*"
    for stem in sorted(_MONTH_OF, key=len, reverse=True)
)
DAY_MONTH_RE = re.compile(rf"(?<!\d)([0-3]?\d)(?:-?(?:го|е|th|st|nd|rd))?\s+({_MONTH})\b", re.I)
MONTH_DAY_RE = re.compile(rf"\b({_MONTH})\s+([0-3]?\d)(?![\d:.,]\d)(?!\d)", re.I)
NUMERIC_RE = re.compile(r"(?<![\d.:])([0-3]?\d)\.([01]\d)(?:\.(?:20)?\d\d)?(?![\d.]\d)(?!\d)")


TIME_BEFORE_RE = re.compile(r"\d{1,2}[:.]\d\d\s*$")
PERIOD_RE = re.compile(r"\(\s*(?:з|із|зі|с|from|since)\s+(\d{1,2})[:.]\d\d", re.I)


def dates_named(text: str) -> frozenset[tuple[int, int]]:
    """(month, day) of every calendar date the text names, except the start of a time
    range: "у ніч на 25 квітня (з 18:00 24 квітня)" names the night of the 25th only."""
    named: set[tuple[int, int]] = set()
    starts: set[tuple[int, int]] = set()
    for match in DAY_MONTH_RE.finditer(text):
        if _is_month(match[2]):
            into = starts if _after_time(text, match.start()) else named
            into.add((_MONTH_OF[_stem(match[2])], int(match[1])))
    for match in MONTH_DAY_RE.finditer(text):
        if _is_month(match[1]):
            into = starts if _after_time(text, match.start()) else named
            into.add((_MONTH_OF[_stem(match[1])], int(match[2])))
    for match in NUMERIC_RE.finditer(text):
        into = starts if _after_time(text, match.start()) else named
        into.add((int(match[2]), int(match[1])))
    # "Протягом ночі (з 00:10 13 квітня)": the only date is a range start, and it is the day.
    found = named or starts
    return frozenset((month, day) for month, day in found if 1 <= month <= 12 and 1 <= day <= 31)


def period_starts(text: str) -> frozenset[int]:
    """Hours at which the periods a report covers begin: "(з 18:00 13 травня)" → 18,
    "(з 08:00 по 19:00)" → 8. An air force's night tally and its daytime tally of the same
    date name the same date, but not the same period."""
    return frozenset(int(match[1]) for match in PERIOD_RE.finditer(text) if int(match[1]) < 24)


def different_periods(a: frozenset[int], b: frozenset[int]) -> bool:
    """Both reports give the start of their period, and no two starts are within 2 hours."""
    return bool(a) and bool(b) and all(abs(x - y) >= 2 for x in a for y in b)


def different_dates(a: frozenset[tuple[int, int]], b: frozenset[tuple[int, int]]) -> bool:
    """Both posts name dates, and not one in common: two different days' events."""
    return bool(a) and bool(b) and not (a & b)


def _after_time(text: str, position: int) -> bool:
    return TIME_BEFORE_RE.search(text[max(0, position - 12) : position]) is not None


def _is_month(word: str) -> bool:
    """ "may" is a month only as "May": "Russia may 5…" is not a date."""
    return not (word.lower() == "may" and word[0] != "M")


def _stem(word: str) -> str:
    word = word.lower()
    for stem in sorted(_MONTH_OF, key=len, reverse=True):
        if word.startswith(stem):
            return stem
    raise KeyError(word)
