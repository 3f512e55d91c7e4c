"""Semantic evidence for grouping: pairs of posts whose meaning is close, and a merge rule
that keeps stories coherent.

Multilingual embeddings put "Russian strikes on Odesa kill 2, injure 14" and "В Одессе
вследствие российской атаки погибли 2 человека" close together, which shared words
cannot. They also put any two short air-raid alerts close together, so a close pair alone
is weak evidence, and single links chain (A ~ B ~ C while A and C are different nights).
Two guards: a pair must be very close, or close and sharing a rare name or number; and two
stories merge only when their members are close *on average* (average linkage: with unit
vectors the mean cosine between two groups is the dot product of their sums divided by
the product of their sizes, so the check costs one dot product).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class SemanticParams:
    """Thresholds, tuned on 390 labelled pairs of both shared corpora (tests/digest/labels,
    tests/digest/test_stories.py; docs/grouping.md has the figures)."""

    gap: timedelta = timedelta(hours=14)
    """Posts further apart than this are not joined on meaning: a night attack's reports
    run from the night to the evening; the next night's are a day later."""
    strong: float = 0.93
    """Cosine at which two posts are one event on meaning alone."""
    weak: float = 0.87
    """Cosine at which two posts are one event if they also share rare anchors…"""
    anchor_rarity: float = 1.0
    """…of at least this rarity (see `grouping.rarity`: two names only they share, or
    three that a few other posts of the window have too)."""
    average: float = 0.88
    """Mean cosine between the members of two stories needed to merge them."""
    max_span: timedelta = timedelta(hours=30)
    """A story merged on meaning never spans more than this."""
    translation: float = 0.84
    """Cosine at which a channel's next post in the other script is its own translation
    (a president's statement in Ukrainian, then in English: 0.85-0.90; his unrelated
    posts an hour apart score 0.79-0.80)…"""
    translation_gap: timedelta = timedelta(hours=2)
    """…when it follows within this time."""
    toll: float = 0.78
    """Cosine at which two reports of a toll (the killed or the injured) in the same city,
    within `gap`, are one event's: "Death toll rises to 4 in Kyiv" and "в Киеве … пятая
    жертва ночного обстрела" score 0.82, two unrelated posts of that day 0.76-0.80…"""
    toll_lead_chars: int = 300
    """…the city named in the first this many characters (the headline and lead)…"""
    toll_max_places: int = 2
    """…and at most this many cities there (more is a round-up of the night)."""
    min_chars: int = 50
    """Shorter texts say too little for their vectors to mean much."""
    block: int = 512
    """Rows per matrix product when searching pairs (bounds memory, not results)."""


DEFAULT_SEMANTIC = SemanticParams()


def latin_script(text: str) -> bool:
    """Whether a text is written mostly in Latin letters (English) rather than Cyrillic."""
    latin = cyrillic = 0
    for char in text:
        if "a" <= char <= "z" or "A" <= char <= "Z":
            latin += 1
        elif "\u0400" <= char <= "\u04ff":
            cyrillic += 1
    return latin > cyrillic


def close_pairs(
    times: Sequence[float], matrix: Matrix, gap_seconds: float, floor: float, block: int = 512
) -> list[tuple[float, int, int]]:
    """(cosine, i, j) for i < j with cosine >= floor and |t_i - t_j| <= gap, best first.

    `times` must be sorted. Rows are compared block by block with the rows that follow
    within the gap, so the work grows with posts × posts-per-gap, not posts².
    """
    n = len(times)
    found: list[tuple[float, int, int]] = []
    stamps = np.asarray(times, dtype=np.float64)
    for start in range(0, n, block):
        stop = min(n, start + block)
        reach = int(np.searchsorted(stamps, stamps[stop - 1] + gap_seconds, side="right"))
        sims = matrix[start:stop] @ matrix[start:reach].T
        rows, cols = np.nonzero(sims >= floor)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i, j = start + r, start + c
            if j <= i or stamps[j] - stamps[i] > gap_seconds:
                continue
            found.append((float(sims[r, c]), i, j))
    found.sort(key=lambda item: (-item[0], item[1], item[2]))
    return found


class Linkage:
    """Running sums of the unit vectors of each story, for the average-linkage check."""

    def __init__(self, dim: int) -> None:
        self.sums: dict[int, Matrix] = {}
        self.counts: dict[int, int] = {}
        self.dim = dim

    def add(self, root: int, vector: Matrix) -> None:
        if root in self.sums:
            self.sums[root] = self.sums[root] + vector
            self.counts[root] += 1
        else:
            self.sums[root] = vector.astype(np.float32).copy()
            self.counts[root] = 1

    def mean_cosine(self, a: int, b: int) -> float:
        return float(self.sums[a] @ self.sums[b]) / (self.counts[a] * self.counts[b])

    def merge(self, keep: int, gone: int) -> None:
        self.sums[keep] = self.sums[keep] + self.sums.pop(gone)
        self.counts[keep] += self.counts.pop(gone)
