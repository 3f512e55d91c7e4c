"""Plain lines about what wirebrief holds, for the CLI and the bot alike: the polled
sources and their health, the stored channels, a post as a search result shows it.

Plain text: the bot escapes each line for Telegram HTML (see `bot.chat.replies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from bot.digest.text import clean_text, strip_markup
from bot.models import ChannelSummary, Post, Source
from bot.words import plural, shorten

# ----- sources ----------------------------------------------------------------------


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return "in " + _ago(now, value).removesuffix(" ago")
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def source_lines(
    sources: Sequence[Source], tz: tzinfo = UTC, now: datetime | None = None
) -> list[str]:
    """One line per source: health at a glance, the reason when something is wrong."""
    now = now or datetime.now(UTC)
    lines = []
    for source in sources:
        state = source.status if source.enabled else "removed"
        line = (
            f"{source.label}: {state}; {source.posts_stored} posts; "
            f"last success {_ago(source.last_success_at, now)}"
        )
        if source.kind == "updates":
            line += "; via channel posts"
        elif source.enabled and source.next_poll_at:
            line += f"; next poll {_ago(source.next_poll_at, now)}"
        if source.last_error and source.status != "ok":
            line += f"; {source.status_reason or source.last_error}"
        lines.append(line)
    return lines


def channel_lines(channels: Sequence[ChannelSummary], tz: tzinfo = UTC) -> list[str]:
    """One line per stored channel: posts, their date range, and how they arrive."""
    lines = []
    for summary in channels:
        line = f"{summary.channel.name} ({summary.channel.handle}): {plural(summary.posts, 'post')}"
        if summary.first_date and summary.last_date:
            first = summary.first_date.astimezone(tz).strftime("%d %b %Y")
            last = summary.last_date.astimezone(tz).strftime("%d %b %Y")
            line += f", {first}" if first == last else f", {first} – {last}"
        lines.append(f"{line}; {summary.arrival}")
    return lines


# ----- search -----------------------------------------------------------------------


def search_excerpt(post: Post, limit: int) -> str:
    """A post as a search result shows it: its words (no Markdown marks or bare links, as
    in digests), on one line, cut at a word."""
    return shorten(clean_text(post.text) or strip_markup(post.text) or post.text, limit)
