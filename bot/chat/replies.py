"""The bot's replies as Telegram HTML: every piece of markup the chat side sends, apart
from the digests and briefs themselves (`bot.digest.render`, `bot.digest.brief`).

Pure functions from data to HTML strings (and the "More" button), so the handlers in
`bot.chat.commands` only parse, ask the store and deliver. Every piece of stored or typed
text is escaped here with `h`; links come only from stored posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.digest.corrections import Correction
from bot.digest.render import anchor, h, when_text
from bot.digest.topics import Topic
from bot.listings import channel_lines, search_excerpt, source_lines
from bot.models import ChannelSummary, LLMUsage, Post, Source
from bot.store import Subscription
from bot.words import plural, shorten

if TYPE_CHECKING:
    from bot.chat.digests import NextPage

MORE_PREFIX = "more:"
"""Callback data of a "More" button: the prefix and the id of its page in the store."""
TOPIC_TERMS_SHOWN = 12
FAILING_SHOWN = 5


def more_button(page: NextPage | None) -> InlineKeyboardMarkup | None:
    """One button under a digest that has more stories: it sends the next page."""
    if page is None:
        return None
    label = f"More: next {min(page.remaining, page.page_size)} of {page.remaining}"
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"{MORE_PREFIX}{page.page_id}")]]
    )


def corrections_html(corrections: Sequence[Correction], tz: tzinfo) -> str:
    """What changed in posts this chat received: edited in substance, or deleted."""
    lines = ["<b>Corrections to earlier digests</b>"]
    for c in corrections:
        link = anchor(c.post.url, c.post.channel.name)
        when = h(when_text(c.post.date, tz))
        if c.deleted:
            lines.append(f"• {link} ({when}) has been deleted by its channel.")
        else:
            lines.append(f"• {link} ({when}) was edited; it now says: “{h(c.now_says)}”")
    return "\n".join(lines)


# ----- search -------------------------------------------------------------------------


def search_result(post: Post, tz: tzinfo, now: datetime) -> str:
    """One post found: its channel linked to it, when, and its words on one line."""
    when = when_text(post.date, tz, with_year=post.date.year != now.year)
    return f"{anchor(post.url, post.channel.name)} · {h(when)}\n{h(search_excerpt(post, 220))}"


def search_parts(query: str, posts: Sequence[Post], tz: tzinfo, now: datetime) -> list[str]:
    """The heading and one part per post found, newest first."""
    heading = f"<b>{plural(len(posts), 'post')} with “{h(query)}”, newest first</b>"
    return [heading, *(search_result(post, tz, now) for post in posts)]


def no_match(query: str, span: timedelta, earlier: Post | None, tz: tzinfo, now: datetime) -> str:
    """Nothing in the span; the latest earlier match, when there is one."""
    line = f"No post in the last {span_text(span)} mentions “{h(query)}”."
    if earlier is not None:
        line += f" The latest earlier one:\n\n{search_result(earlier, tz, now)}"
    return line


def span_text(span: timedelta) -> str:
    """A span as words: "minute", "12 hours", "3 days"."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} minutes" if minutes != 1 else "minute"
    hours = minutes // 60
    if hours % 24 == 0 and hours >= 24:
        return plural(hours // 24, "day")
    return f"{hours} hours" if hours != 1 else "hour"


# ----- information --------------------------------------------------------------------


def topic_parts(topics: Sequence[Topic]) -> list[str]:
    """/topics: each topic's command, title, description and (the first) search terms."""
    parts = []
    for t in topics:
        terms = ", ".join(str(term) for term in t.terms[:TOPIC_TERMS_SHOWN])
        if len(t.terms) > TOPIC_TERMS_SHOWN:
            terms += f" … and {len(t.terms) - TOPIC_TERMS_SHOWN} more"
        parts.append(f"/{t.name} — <b>{h(t.title)}</b>: {h(t.description)}\n<i>{h(terms)}</i>")
    return parts


def sources_parts(
    sources: Sequence[Source], channels: Sequence[ChannelSummary], tz: tzinfo, now: datetime
) -> list[str]:
    """/sources: the polled sources and their health, then every stored channel."""
    parts = ["<b>Polled sources</b>"]
    parts += [h(line) for line in source_lines(sources, tz, now)] or [
        "None yet. An admin can /addsource @channel."
    ]
    if channels:
        parts.append(f"<b>Stored channels ({len(channels)})</b>")
        parts += [h(line) for line in channel_lines(channels, tz)]
    return parts


def status_html(
    posts: int, sources: Sequence[Source], summariser: str, usage: LLMUsage, tz: tzinfo
) -> str:
    """/status: what is stored, how polling goes, which summariser, the model's tokens."""
    healthy = sum(1 for s in sources if s.status == "ok")
    return "\n".join([
        "<b>Status</b>",
        f"Posts stored: {posts}",
        f"Sources healthy: {healthy} of {len(sources)}",
        f"Last poll: {h(last_poll(sources, tz))}",
        f"Summariser: {h(summariser)}",
        f"Model tokens today: {usage.tokens_in} in, {usage.tokens_out} out ({usage.calls} calls)",
    ])  # fmt: skip


def last_poll(sources: Sequence[Source], tz: tzinfo) -> str:
    """When the poller last ran, and whether it worked: which sources failed, and why."""
    polled = [s for s in sources if s.last_poll_at is not None]
    if not polled:
        return "never"
    line = when_text(max(s.last_poll_at for s in polled if s.last_poll_at), tz)
    failing = [s for s in polled if s.status not in ("ok", "new")]
    if not failing:
        return f"{line}, all {len(polled)} sources ok"
    shown = "; ".join(
        f"{s.label}: {shorten(s.status_reason or s.last_error or s.status, 80)}"
        for s in failing[:FAILING_SHOWN]
    )
    more = f"; and {len(failing) - FAILING_SHOWN} more" if len(failing) > FAILING_SHOWN else ""
    return f"{line}, FAILED for {len(failing)} of {len(polled)} sources ({shown}{more})"


def subscriptions_html(
    subscriptions: Sequence[Subscription], titles: dict[str, str], tz: tzinfo
) -> str:
    """/subscriptions: each daily digest of this chat, its time and when it was last sent."""
    lines = ["<b>Daily digests here</b>"]
    for sub in subscriptions:
        title = titles.get(sub.topic, sub.topic)
        last = when_text(sub.last_sent_at, tz) if sub.last_sent_at else "not yet"
        lines.append(f"{h(title)} at {sub.time_of_day} (last sent: {h(last)})")
    return "\n".join(lines)
