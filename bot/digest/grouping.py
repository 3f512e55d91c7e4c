"""Grouping the posts of a window into stories: the same event across channels.

A near-duplicate join, not exact matching. Each post becomes a set of stems (`features`);
stems are weighted by how rare they are in the window (IDF), so "заявил" counts for little
and "Орешник" or "19:17" for a lot. Candidate pairs come from an inverted index over each
post's rarest stems (a prefix filter: near-duplicates share their rare words), limited to
posts close in time; each candidate is verified with weighted Jaccard and weighted
containment; accepted pairs are merged with union-find.

Cost grows with the number of candidate pairs, not with the square of the window: a
post is compared only with posts that share one of its few rarest stems within `max_gap`.

With embeddings (`vectors`), a second pass joins stories on meaning, across languages,
under the guards of `semantic` (close pairs, shared anchors, no two different dates named,
average linkage). Posts without a vector take part in the lexical pass only.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise

import numpy as np

from bot.digest.dates import dates_named, different_dates, different_periods, period_starts
from bot.digest.figures import figures_of
from bot.digest.kinds import is_roundup
from bot.digest.places import places_named
from bot.digest.semantic import (
    DEFAULT_SEMANTIC,
    Linkage,
    Matrix,
    SemanticParams,
    close_pairs,
    latin_script,
)
from bot.digest.text import PostFeatures, clean_text, post_features
from bot.models import Post, Story


@dataclass(frozen=True, slots=True)
class GroupingParams:
    """Thresholds, tuned on the shared ru-news-2024 corpus (see tests/digest/test_grouping)."""

    max_gap: timedelta = timedelta(hours=36)
    """Posts further apart than this are never the same event."""
    key_stems: int = 6
    """How many of a post's rarest stems index it for candidate search."""
    max_bucket_neighbours: int = 60
    """Within one stem's posting list, compare a post with at most this many later posts."""
    jaccard: float = 0.42
    """Weighted Jaccard at or above which two posts are one story (reposts, rewrites)."""
    containment: float = 0.72
    """Share of the shorter post's weight found in the longer one (a short repost of a
    longer report)…"""
    containment_min_ratio: float = 0.25
    """…accepted only when the shorter is at least this fraction of the longer, so a long
    round-up does not swallow every story it mentions."""
    min_stems: int = 3
    """Posts with fewer stems than this stay alone: too little text to judge."""
    short_stems: int = 8
    """Posts with fewer stems than this (an air-raid alert, "БпЛА курсом на Суми")…"""
    short_gap: timedelta = timedelta(hours=2)
    """…join only posts this close: the same alert at 08:36 and at 23:01 is two alerts."""
    key_anchors: int = 4
    """How many of a post's rarest anchors (names, numbers) also index it."""
    anchor_jaccard: float = 0.5
    """Weighted Jaccard of anchors at or above which posts in different languages, which
    share names and numbers but few other stems, are one story…"""
    anchor_min_shared: int = 3
    """…when they share at least this many anchors."""
    anchor_containment: float = 0.75
    """Share of the smaller anchor set found in the other, enough when the shared anchors
    include a number (a date, a count): "Lukashenko … 14 March" in three languages."""
    semantic: SemanticParams = field(default_factory=lambda: DEFAULT_SEMANTIC)


DEFAULT_PARAMS = GroupingParams()


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_posts(
    posts: Sequence[Post],
    params: GroupingParams = DEFAULT_PARAMS,
    vectors: Mapping[int, Matrix] | None = None,
) -> list[Story]:
    """Stories of `posts`, each with its posts oldest first; stories in order of first post.

    `vectors`: post id -> unit embedding vector, for the posts that have one.
    """
    ordered = sorted(posts, key=lambda p: (p.date, p.id))
    all_feats = [post_features(p.text) for p in ordered]
    feats = [f.stems for f in all_feats]
    weights = _idf_weights(feats)
    times = [p.date.timestamp() for p in ordered]
    gap = params.max_gap.total_seconds()
    short_gap = params.short_gap.total_seconds()
    totals = [sum(weights[s] for s in f) for f in feats]

    union = _UnionFind(len(ordered))
    when = _Occasions(ordered)
    for members in _key_buckets(all_feats, weights, params).values():
        # members are indices in time order; compare each with later ones within the gap.
        member_times = [times[i] for i in members]
        for pos, i in enumerate(members):
            end = bisect_right(member_times, times[i] + gap, lo=pos + 1)
            end = min(end, pos + 1 + params.max_bucket_neighbours)
            for j in members[pos + 1 : end]:
                if union.find(i) == union.find(j):
                    continue
                short = min(len(feats[i]), len(feats[j])) < params.short_stems
                if short and times[j] - times[i] > short_gap:
                    continue
                if (
                    _similar(feats[i], feats[j], totals[i], totals[j], weights, params)
                    or _same_anchors(all_feats[i], all_feats[j], weights, params)
                ) and not when.differ(i, j):
                    union.union(i, j)

    if vectors:
        _join_on_meaning(ordered, all_feats, weights, vectors, union, params, when)

    stories: dict[int, list[Post]] = defaultdict(list)
    for index, post in enumerate(ordered):
        stories[union.find(index)].append(post)
    return [Story(posts=group) for _, group in sorted(stories.items())]


def _join_on_meaning(
    ordered: Sequence[Post],
    feats: Sequence[PostFeatures],
    weights: dict[str, float],
    vectors: Mapping[int, Matrix],
    union: _UnionFind,
    params: GroupingParams,
    when: _Occasions,
) -> None:
    """Merge stories whose posts are close in meaning (see `bot.digest.semantic`)."""
    sem = params.semantic
    members = [
        i
        for i, post in enumerate(ordered)
        if post.id in vectors
        and len(clean_text(post.text)) >= sem.min_chars
        and not is_roundup(post.text)  # it reads like every story it lists
    ]
    if len(members) < 2:
        return
    matrix = np.vstack([vectors[ordered[i].id] for i in members]).astype(np.float32)
    _join_translations(ordered, members, matrix, union, sem, when)
    times = [ordered[i].date.timestamp() for i in members]
    pairs = close_pairs(times, matrix, sem.gap.total_seconds(), sem.weak, sem.block)
    linkage = Linkage(matrix.shape[1])
    for row, i in enumerate(members):
        linkage.add(union.find(i), matrix[row])
    spans = _Spans(ordered, union)
    n = len(ordered)
    span = sem.max_span.total_seconds()
    for cosine, a, b in pairs:
        i, j = members[a], members[b]
        ri, rj = union.find(i), union.find(j)
        if ri == rj:
            continue
        if cosine < sem.strong and rarity(feats[i], feats[j], weights, n) < sem.anchor_rarity:
            continue
        if when.differ(i, j):
            continue
        if spans.joined(ri, rj) > span:
            continue
        if linkage.mean_cosine(ri, rj) < sem.average:
            continue
        keep, gone = spans.merge(ri, rj)
        linkage.merge(keep, gone)
    # Last: whole stories of one toll join, after meaning has made them (their mean cosine
    # across languages is below what the merge above asks).
    _join_tolls(ordered, members, matrix, spans, sem, when)


class _Spans:
    """The stories being merged on meaning (roots of `union`) and when each starts and
    ends, kept as they merge: a story merged on meaning never spans more than max_span."""

    def __init__(self, ordered: Sequence[Post], union: _UnionFind) -> None:
        self.roots = union
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        for i, post in enumerate(ordered):
            root, stamp = union.find(i), post.date.timestamp()
            self.first[root] = min(self.first.get(root, stamp), stamp)
            self.last[root] = max(self.last.get(root, stamp), stamp)

    def joined(self, ri: int, rj: int) -> float:
        """Seconds from the first to the last post of the two stories as one."""
        return max(self.last[ri], self.last[rj]) - min(self.first[ri], self.first[rj])

    def merge(self, ri: int, rj: int) -> tuple[int, int]:
        """Merge two stories (by their roots); returns (the root kept, the root gone)."""
        self.roots.union(ri, rj)
        keep, gone = (ri, rj) if self.roots.find(ri) == ri else (rj, ri)
        self.first[keep] = min(self.first.pop(gone), self.first[keep])
        self.last[keep] = max(self.last.pop(gone), self.last[keep])
        return keep, gone


def _join_translations(
    ordered: Sequence[Post],
    members: Sequence[int],
    matrix: Matrix,
    union: _UnionFind,
    sem: SemanticParams,
    when: _Occasions,
) -> None:
    """Join a channel's post with its next one when that is the same text in the other
    script: channels that publish in Ukrainian and English post the translation right
    after the original. Across languages a small model's cosine for a faithful
    translation (0.85-0.90) is below what `close_pairs` trusts from two channels, but a
    channel's very next post, minutes later, in the other script, is a narrow place to look.
    """
    by_channel: dict[int, list[int]] = defaultdict(list)
    for row, i in enumerate(members):
        by_channel[ordered[i].channel.id].append(row)
    gap = sem.translation_gap.total_seconds()
    for rows in by_channel.values():
        rows.sort(key=lambda row: ordered[members[row]].message_id)
        for a, b in pairwise(rows):
            first, second = ordered[members[a]], ordered[members[b]]
            if second.message_id != first.message_id + 1:
                continue
            if abs((second.date - first.date).total_seconds()) > gap:
                continue
            if latin_script(first.text) == latin_script(second.text):
                continue
            if float(matrix[a] @ matrix[b]) < sem.translation:
                continue
            if when.differ(members[a], members[b]):
                continue
            union.union(members[a], members[b])


def _join_tolls(
    ordered: Sequence[Post],
    members: Sequence[int],
    matrix: Matrix,
    spans: _Spans,
    sem: SemanticParams,
    when: _Occasions,
) -> None:
    """Join the reports of one attack's toll across channels and languages: posts that
    give a number of killed or injured, whose lead is about the same city (the first it
    names, of at most `toll_max_places`), within the gap,
    naming no different day or period, and not far apart in meaning. A toll rises through
    the day and each channel tells it in its own language; words and the small model's
    cosine (0.79-0.83 across languages) miss them, and the story's "figures that changed"
    is exactly what an editor wants from them."""
    tolls = []
    for row, i in enumerate(members):
        text = ordered[i].text
        kinds = frozenset(figures_of(text))
        if not kinds:
            continue
        places = places_named(clean_text(text)[: sem.toll_lead_chars])
        if 0 < len(places) <= sem.toll_max_places:
            tolls.append((row, i, places[0], kinds))
    if len(tolls) < 2:
        return
    span = sem.max_span.total_seconds()
    gap = sem.gap.total_seconds()
    find = spans.roots.find
    for pos, (row_a, i, place_a, kinds_a) in enumerate(tolls):
        for row_b, j, place_b, kinds_b in tolls[pos + 1 :]:
            if ordered[j].date.timestamp() - ordered[i].date.timestamp() > gap:
                break  # members are in time order
            ri, rj = find(i), find(j)
            if ri == rj or place_a != place_b or not (kinds_a & kinds_b):
                continue
            if float(matrix[row_a] @ matrix[row_b]) < sem.toll or when.differ(i, j):
                continue
            if spans.joined(ri, rj) > span:
                continue
            spans.merge(ri, rj)


class _Occasions:
    """The dates and report periods each post names, read on demand: two posts that name
    different days ("у ніч на 24 квітня" / "у ніч на 25 квітня"), or a night's and a day's
    tally of one date, are different events however alike their words and meaning."""

    def __init__(self, posts: Sequence[Post]) -> None:
        self.posts = posts
        self.seen: dict[int, tuple[frozenset[tuple[int, int]], frozenset[int]]] = {}

    def of(self, index: int) -> tuple[frozenset[tuple[int, int]], frozenset[int]]:
        found = self.seen.get(index)
        if found is None:
            text = self.posts[index].text
            found = self.seen[index] = (dates_named(text), period_starts(text))
        return found

    def differ(self, i: int, j: int) -> bool:
        (dates_i, periods_i), (dates_j, periods_j) = self.of(i), self.of(j)
        return different_dates(dates_i, dates_j) or different_periods(periods_i, periods_j)


def rarity(a: PostFeatures, b: PostFeatures, weights: dict[str, float], n: int) -> float:
    """How rare the names and numbers two posts share are, whatever the window's size: each
    shared anchor counts 1 when only these two posts have it, 0 when every post does."""
    most = math.log((n + 1) / 2)
    if most <= 0:
        return 0.0
    return sum(max(0.0, (weights[s] - 1.0) / most) for s in a.anchors & b.anchors)


def _idf_weights(feats: Sequence[frozenset[str]]) -> dict[str, float]:
    df: dict[str, int] = defaultdict(int)
    for f in feats:
        for stem in f:
            df[stem] += 1
    n = len(feats)
    return {stem: math.log((n + 1) / count) + 1.0 for stem, count in df.items()}


def _key_buckets(
    feats: Sequence[PostFeatures], weights: dict[str, float], params: GroupingParams
) -> dict[str, list[int]]:
    """stem -> indices (in time order) of the posts that have it among their rarest stems
    or anchors."""
    buckets: dict[str, list[int]] = defaultdict(list)
    for index, f in enumerate(feats):
        if len(f.stems) < params.min_stems:
            continue
        rarest = sorted(f.stems, key=lambda s: (-weights[s], s))[: params.key_stems]
        rarest += sorted(f.anchors, key=lambda s: (-weights[s], s))[: params.key_anchors]
        for stem in set(rarest):
            buckets[stem].append(index)
    return buckets


def _same_anchors(
    a: PostFeatures, b: PostFeatures, weights: dict[str, float], params: GroupingParams
) -> bool:
    shared = a.anchors & b.anchors
    if len(shared) < params.anchor_min_shared:
        return False
    shared_weight = sum(weights[s] for s in shared)
    union_weight = sum(weights[s] for s in a.anchors | b.anchors)
    if shared_weight / union_weight >= params.anchor_jaccard:
        return True
    if not any(s.isdigit() for s in shared):
        return False
    smaller = min(sum(weights[s] for s in a.anchors), sum(weights[s] for s in b.anchors))
    return shared_weight / smaller >= params.anchor_containment


def _similar(
    a: frozenset[str],
    b: frozenset[str],
    total_a: float,
    total_b: float,
    weights: dict[str, float],
    params: GroupingParams,
) -> bool:
    shared = sum(weights[s] for s in a & b)
    if shared <= 0:
        return False
    union = total_a + total_b - shared
    if shared / union >= params.jaccard:
        return True
    small, large = min(total_a, total_b), max(total_a, total_b)
    return shared / small >= params.containment and small / large >= params.containment_min_ratio
