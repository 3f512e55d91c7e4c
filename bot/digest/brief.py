"""The brief: what a wire editor writes from a digest. A headline and a lede, then the
stories confirmed by several channels, those only one channel claims, the figures the
reports give differently, and the sources, with a numbered reference after every sentence.

Pure: `build_brief` turns a finished `Digest` (whose items are already checked: model lines
that passed `support.check_line`, extractive lines otherwise) into a `Brief`, and one
renderer per format turns that into text, Markdown, Telegram HTML, JSON or Telegraph
nodes. Every reference is a post the digest cites, so no link is anything but a stored
post; post and model text is escaped for each format with the helpers of `render`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.digest.render import (
    anchor,
    empty_line,
    h,
    header_line,
    iso,
    item_marks,
    md_escape,
    md_url,
    standing_dict,
    when_text,
)
from bot.digest.text import SENTENCE_END_RE, defang
from bot.digest.topics import ALL_SOURCES
from bot.models import Citation, Digest, DigestItem
from bot.words import plural, shorten

CONFIRMED = "Confirmed by several channels"
CLAIMED = "Claimed by one channel"
DIFFER = "Where reports differ"
SOURCES = "Sources"
MAX_REFS_PER_STORY = 12
"""A story's posts numbered at most: every channel's first report and every post giving
a differing figure always are; a story of 300 posts does not make 300 references."""
INLINE_REFS = 4
"""A sentence shows up to this many references one by one; more become ranges, [3]–[9]."""
LEDE_REFS = 4
"""References the lede gives for each of its counts (the first report of each story)."""
HEADLINE_CHARS = 160
LABEL_CHARS = 70
"""How much of a story's line names it in "Where reports differ"."""
_QUOTES = "\"»”)'’"
_ENDS = ".!?…"


@dataclass(frozen=True, slots=True)
class Clause:
    """A piece of text (plain, not escaped) and the references shown right after it."""

    text: str
    refs: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of the brief: clauses, each followed by its references. A sentence
    always ends with a reference (its last clause may be the closing punctuation)."""

    clauses: tuple[Clause, ...]

    @classmethod
    def of(cls, text: str, refs: Sequence[int]) -> Sentence:
        return cls((Clause(text, tuple(refs)),))

    @property
    def refs(self) -> tuple[int, ...]:
        return tuple(n for clause in self.clauses for n in clause.refs)

    @property
    def plain(self) -> str:
        return "".join(clause.text for clause in self.clauses)


@dataclass(frozen=True, slots=True)
class Entry:
    """One story in "Confirmed" or "Claimed": its line as cited sentences, and a line on
    its support (how many channels, who was first, marks) citing the first report."""

    item: DigestItem
    sentences: tuple[Sentence, ...]
    support: Sentence | None
    refs: tuple[int, ...]
    """Every reference of the story."""
    unnumbered: int = 0
    """Posts of the story past MAX_REFS_PER_STORY: counted, not numbered."""


@dataclass(frozen=True, slots=True)
class Reading:
    value: int
    ref: int
    channel: str
    when: str


@dataclass(frozen=True, slots=True)
class Difference:
    """A figure the reports of one story give differently: the latest reading first."""

    kind: str
    story: str
    readings: tuple[Reading, ...]
    """Latest first, then the earlier readings, newest to oldest."""
    sentence: Sentence


@dataclass(frozen=True, slots=True)
class Reference:
    number: int
    citation: Citation


@dataclass(frozen=True, slots=True)
class SourceLine:
    """A channel of the brief and its numbered posts."""

    channel: str
    handle: str
    refs: tuple[int, ...]


def _handle_note(source: SourceLine) -> str:
    """ " (@handle)" after a channel's name, unless the name is the handle itself."""
    if not source.handle or source.handle.lstrip("@") == source.channel:
        return ""
    return f" ({source.handle})"


@dataclass(slots=True)
class Brief:
    topic: str
    title: str
    since: datetime
    until: datetime
    generated_at: datetime
    summariser: str
    window: str
    """The window as the reader's clock says it, with its zone."""
    posts_considered: int
    stories_found: int
    headline: Sentence
    lede: list[Sentence]
    confirmed: list[Entry]
    claimed: list[Entry]
    differ: list[Difference]
    sources: list[SourceLine]
    references: dict[int, Reference]
    notes: list[str] = field(default_factory=list)
    cut: int = 0
    """Stories of the digest left out to fit a page (Telegraph's 64 KB)."""
    tz: tzinfo = UTC
    """The reader's zone, for the times the renderers show."""

    @property
    def heading(self) -> str:
        return f"{self.title} brief"

    @property
    def stories(self) -> int:
        return len(self.confirmed) + len(self.claimed)

    def url(self, number: int) -> str:
        return self.references[number].citation.url


# ----- building -----------------------------------------------------------------------


class _Numbers:
    """References numbered in order of first appearance, one per stored post."""

    def __init__(self) -> None:
        self.by_url: dict[str, int] = {}
        self.references: dict[int, Reference] = {}

    def number(self, citation: Citation) -> int:
        found = self.by_url.get(citation.url)
        if found is None:
            found = len(self.by_url) + 1
            self.by_url[citation.url] = found
            self.references[found] = Reference(found, citation)
        return found


def is_confirmed(item: DigestItem) -> bool:
    """Two or more channels reported it on their own (forwards and copies do not count)."""
    return (item.independent_count or item.channel_count) >= 2


def story_citations(item: DigestItem) -> tuple[list[Citation], int]:
    """The posts of a story that get numbers, channel by channel in the order they first
    reported it (each channel's posts oldest first), and how many more were left out."""
    firsts: dict[str, Citation] = {}
    for citation in item.citations:
        firsts.setdefault(_channel_key(citation), citation)
    must = {c.url for c in firsts.values()}
    must |= {r.citation.url for f in item.figures for r in f.readings}
    must |= {c.url for c in (item.first, item.told_by) if c is not None}
    room = max(0, MAX_REFS_PER_STORY - len(must))
    chosen: list[Citation] = []
    for citation in item.citations:
        if citation.url in must:
            chosen.append(citation)
        elif room > 0:
            chosen.append(citation)
            room -= 1
    order = {key: index for index, key in enumerate(firsts)}
    chosen.sort(key=lambda c: (order[_channel_key(c)], c.date, c.message_id))
    return chosen, len(item.citations) - len(chosen)


def _channel_key(citation: Citation) -> str:
    return citation.channel_handle or citation.channel


def line_sentences(text: str) -> list[str]:
    """A digest line as sentences, each ending with its punctuation: a line can hold a
    headline and the sentence after it, or a lead and the sentence about the topic."""
    found: list[str] = []
    for chunk in text.split(" … "):
        start = 0
        for match in SENTENCE_END_RE.finditer(chunk):
            quotes = len(match.group(0)) - len(match.group(0).lstrip(_QUOTES))
            found.append(chunk[start : match.start() + quotes])
            start = match.end()
        found.append(chunk[start:])
    return [_ended(s.strip()) for s in found if s.strip(" …")]


def _ended(sentence: str) -> str:
    if sentence.rstrip(_QUOTES)[-1:] in _ENDS:
        return sentence
    return sentence.rstrip(",;:—–- ") + "."


def build_brief(digest: Digest, tz: tzinfo = UTC, keep: int | None = None) -> Brief:
    """The brief of `digest`; `keep`: only its first stories (to fit a page), saying so."""
    items = digest.items if keep is None else digest.items[:keep]
    cut = len(digest.items) - len(items)
    numbers = _Numbers()
    confirmed_items = [i for i in items if is_confirmed(i)]
    claimed_items = [i for i in items if not is_confirmed(i)]
    top = items[0] if items else None
    # The top story is numbered first: the headline is the first thing read.
    ordered = ([top] if top is not None else []) + [
        i for i in [*confirmed_items, *claimed_items] if i is not top
    ]
    refs: dict[int, tuple[tuple[int, ...], int]] = {}
    for item in ordered:
        chosen, hidden = story_citations(item)
        refs[id(item)] = (tuple(numbers.number(c) for c in chosen), hidden)
    confirmed = [_entry(i, refs[id(i)], numbers, tz, claimed=False) for i in confirmed_items]
    claimed = [_entry(i, refs[id(i)], numbers, tz, claimed=True) for i in claimed_items]
    differ = [d for entry in [*confirmed, *claimed] for d in _differences(entry, numbers, tz)]
    window = header_line(digest, tz).removeprefix(f"{digest.title}: ")
    span = f"{when_text(digest.since, tz)} – {when_text(digest.until, tz)}"
    notes = list(digest.notes)
    if cut:
        notes.insert(
            0,
            f"This page tells the first {plural(len(items), 'story', 'stories')} of the "
            f"brief's {len(digest.items)}: a Telegraph page holds at most 64 KB.",
        )
    if top is None:
        headline, lede = _empty(digest, numbers, tz)
    else:
        headline = _headline(top, line_refs(top, refs[id(top)][0], numbers), numbers, tz)
        lede = _model_lede(digest, items, refs, numbers)
        lede += _lede(digest, items, confirmed, claimed, differ, span)
    return Brief(
        topic=digest.topic,
        title=digest.title,
        since=digest.since,
        until=digest.until,
        generated_at=digest.generated_at,
        summariser=digest.summariser,
        window=window,
        posts_considered=digest.posts_considered,
        stories_found=digest.stories_found,
        headline=headline,
        lede=lede,
        confirmed=confirmed,
        claimed=claimed,
        differ=differ,
        sources=_sources(numbers),
        references=numbers.references,
        notes=notes,
        cut=cut,
        tz=tz,
    )


def _claim(item: DigestItem) -> str:
    first = item.first or item.citations[0]
    return f"{defang(first.channel)} reports: "


def line_refs(item: DigestItem, refs: tuple[int, ...], numbers: _Numbers) -> tuple[int, ...]:
    """What a sentence of the story's line cites: the post an extractive line is taken
    from (and, when that is a copy, the post "X reports" names); a model line, which the
    story's posts support together, cites them all."""
    if item.told_by is None:
        return refs
    told = numbers.number(item.told_by)
    first = item.first
    if (
        not is_confirmed(item)
        and first is not None
        and _channel_key(first) != _channel_key(item.told_by)
    ):
        # "X reports: …" told by a copy of X's post: X's own post is cited first.
        return tuple(dict.fromkeys((numbers.number(first), told)))
    return (told,)


def _entry(
    item: DigestItem,
    numbered: tuple[tuple[int, ...], int],
    numbers: _Numbers,
    tz: tzinfo,
    claimed: bool,
) -> Entry:
    refs, hidden = numbered
    texts = line_sentences(item.text) or [_ended(item.text)]
    if claimed:
        texts[0] = _claim(item) + texts[0]
    cited = line_refs(item, refs, numbers)
    sentences = tuple(Sentence.of(text, cited) for text in texts)
    first = item.first or item.citations[0]
    first_ref = numbers.number(first)
    support_refs: tuple[int, ...] = (first_ref,)
    parts: list[str] = []
    if not claimed:
        channels = f"{item.channel_count} channels"
        independent = item.independent_count or item.channel_count
        if independent < item.channel_count:
            channels += f", {independent} independent"
        parts.append(channels)
        parts.append(f"first: {defang(first.channel)}, {when_text(first.date, tz)}")
        # The confirmation cites each channel's first report.
        firsts: dict[str, int] = {}
        for n in refs:
            firsts.setdefault(_channel_key(numbers.references[n].citation), n)
        support_refs = tuple(firsts.values())
    elif item.channel_count > 1:
        others = sorted({defang(c.channel) for c in item.citations} - {defang(first.channel)})
        parts.append("repeated by " + ", ".join(others) + " (a forward or a copy)")
        support_refs = tuple(n for n in refs if n != first_ref) or support_refs
    elif len(refs) > 1:
        # One channel's several posts on the story (its updates): each is cited here.
        parts.append(f"{item.post_count} posts by {defang(first.channel)}")
        support_refs = refs
    if hidden:
        parts.append(f"{item.post_count} posts, {hidden} not numbered")
    parts.extend(item_marks(item))
    support = Sentence.of(" · ".join(parts), support_refs) if parts else None
    return Entry(item, sentences, support, refs, hidden)


def _differences(entry: Entry, numbers: _Numbers, tz: tzinfo) -> list[Difference]:
    """ "Killed, Kyiv: death toll rises to 4…: 4 (Kyiv Independent, 14 May 09:31) [3];
    earlier 2 (…, 07:54) [2] and 1 (…, 03:56) [1]." Each reading cites its post."""
    found = []
    first = line_sentences(entry.item.text)[0] if entry.item.text else ""
    label = shorten(first.rstrip(_ENDS + " "), LABEL_CHARS)
    for difference in entry.item.figures:
        readings = tuple(
            Reading(
                r.value,
                numbers.number(r.citation),
                defang(r.citation.channel),
                when_text(r.citation.date, tz),
            )
            for r in reversed(difference.readings)
        )
        latest, *earlier = readings
        clauses = [
            Clause(
                f"{difference.kind.capitalize()} in “{label}”: {latest.value} "
                f"({latest.channel}, {latest.when})",
                (latest.ref,),
            )
        ]
        for index, reading in enumerate(earlier):
            last = index == len(earlier) - 1
            lead = "; earlier " if index == 0 else (" and " if last else ", ")
            clauses.append(
                Clause(f"{lead}{reading.value} ({reading.channel}, {reading.when})", (reading.ref,))
            )
        clauses.append(Clause("."))
        found.append(Difference(difference.kind, label, readings, Sentence(tuple(clauses))))
    return found


def _headline(top: DigestItem, refs: tuple[int, ...], numbers: _Numbers, tz: tzinfo) -> Sentence:
    """The top story's first sentence; when its posts later gave a figure that sentence
    does not say (a toll that rose after the line's post), the latest one after it, with
    its source: "Death toll rises to 4 in Kyiv… [5] Latest: 7 killed (uniannet, 13:10) [10]"."""
    first = (line_sentences(top.text) or [top.text])[0]
    text = shorten(first, HEADLINE_CHARS)
    if not is_confirmed(top):
        text = _claim(top) + text
    said = set(re.findall(r"\d+", text.replace(" ", "")))
    for difference in top.figures:
        latest = difference.readings[-1]
        if str(latest.value) in said:
            continue
        when = when_text(latest.citation.date, tz)
        channel = defang(latest.citation.channel)
        return Sentence((
            Clause(_ended(text), refs),
            Clause(f" Latest: {latest.value} {difference.kind} ({channel}, {when})",
                   (numbers.number(latest.citation),)),
            Clause("."),
        ))  # fmt: skip
    return Sentence.of(text, refs)


def _model_lede(
    digest: Digest,
    items: Sequence[DigestItem],
    refs: dict[int, tuple[tuple[int, ...], int]],
    numbers: _Numbers,
) -> list[Sentence]:
    """The model's checked lede sentences: one citing a story cites that story's posts
    (all of them for a model sentence, the line's post for an extractive one)."""
    out = []
    for sentence in digest.lede:
        if any(n >= len(items) for n in sentence.items):
            continue  # a story left off this page
        cited: list[int] = []
        for n in sentence.items:
            item = items[n]
            story_refs = refs[id(item)][0]
            cited += (
                story_refs if sentence.source == "model" else line_refs(item, story_refs, numbers)
            )
        out.append(Sentence.of(_ended(sentence.text), tuple(dict.fromkeys(cited))))
    return out


def _first_refs(entries: Sequence[Entry], numbers: int = LEDE_REFS) -> tuple[int, ...]:
    """The reference each story's line opens with, for the first `numbers` stories."""
    return tuple(entry.sentences[0].refs[0] for entry in entries[:numbers] if entry.sentences)


def _lede(
    digest: Digest,
    items: Sequence[DigestItem],
    confirmed: Sequence[Entry],
    claimed: Sequence[Entry],
    differ: Sequence[Difference],
    span: str,
) -> list[Sentence]:
    """How many stories and channels, how many confirmed, the window; the figures that
    differ. Each count cites the first reports of the stories it counts."""
    channels = {_channel_key(c) for item in items for c in item.citations}
    stories = plural(len(items), "story", "stories")
    if len(items) < digest.stories_found:
        stories = f"The top {len(items)} of {digest.stories_found} stories"
    about = "" if digest.topic == ALL_SOURCES else f" on {digest.title}"
    opening = f"{stories}{about}, {span}, from {plural(len(channels), 'channel')}: "
    clauses: list[Clause] = []
    if confirmed:
        clauses.append(
            Clause(
                f"{opening}{len(confirmed)} confirmed by several channels", _first_refs(confirmed)
            )
        )
    else:
        clauses.append(Clause(f"{opening}none confirmed by a second channel"))
    if claimed:
        lead = ", " if confirmed else "; "
        clauses.append(Clause(f"{lead}{len(claimed)} claimed by one channel", _first_refs(claimed)))
    clauses.append(Clause("."))
    lede = [Sentence(tuple(clauses))]
    if differ:
        kinds = sorted({d.kind for d in differ})
        figures = plural(len(differ), "figure")
        lede.append(
            Sentence(
                (
                    Clause(
                        f"The reports give {figures} differently ({', '.join(kinds)})",
                        tuple(d.readings[0].ref for d in differ[:LEDE_REFS]),
                    ),
                    Clause("."),
                )
            )
        )
    return lede


def _empty(digest: Digest, numbers: _Numbers, tz: tzinfo) -> tuple[Sentence, list[Sentence]]:
    """A window with nothing in it: say so (the headline), and cite the latest earlier
    post if there is one (the lede)."""
    line = empty_line(digest, tz)
    headline_text = line.split(". ", 1)[0].rstrip(".") + "."
    after = line[len(headline_text) :].strip()
    headline = Sentence.of(headline_text, ())
    if digest.latest is None or not after:
        return headline, []
    return headline, [Sentence.of(_ended(after), (numbers.number(digest.latest),))]


def _sources(numbers: _Numbers) -> list[SourceLine]:
    by_channel: dict[str, list[Reference]] = {}
    for reference in numbers.references.values():
        by_channel.setdefault(_channel_key(reference.citation), []).append(reference)
    return [
        SourceLine(
            defang(refs[0].citation.channel),
            refs[0].citation.channel_handle,
            tuple(r.number for r in refs),
        )
        for refs in by_channel.values()
    ]


# ----- references, in every format --------------------------------------------------------


def ref_runs(refs: Sequence[int]) -> list[tuple[int, int]]:
    """(first, last) runs to show: one by one up to INLINE_REFS, else runs of three or
    more consecutive numbers as ranges."""
    if len(refs) <= INLINE_REFS:
        return [(n, n) for n in refs]
    runs: list[tuple[int, int]] = []
    for n in refs:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    out: list[tuple[int, int]] = []
    for first, last in runs:
        if last - first >= 2:
            out.append((first, last))
        else:
            out.extend((n, n) for n in range(first, last + 1))
    return out


def _refs(refs: Sequence[int], one: Any) -> str:
    parts = []
    for first, last in ref_runs(refs):
        parts.append(one(first) if first == last else f"{one(first)}–{one(last)}")
    return "".join(parts)


def _sentence(sentence: Sentence, text: Any, one: Any) -> str:
    out = []
    for clause in sentence.clauses:
        out.append(text(clause.text))
        if clause.refs:
            out.append(" " + _refs(clause.refs, one))
    return "".join(out)


def _sentences(sentences: Iterable[Sentence], text: Any, one: Any) -> str:
    return " ".join(_sentence(s, text, one) for s in sentences)


def _footer(brief: Brief) -> str:
    return f"{plural(brief.posts_considered, 'post')} read; summary: {brief.summariser}"


# ----- text ---------------------------------------------------------------------------


def render_brief_text(brief: Brief) -> str:
    def one(n: int) -> str:
        return f"[{n}]"

    def same(text: str) -> str:
        return text

    lines = [f"{brief.heading}: {brief.window}", "", _sentence(brief.headline, same, one)]
    lines += [_sentences(brief.lede, same, one), ""]
    for title, entries in ((CONFIRMED, brief.confirmed), (CLAIMED, brief.claimed)):
        if not entries:
            continue
        lines.append(title)
        for entry in entries:
            lines.append(f"- {_sentences(entry.sentences, same, one)}")
            if entry.support is not None:
                lines.append(f"  {_sentence(entry.support, same, one)}")
        lines.append("")
    if brief.differ:
        lines.append(DIFFER)
        lines += [f"- {_sentence(d.sentence, same, one)}" for d in brief.differ]
        lines.append("")
    if brief.sources:
        lines.append(SOURCES)
        for source in brief.sources:
            lines.append(f"{source.channel}{_handle_note(source)}")
            for n in source.refs:
                citation = brief.references[n].citation
                lines.append(f"  [{n}] {citation.url} · {when_text(citation.date, brief.tz)}")
        lines.append("")
    lines += [f"Note: {note}" for note in brief.notes]
    lines.append(_footer(brief))
    return "\n".join(lines).rstrip() + "\n"


# ----- Markdown -----------------------------------------------------------------------


def render_brief_markdown(brief: Brief) -> str:
    def one(n: int) -> str:
        return f"[{md_escape(f'[{n}]')}]({md_url(brief.url(n))})"

    lines = [f"## {md_escape(f'{brief.heading}: {brief.window}')}", ""]
    lines += [f"**{_sentence(brief.headline, md_escape, one)}**", ""]
    lines += [_sentences(brief.lede, md_escape, one), ""]
    for title, entries in ((CONFIRMED, brief.confirmed), (CLAIMED, brief.claimed)):
        if not entries:
            continue
        lines += [f"### {title}", ""]
        for entry in entries:
            line = f"- {_sentences(entry.sentences, md_escape, one)}"
            if entry.support is not None:
                line += f"  \n  _{_sentence(entry.support, md_escape, one)}_"
            lines.append(line)
        lines.append("")
    if brief.differ:
        lines += [f"### {DIFFER}", ""]
        lines += [f"- {_sentence(d.sentence, md_escape, one)}" for d in brief.differ]
        lines.append("")
    if brief.sources:
        lines += [f"### {SOURCES}", ""]
        for source in brief.sources:
            posts = ", ".join(
                f"{one(n)} {md_escape(when_text(brief.references[n].citation.date, brief.tz))}"
                for n in source.refs
            )
            handle = md_escape(_handle_note(source))
            lines.append(f"- **{md_escape(source.channel)}**{handle}: {posts}")
        lines.append("")
    lines += [f"_Note: {md_escape(note)}_  " for note in brief.notes]
    lines.append(f"_{md_escape(_footer(brief))}_")
    return "\n".join(lines).rstrip() + "\n"


# ----- Telegram HTML ------------------------------------------------------------------


def render_brief_html_parts(brief: Brief) -> list[str]:
    """Heading and lede, one part per story, the differences, the sources, then the notes:
    the units a long brief may be split between (never inside a tag or a link)."""

    def one(n: int) -> str:
        return anchor(brief.url(n), f"[{n}]")

    parts = [
        f"<b>{h(brief.heading)}</b> · <i>{h(brief.window)}</i>\n\n"
        f"<b>{_sentence(brief.headline, h, one)}</b>\n{_sentences(brief.lede, h, one)}"
    ]
    for title, entries in ((CONFIRMED, brief.confirmed), (CLAIMED, brief.claimed)):
        for index, entry in enumerate(entries):
            part = f"• {_sentences(entry.sentences, h, one)}"
            if entry.support is not None:
                support = entry.support
                last = support.clauses[-1]
                part += f"\n<i>{h(support.plain)}</i> {_refs(last.refs, one)}"
            parts.append(f"<b>{h(title)}</b>\n{part}" if index == 0 else part)
    # A section of short lines is one part, a line each (a message too short for it is
    # cut between lines, never inside one).
    if brief.differ:
        lines = [f"• {_sentence(d.sentence, h, one)}" for d in brief.differ]
        parts.append("\n".join([f"<b>{h(DIFFER)}</b>", *lines]))
    if brief.sources:
        lines = []
        for source in brief.sources:
            posts = ", ".join(
                f"{one(n)} {h(when_text(brief.references[n].citation.date, brief.tz))}"
                for n in source.refs
            )
            lines.append(f"{h(source.channel)}: {posts}")
        parts.append("\n".join([f"<b>{h(SOURCES)}</b>", *lines]))
    footer = [f"Note: {note}" for note in brief.notes] + [_footer(brief)]
    parts.append("<i>" + "\n".join(h(line) for line in footer) + "</i>")
    return parts


def render_brief_html(brief: Brief) -> str:
    return "\n\n".join(render_brief_html_parts(brief)) + "\n"


def brief_summary_html(brief: Brief, page_url: str) -> str:
    """What the chat gets when the brief is on a Telegraph page: the headline, the lede
    (the counts) and the link."""

    def one(n: int) -> str:
        return anchor(brief.url(n), f"[{n}]")

    contents = []
    if brief.confirmed:
        contents.append(f"{plural(len(brief.confirmed), 'story', 'stories')} confirmed")
    if brief.claimed:
        contents.append(f"{plural(len(brief.claimed), 'story', 'stories')} claimed by one channel")
    if brief.differ:
        contents.append(f"{plural(len(brief.differ), 'figure')} that reports give differently")
    contents.append(f"{plural(len(brief.references), 'source post')}, each linked")
    return (
        f"<b>{h(brief.heading)}</b> · <i>{h(brief.window)}</i>\n\n"
        f"<b>{_sentence(brief.headline, h, one)}</b>\n{_sentences(brief.lede, h, one)}\n\n"
        f"{anchor(page_url, 'Read the brief')}: {', '.join(contents)}."
    )


# ----- JSON ---------------------------------------------------------------------------


def _sentence_dict(sentence: Sentence) -> dict[str, Any]:
    return {"text": sentence.plain, "refs": list(sentence.refs)}


def _entry_dict(entry: Entry) -> dict[str, Any]:
    return {
        "sentences": [_sentence_dict(s) for s in entry.sentences],
        "support": _sentence_dict(entry.support) if entry.support else None,
        "refs": list(entry.refs),
        **standing_dict(entry.item),
        "unnumbered_posts": entry.unnumbered,
    }


def brief_to_dict(brief: Brief) -> dict[str, Any]:
    return {
        "topic": brief.topic,
        "title": brief.title,
        "since": iso(brief.since),
        "until": iso(brief.until),
        "generated_at": iso(brief.generated_at),
        "summariser": brief.summariser,
        "posts_considered": brief.posts_considered,
        "stories_found": brief.stories_found,
        "headline": _sentence_dict(brief.headline),
        "lede": [_sentence_dict(s) for s in brief.lede],
        "confirmed": [_entry_dict(e) for e in brief.confirmed],
        "claimed": [_entry_dict(e) for e in brief.claimed],
        "differ": [
            {
                "kind": d.kind,
                "story": d.story,
                "latest": d.readings[0].value,
                "readings": [{"value": r.value, "ref": r.ref} for r in d.readings],
                "text": d.sentence.plain,
            }
            for d in brief.differ
        ],
        "sources": [
            {"channel": s.channel, "handle": s.handle, "refs": list(s.refs)} for s in brief.sources
        ],
        "references": [
            {
                "n": n,
                "channel": r.citation.channel,
                "message_id": r.citation.message_id,
                "url": r.citation.url,
                "date": iso(r.citation.date),
            }
            for n, r in brief.references.items()
        ],
        "notes": brief.notes,
        "cut_stories": brief.cut,
    }


def render_brief_json(brief: Brief) -> str:
    return json.dumps(brief_to_dict(brief), ensure_ascii=False, indent=2) + "\n"


def render_brief(brief: Brief, fmt: str) -> str:
    renderers = {
        "text": render_brief_text,
        "markdown": render_brief_markdown,
        "html": render_brief_html,
        "json": render_brief_json,
    }
    return renderers[fmt](brief)


# ----- Telegraph nodes ------------------------------------------------------------------

Node = str | dict[str, Any]


def _node(tag: str, *children: Node, href: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"tag": tag}
    if href is not None:
        node["attrs"] = {"href": href}
    if children:
        node["children"] = list(children)
    return node


def _sentence_nodes(brief: Brief, sentence: Sentence) -> list[Node]:
    out: list[Node] = []
    for clause in sentence.clauses:
        out.append(clause.text)
        for first, last in ref_runs(clause.refs) if clause.refs else []:
            out.append(" " if first == clause.refs[0] else "")
            out.append(_node("a", f"[{first}]", href=brief.url(first)))
            if last != first:
                out.append("–")
                out.append(_node("a", f"[{last}]", href=brief.url(last)))
    return _merged(out)


def _merged(nodes: list[Node]) -> list[Node]:
    """Adjacent strings joined, empty ones dropped: fewer bytes on the page."""
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, str):
            if not node:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += node
                continue
        out.append(node)
    return out


def brief_nodes(brief: Brief) -> list[Node]:
    """The brief as Telegraph content: p, b, i, a, h3, ul, li and br nodes, text as plain
    strings (Telegraph escapes them), links only to the brief's references."""
    nodes: list[Node] = [
        _node("p", _node("i", brief.window)),
        _node("h3", *_sentence_nodes(brief, brief.headline)),
        _node("p", *_merged([n for s in brief.lede for n in [*_sentence_nodes(brief, s), " "]])),
    ]
    for title, entries in ((CONFIRMED, brief.confirmed), (CLAIMED, brief.claimed)):
        if not entries:
            continue
        nodes.append(_node("h4", title))
        items: list[Node] = []
        for entry in entries:
            children: list[Node] = []
            for index, sentence in enumerate(entry.sentences):
                children += ([" "] if index else []) + _sentence_nodes(brief, sentence)
            if entry.support is not None:
                support = entry.support
                children += [_node("br"), _node("i", support.plain)]
                children += _sentence_nodes(brief, Sentence((Clause("", support.refs),)))
            items.append(_node("li", *_merged(children)))
        nodes.append(_node("ul", *items))
    if brief.differ:
        nodes.append(_node("h4", DIFFER))
        nodes.append(
            _node("ul", *(_node("li", *_sentence_nodes(brief, d.sentence)) for d in brief.differ))
        )
    if brief.sources:
        nodes.append(_node("h4", SOURCES))
        lines: list[Node] = []
        for source in brief.sources:
            children = [_node("b", source.channel), f"{_handle_note(source)}: "]
            for index, n in enumerate(source.refs):
                when = when_text(brief.references[n].citation.date, brief.tz)
                children += [", " if index else "", _node("a", f"[{n}]", href=brief.url(n))]
                children.append(f" {when}")
            lines.append(_node("li", *_merged(children)))
        nodes.append(_node("ul", *lines))
    footer: list[Node] = []
    for note in brief.notes:
        footer += [note, _node("br")]
    footer.append(f"{_footer(brief)}; made by wirebrief.")
    nodes.append(_node("p", _node("i", *footer)))
    return nodes


def content_bytes(nodes: Sequence[Node]) -> int:
    """The size Telegraph counts: the content's JSON, as sent."""
    return len(content_json(nodes).encode("utf-8"))


def content_json(nodes: Sequence[Node]) -> str:
    return json.dumps(list(nodes), ensure_ascii=False, separators=(",", ":"))


def telegraph_title(brief: Brief) -> str:
    return shorten(f"{brief.heading}, {brief.window}", 256)


def fit_brief(digest: Digest, tz: tzinfo, max_bytes: int) -> tuple[Brief, list[Node]] | None:
    """The brief with as many of the digest's stories as fit in `max_bytes` of Telegraph
    content (the page says how many were left out); None if not even one fits."""
    keep = len(digest.items)
    while True:
        brief = build_brief(digest, tz, keep=keep)
        nodes = brief_nodes(brief)
        size = content_bytes(nodes)
        if size <= max_bytes:
            return brief, nodes
        if keep <= 1:
            return None
        keep = max(1, min(keep - 1, keep * max_bytes // size))
