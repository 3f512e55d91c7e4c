"""Is a model's line supported by the posts it cites? Names, places, figures and dates it
states must be found in those posts, and its meaning must be close to theirs.

The posts are in Ukrainian, Russian or English and the line is often in another language,
so names are compared through two spellings that survive translation: the transliterated
skeleton of `text.stem` (Лукашенко / Lukashenko → "lukas") and its consonants
(Дніпро / Днепр / Dnipro → "dnpr", Одессе / Odesa → "ds"). A line that fails is never shown
as fact: the story keeps its extractive line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.digest.dates import dates_named
from bot.digest.text import skeleton, stem
from bot.digest.verify import figures, known_figures
from bot.models import Story
from bot.words import LETTERS_RE

MEANING_MIN = 0.82
"""Cosine (multilingual e5) between a line and the closest of its posts below which the line
says something else. On the labelled varta pairs, a real report of the same event in
another channel and language scores at least this in 98% of cases (docs/grouping.md)."""
NAME_RE = re.compile(r"\b[A-ZА-ЯЁІЇЄҐЎ][\w'’ʼ-]*[\w]")
SENTENCE_START_RE = re.compile(r"(?:^|[.!?…:;]\s+|[\"«“(]\s*)$")
VOWELS = str.maketrans("", "", "aeiouy")
# Words a line may start a sentence or a title with that are no claim about the event.
_COMMON_TEXT = """
    the a an in on at after before during as according this that these those it its they he
    she there here while when where why how what which who since until also but and or so
    yet still however meanwhile both all some many most several few no not one two three
    earlier later today yesterday tonight overnight monday tuesday wednesday thursday friday
    saturday sunday update updated breaking report reports officials official authorities
    president minister ministry government police army military forces air force defence
    defense emergency service state city region oblast people residents children civilians
    january february march april may june july august september october november december
"""
COMMON = frozenset(_COMMON_TEXT.split())
# Names whose translations share no spelling: an English acronym and its Cyrillic forms.
ACRONYMS = {
    "csto": ("одкб",), "eu": ("ес", "єс"), "un": ("оон",), "us": ("сша",), "usa": ("сша",),
    "uk": ("великобритан", "британ"), "eaeu": ("еаэс",), "iaea": ("магатэ", "магате"),
    "znpp": ("заэс", "заес"), "osce": ("обсе", "обсє"), "pace": ("пасе", "парє"),
    "icc": ("мус", "мкс"), "uav": ("бпла", "бпла", "дрон"), "uavs": ("бпла", "дрон"),
    "nato": ("нато",), "ukraine": ("укра",), "russia": ("рос", "рф"), "russian": ("рос", "рф"),
    "ukrainian": ("укра",), "belarusian": ("белар", "белор", "беларус"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Support:
    """Whether a line may be shown, and if not, why (for the digest's notes)."""

    ok: bool
    reason: str = ""


SUPPORTED = Support(True)


def consonants(word: str) -> str:
    """ "Днепр", "Дніпро", "Dnipro" → "dnpr". An English j is the Cyrillic дж (Tajikistan)."""
    spelled = skeleton(word.lower().replace("j", "дж") if word.isascii() else word)
    return spelled[:1] + spelled[1:].translate(VOWELS)


def _vocabulary(story: Story) -> tuple[set[str], set[str], str]:
    stems: set[str] = set()
    skeletons: set[str] = set()
    for post in story.posts:
        for word in LETTERS_RE.findall(post.text):
            stems.add(stem(word.lower()))
            skeletons.add(consonants(word))
    text = " ".join(post.text.lower() for post in story.posts)
    return stems, skeletons, text


def names_in(line: str) -> list[str]:
    """Capitalised words that make a claim: not a sentence's common first word."""
    found = []
    for match in NAME_RE.finditer(line):
        word = match.group(0).rstrip("'’ʼ").removesuffix("'s").removesuffix("’s")
        at_start = SENTENCE_START_RE.search(line[: match.start()]) is not None
        if word.lower() in COMMON or (at_start and word.lower() in COMMON):
            continue
        if len(word) < 3 and not word.isupper():
            continue
        found.append(word)
    return found


def _name_found(word: str, stems: set[str], skeletons: Iterable[str], text: str) -> bool:
    if stem(word.lower()) in stems:
        return True
    if any(form in text for form in ACRONYMS.get(word.lower().replace(".", ""), ())):
        return True
    mine = consonants(word)
    if len(mine) < 2:
        return True  # too short to tell anything apart
    for theirs in skeletons:
        if theirs[:1] != mine[:1]:
            continue
        if mine == theirs or (
            min(len(mine), len(theirs)) >= 3
            and (theirs.startswith(mine) or mine.startswith(theirs))
        ):
            return True
    return False


def check_line(text: str, story: Story, closeness: float | None = None) -> Support:
    """`closeness`: the line's best cosine to the story's posts, when embeddings are on."""
    missing = sorted(figures(text) - known_figures([story]), key=len, reverse=True)
    if missing:
        return Support(False, f"the figure {missing[0]} is not in its posts")
    stated = dates_named(text)
    if stated:
        known = set().union(*(dates_named(p.text) for p in story.posts))
        known |= {(p.date.month, p.date.day) for p in story.posts}
        if not stated <= known:
            month, day = sorted(stated - known)[0]
            return Support(False, f"the date {day:02d}.{month:02d} is not in its posts")
    stems, skeletons, everything = _vocabulary(story)
    for name in names_in(text):
        if not _name_found(name, stems, skeletons, everything):
            return Support(False, f"“{name}” is not in its posts")
    if closeness is not None and closeness < MEANING_MIN:
        return Support(False, f"its meaning is far from its posts (cosine {closeness:.2f})")
    return SUPPORTED
