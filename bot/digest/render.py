"""One renderer per format: terminal text, Markdown, Telegram HTML and JSON.

Every piece of post or model text is escaped for the format; links come only from the
digest's citations, which the store produced.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.digest.relevance import CENTRAL
from bot.digest.text import defang
from bot.models import Citation, Digest, DigestItem, FigureReading
from bot.words import plural

FORMATS = ("text", "markdown", "html", "json")
HTML_MAX_LINKS_PER_ITEM = 12


def local_time(value: datetime, tz: tzinfo) -> datetime:
    """`value` in the reader's zone; a time at the edge of datetime's range (year 1 or
    9999) that the zone's offset would push out of it stays in UTC instead of failing."""
    try:
        return value.astimezone(tz)
    except OverflowError:
        return value.astimezone(UTC)


def when_text(value: datetime, tz: tzinfo, with_year: bool = False) -> str:
    local = local_time(value, tz)
    return local.strftime("%d %b %Y %H:%M" if with_year else "%d %b %H:%M")


def _tz_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz.tzname(None) or "UTC")


def _span(item: DigestItem, tz: tzinfo) -> str:
    first, last = when_text(item.first_date, tz), when_text(item.last_date, tz)
    if first == last:
        return first
    if first[:6] == last[:6]:
        return f"{first}–{last[-5:]}"
    return f"{first} – {last}"


def confirmation(item: DigestItem) -> str:
    """What a wire editor says about a story's support: how many channels, how many of them
    reported on their own (forwards and verbatim copies are not confirmation)."""
    posts = f"{item.post_count} posts" if item.post_count > 1 else "1 post"
    if item.channel_count > 1:
        independent = item.independent_count or item.channel_count
        if independent < item.channel_count:
            return f"{item.channel_count} channels, {independent} independent ({posts})"
        return f"{item.channel_count} channels ({posts})"
    return f"single source ({posts})" if item.post_count > 1 else "single source"


def first_report(item: DigestItem, tz: tzinfo) -> str:
    """ "first: @uniannet 14:15", for stories that more than one channel reported."""
    if item.first is None or item.channel_count < 2:
        return ""
    return f"first: {item.first.channel} {when_text(item.first.date, tz)}"


def _reading(reading: FigureReading, tz: tzinfo, link: bool) -> str:
    when = when_text(reading.citation.date, tz)
    if link:
        return (
            f"{reading.value} ({anchor(reading.citation.url, reading.citation.channel)} {h(when)})"
        )
    return f"{reading.value} ({reading.citation.channel}, {when})"


def figure_lines(item: DigestItem, tz: tzinfo, link: bool = False) -> list[str]:
    """ "killed: 4 (Kyiv Independent, 14 May 09:31); earlier 1 (…), 2 (…)": the latest figure
    first, then the other reports, each with its source (HTML: linked to the post)."""
    lines = []
    for difference in item.figures:
        *earlier, latest = difference.readings
        line = f"{difference.kind}: {_reading(latest, tz, link)}"
        if earlier:
            line += "; earlier " + ", ".join(_reading(r, tz, link) for r in earlier)
        lines.append(line)
    return lines


def item_marks(item: DigestItem) -> list[str]:
    """What a reader must know about an item besides its line: a passing mention,
    unverified figures, an edit after posting (digests and briefs show the same)."""
    marks = []
    if item.relevance < CENTRAL and item.relevance_why:
        marks.append(item.relevance_why)
    if not item.verified:
        marks.append("unverified figures")
    if item.edited:
        marks.append("edited after posting")
    return marks


def _marks(item: DigestItem) -> str:
    marks = item_marks(item)
    return f" [{'; '.join(marks)}]" if marks else ""


def header_line(digest: Digest, tz: tzinfo) -> str:
    since, until = when_text(digest.since, tz, True), when_text(digest.until, tz, True)
    return f"{digest.title}: {since} – {until} ({_tz_name(tz)})"


def stats_line(digest: Digest) -> str:
    stories = plural(digest.stories_found, "story", "stories")
    if digest.offset:
        first, last = digest.offset + 1, digest.offset + len(digest.items)
        shown = f"story {first}" if first == last else f"stories {first}–{last}"
        stories = f"{shown} of {digest.stories_found}"
    elif digest.stories_seen:
        stories = (
            stories.replace(" stor", " new stor") + f" ({digest.stories_seen} already received)"
        )
    return f"{plural(digest.posts_considered, 'post')}, {stories}, summary: {digest.summariser}"


def empty_line(digest: Digest, tz: tzinfo = UTC) -> str:
    if digest.posts_considered and digest.stories_seen and not digest.stories_found:
        posts = plural(digest.posts_considered, "post")
        return f"Nothing new since the last digest ({posts}, all in stories you already received)."
    line = "Nothing reported on this topic in this window."
    if digest.latest is not None:
        line += (
            f" The latest earlier post is from {when_text(digest.latest.date, tz, True)}"
            f" ({defang(digest.latest.channel)}): {digest.latest_text}"
        )
    return line


# ----- text -------------------------------------------------------------------------


def render_text(digest: Digest, tz: tzinfo = UTC) -> str:
    lines = [header_line(digest, tz), stats_line(digest), ""]
    if not digest.items:
        lines.append(empty_line(digest, tz))
        if digest.latest is not None:
            lines.append(f"   - {digest.latest.channel}: {digest.latest.url}")
    for number, item in enumerate(digest.items, start=digest.offset + 1):
        lines.append(f"{number}. {item.text}{_marks(item)}")
        lines.append(f"   {_support(item, tz)}")
        for figure in figure_lines(item, tz):
            lines.append(f"   Figures differ: {figure}")
        for citation in item.citations:
            lines.append(f"   - {citation.channel}: {citation.url}")
        lines.append("")
    lines.extend(_footer_lines(digest))
    return "\n".join(lines).rstrip() + "\n"


def _support(item: DigestItem, tz: tzinfo) -> str:
    parts = [confirmation(item), _span(item, tz), first_report(item, tz)]
    return " · ".join(part for part in parts if part)


def _footer_lines(digest: Digest) -> list[str]:
    lines = [f"Note: {note}" for note in digest.notes]
    if digest.provenance:
        # A channel's title is text from outside too: "Visit evil.com" must not become a link.
        lines.append(
            "Sources: " + "; ".join(f"{defang(s.channel)} ({s.posts})" for s in digest.provenance)
        )
    return lines


# ----- markdown ---------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|~"})


def md_escape(text: str) -> str:
    return text.translate(_MD_SPECIAL)


_MD_URL_UNSAFE = str.maketrans({c: f"%{ord(c):02X}" for c in "()[]<>\\ \"'`"})


def md_url(url: str) -> str:
    """A link target for `[label](target)`: nothing in it can close the link or open
    another (parentheses, brackets, spaces and quotes are percent-encoded)."""
    return url.translate(_MD_URL_UNSAFE)


def render_markdown(digest: Digest, tz: tzinfo = UTC) -> str:
    lines = [f"## {md_escape(header_line(digest, tz))}", "", f"_{stats_line(digest)}_", ""]
    if not digest.items:
        lines.append(md_escape(empty_line(digest, tz)))
        if digest.latest is not None:
            lines.append(f"[{md_escape(digest.latest.channel)}]({md_url(digest.latest.url)})")
    for number, item in enumerate(digest.items, start=digest.offset + 1):
        links = ", ".join(f"[{md_escape(c.channel)}]({md_url(c.url)})" for c in item.citations)
        lines.append(
            f"{number}. {md_escape(item.text)}{md_escape(_marks(item))}  \n"
            f"   {md_escape(_support(item, tz))} · {links}"
        )
        for figure in figure_lines(item, tz):
            lines.append(f"   Figures differ: {md_escape(figure)}  ")
    lines.append("")
    lines.extend(md_escape(line) for line in _footer_lines(digest))
    return "\n".join(lines).rstrip() + "\n"


# ----- Telegram HTML ----------------------------------------------------------------


def h(text: str) -> str:
    """Escape text for Telegram's HTML: &, < and > (quotes matter only in attributes)."""
    return html.escape(text, quote=False)


def anchor(url: str, label: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{h(label)}</a>'


def html_citations(citations: Sequence[Citation]) -> str:
    """One named link per channel, numbered links for its further posts, capped."""
    by_channel: dict[str, list[Citation]] = {}
    for citation in citations:
        by_channel.setdefault(citation.channel, []).append(citation)
    parts = []
    shown = 0
    for channel, group in by_channel.items():
        if shown >= HTML_MAX_LINKS_PER_ITEM:
            break
        part = anchor(group[0].url, channel)
        shown += 1
        extra = []
        for number, citation in enumerate(group[1:], start=2):
            if shown >= HTML_MAX_LINKS_PER_ITEM:
                break
            extra.append(anchor(citation.url, str(number)))
            shown += 1
        if extra:
            part += " (" + ", ".join(extra) + ")"
        parts.append(part)
    hidden = len(citations) - shown
    text = ", ".join(parts)
    if hidden > 0:
        text += f" +{hidden} more"
    return text


def render_html_parts(digest: Digest, tz: tzinfo = UTC) -> list[str]:
    """Header, one part per item, footer: the units a long message may be split between."""
    parts = [f"<b>{h(header_line(digest, tz))}</b>\n<i>{h(stats_line(digest))}</i>"]
    if not digest.items:
        empty = h(empty_line(digest, tz))
        if digest.latest is not None:
            empty += " " + anchor(digest.latest.url, digest.latest.channel)
        parts.append(empty)
    for number, item in enumerate(digest.items, start=digest.offset + 1):
        figures = "".join(
            f"\n<i>Figures differ:</i> {line}" for line in figure_lines(item, tz, link=True)
        )
        parts.append(
            f"<b>{number}.</b> {h(item.text)}{h(_marks(item))}\n"
            f"<i>{h(_support(item, tz))}</i> · "
            f"{html_citations(item.citations)}{figures}"
        )
    footer = _footer_lines(digest)
    if footer:
        parts.append("\n".join(h(line) for line in footer))
    return parts


def render_html(digest: Digest, tz: tzinfo = UTC) -> str:
    return "\n\n".join(render_html_parts(digest, tz)) + "\n"


# ----- JSON -------------------------------------------------------------------------


def iso(value: datetime) -> str:
    """A time in JSON: UTC, ISO 8601 with a Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _citation_dict(c: Citation) -> dict[str, Any]:
    return {"channel": c.channel, "message_id": c.message_id, "url": c.url, "date": iso(c.date)}


def standing_dict(item: DigestItem) -> dict[str, Any]:
    """How a story stands, the same in a digest's JSON and a brief's: its channels (and
    how many are independent), posts, where its line comes from, and its relevance."""
    return {
        "channels": item.channel_count,
        "independent_channels": item.independent_count or item.channel_count,
        "posts": item.post_count,
        "source": item.source,
        "relevance": {"score": round(item.relevance, 2), "why": item.relevance_why},
    }


def digest_to_dict(digest: Digest) -> dict[str, Any]:
    return {
        "topic": digest.topic,
        "title": digest.title,
        "since": iso(digest.since),
        "until": iso(digest.until),
        "generated_at": iso(digest.generated_at),
        "summariser": digest.summariser,
        "posts_considered": digest.posts_considered,
        "stories_found": digest.stories_found,
        "items": [
            {
                "text": item.text,
                **standing_dict(item),
                "verified": item.verified,
                "edited": item.edited,
                "first": _citation_dict(item.first) if item.first else None,
                "figures": [
                    {
                        "kind": f.kind,
                        "latest": f.readings[-1].value,
                        "readings": [
                            {"value": r.value, **_citation_dict(r.citation)} for r in f.readings
                        ],
                    }
                    for f in item.figures
                ],
                "first_date": iso(item.first_date),
                "last_date": iso(item.last_date),
                "citations": [_citation_dict(c) for c in item.citations],
            }
            for item in digest.items
        ],
        "provenance": [
            {"channel": s.channel, "handle": s.handle, "posts": s.posts} for s in digest.provenance
        ],
        "notes": digest.notes,
        "dropped_items": digest.dropped_items,
        "dropped_citations": digest.dropped_citations,
        "tokens": {"in": digest.tokens_in, "out": digest.tokens_out},
    }


def render_json(digest: Digest, tz: tzinfo = UTC) -> str:
    return json.dumps(digest_to_dict(digest), ensure_ascii=False, indent=2) + "\n"


def render(digest: Digest, fmt: str, tz: tzinfo = UTC) -> str:
    renderers = {
        "text": render_text,
        "markdown": render_markdown,
        "html": render_html,
        "json": render_json,
    }
    return renderers[fmt](digest, tz)
