"""How central a topic is to a post: its subject, or a passing mention.

A digest of `belarus` is about Belarus. A post that says "Belarus" in its headline is
about it; one that says it in the seventh paragraph of a report on Georgia, in a job
advert ("…в России или Республике Беларусь"), or in one bullet of a round-up is not. The
score orders stories (see `ranking`) and puts passing mentions last, and the digest's JSON
says why. Pure functions over text; no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.digest.kinds import is_live_alert, is_roundup
from bot.digest.text import clean_text, sentences
from bot.words import LETTERS_RE, fold

HEADLINE, LEAD, THROUGHOUT, ROUNDUP, MENTION, ADVERT, NOT_A_REPORT, ALERT = (
    "headline", "lead", "throughout", "round-up", "passing mention", "advert", "not a report",
    "short alert",
)  # fmt: skip
SCORES = {
    HEADLINE: 1.0, LEAD: 0.85, THROUGHOUT: 0.65, ROUNDUP: 0.4, NOT_A_REPORT: 0.35,
    ALERT: 0.3, MENTION: 0.25, ADVERT: 0.05,
}  # fmt: skip
ALERT_WORDS = 10
"""In a digest of every source, a post this short ("БпЛА курсом на Суми") is a live alert,
not a story; it is shown after the reports."""
CENTRAL = 0.5
"""Below this a story is shown after every story the topic is central to."""
THROUGHOUT_SHARE = 0.3
"""Share of a post's sentences naming the topic for it to be about the topic."""
# Adverts: the Russian ad-marking token (erid) in a link, the #реклама tag, job and course
# offers. A team reading a topic digest does not want them among the news.
ADVERT_RE = re.compile(
    r"erid=|#реклама|#ad\b|\bреклама\b|промокод|скидк[аиу]|вакансі|вакансия|ищем (?:крутых )?"
    r"\w+ с опытом|откликнуться|резюме|подавайте заявку|зарегистрироваться|записаться на курс|"
    r"\bpromo code\b|we are hiring|apply now",
    re.IGNORECASE,
)


# What a report has and a joke, a meme or a one-line quip does not: a source ("сообщили в
# МЧС", "заявил", "said"), a figure, or a name besides the topic's own words.
SOURCE_RE = re.compile(
    r"сообщ|заяв|переда[её]т|по данным|по словам|пишет|пишут|рассказал|отметил|подтверд|"
    r"повідом|заяви|за даними|за словами|пише|розповів|зазначи|підтверд|"
    r"\bsaid\b|\bsays\b|\breport|\baccording to\b|\bconfirm|\bannounc|\bstated?\b",
    re.IGNORECASE,
)
NAME_RE = re.compile(r"(?<=[\w,;:»\)\]] )[A-ZА-ЯЁІЇЄҐЎ][\w'’ʼ-]+")
DIGIT_RE = re.compile(r"\d")


def looks_like_a_report(text: str, focus: re.Pattern[str]) -> bool:
    """A source, a figure or a name other than the topic: the marks of a news report."""
    if SOURCE_RE.search(text) or DIGIT_RE.search(text):
        return True
    return any(not focus.search(fold(name)) for name in NAME_RE.findall(text))


@dataclass(frozen=True, slots=True)
class Relevance:
    """A score from 0 to 1 and the reason, in words a reader understands."""

    score: float
    why: str

    @property
    def central(self) -> bool:
        return self.score >= CENTRAL


ABOUT_EVERYTHING = Relevance(1.0, "all sources")


def relevance(text: str, focus: re.Pattern[str] | None) -> Relevance:
    """How central the topic (`focus`, the topic's terms) is to `text`. With no topic (the
    digest of every source) every report is central, adverts and short alerts are not."""
    if ADVERT_RE.search(text):
        return Relevance(SCORES[ADVERT], ADVERT)
    if focus is None:
        words = len(LETTERS_RE.findall(clean_text(text)))
        if words < ALERT_WORDS or is_live_alert(clean_text(text)):
            return Relevance(SCORES[ALERT], ALERT)
        return ABOUT_EVERYTHING
    if is_roundup(text):
        return Relevance(SCORES[ROUNDUP], ROUNDUP)
    cleaned = clean_text(text)
    parts = sentences(cleaned)
    if not parts:
        return Relevance(SCORES[MENTION], MENTION)
    if not looks_like_a_report(cleaned, focus):
        return Relevance(SCORES[NOT_A_REPORT], NOT_A_REPORT)
    hits = [bool(focus.search(fold(part))) for part in parts]
    first_line = next((line for line in cleaned.splitlines() if line.strip()), "")
    if hits[0] or focus.search(fold(first_line)):
        return Relevance(SCORES[HEADLINE], HEADLINE)
    if any(hits[:2]):
        return Relevance(SCORES[LEAD], LEAD)
    if sum(hits) / len(hits) >= THROUGHOUT_SHARE:
        return Relevance(SCORES[THROUGHOUT], THROUGHOUT)
    return Relevance(SCORES[MENTION], MENTION)
