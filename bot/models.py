"""Plain typed data that moves between the stages: channels, posts, stories, digests.

Nothing here does I/O. Times are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.links import post_url


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """What an input knows about a channel: its numeric id, its username, or both.

    Web preview pages know only the username; exports know only the numeric id; Bot API
    updates know both. The store reconciles them into one channel row.
    """

    peer_id: int | None = None
    """Bare channel id, without the Bot API's -100 prefix (as in t.me/c/<peer_id>/<id>)."""
    username: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if self.peer_id is None and not self.username:
            raise ValueError("a channel needs a numeric id or a username")


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel as stored."""

    id: int
    peer_id: int | None
    username: str | None
    title: str | None

    @property
    def name(self) -> str:
        """The name a reader recognises: the title, else @username, else the id."""
        if self.title:
            return self.title
        if self.username:
            return f"@{self.username}"
        return f"channel {self.peer_id}"

    @property
    def handle(self) -> str:
        """A short, stable label: @username when known, else the numeric id."""
        return f"@{self.username}" if self.username else str(self.peer_id)


MAX_POST_TEXT_CHARS = 131_072
"""Longest post text stored: 32 times Telegram's own limit (4,096 characters for a message,
1,024 or 4,096 for a caption), so a real post, an album's captions joined, a poll or a page's
link targets always fit, and a hostile 50 MB "post" cannot slow every digest that reads it."""
TEXT_CUT_MARK = " […]"


def capped_text(text: str) -> str:
    """`text`, cut to MAX_POST_TEXT_CHARS (with a mark saying so) when longer."""
    if len(text) <= MAX_POST_TEXT_CHARS:
        return text
    return text[: MAX_POST_TEXT_CHARS - len(TEXT_CUT_MARK)] + TEXT_CUT_MARK


@dataclass(frozen=True, slots=True)
class IncomingPost:
    """A post as an ingest source read it, before the store gives it a channel row."""

    channel: ChannelRef
    message_id: int
    date: datetime
    text: str
    views: int | None = None
    edit_date: datetime | None = None
    forwarded_from: str | None = None
    media_kind: str | None = None
    author: str | None = None
    reply_to: int | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """A stored post, with its channel."""

    id: int
    channel: Channel
    message_id: int
    date: datetime
    text: str
    views: int | None = None
    edit_date: datetime | None = None
    forwarded_from: str | None = None
    media_kind: str | None = None
    edited: bool = False

    @property
    def url(self) -> str:
        return post_url(self.channel.username, self.channel.peer_id, self.message_id)


@dataclass(slots=True)
class Story:
    """Posts of one window that report the same event, oldest first."""

    posts: list[Post]
    copies: dict[int, int | None] = field(default_factory=dict)
    """Post id -> the earlier post it copies (None: a forward from outside the story).
    Copies are cited, but they are not independent confirmation."""
    relevance: float = 1.0
    """How central the digest's topic is to the story (0-1), set by the ranking."""
    relevance_why: str = ""

    @property
    def channels(self) -> list[Channel]:
        """Distinct channels in the order they first reported the story."""
        seen: dict[int, Channel] = {}
        for post in self.posts:
            seen.setdefault(post.channel.id, post.channel)
        return list(seen.values())

    @property
    def independent_channels(self) -> list[Channel]:
        """Channels with at least one post of their own (not a forward, not a copy)."""
        seen: dict[int, Channel] = {}
        for post in self.posts:
            if post.id not in self.copies:
                seen.setdefault(post.channel.id, post.channel)
        return list(seen.values())

    @property
    def first(self) -> Post:
        """The first report: the earliest post that is not a copy (else the earliest)."""
        return next((p for p in self.posts if p.id not in self.copies), self.posts[0])

    @property
    def first_date(self) -> datetime:
        return self.posts[0].date

    @property
    def last_date(self) -> datetime:
        return self.posts[-1].date

    @property
    def views(self) -> int:
        return sum(p.views or 0 for p in self.posts)


@dataclass(frozen=True, slots=True)
class Citation:
    """A link from a digest item to one stored post."""

    channel: str
    message_id: int
    url: str
    date: datetime
    channel_handle: str = ""
    post_id: int | None = None

    @classmethod
    def of(cls, post: Post) -> Citation:
        return cls(
            channel=post.channel.name,
            message_id=post.message_id,
            url=post.url,
            date=post.date,
            channel_handle=post.channel.handle,
            post_id=post.id,
        )


@dataclass(frozen=True, slots=True)
class FigureReading:
    """One report of a figure: "6 killed" in one post."""

    value: int
    citation: Citation


@dataclass(frozen=True, slots=True)
class FigureDifference:
    """A figure the story's posts give differently (a rising toll, two channels' counts),
    oldest reading first; the last is the latest."""

    kind: str
    readings: tuple[FigureReading, ...]


@dataclass(slots=True)
class DigestItem:
    """One line of a digest: a text and the posts that support it."""

    text: str
    citations: list[Citation]
    channel_count: int
    post_count: int
    first_date: datetime
    last_date: datetime
    verified: bool = True
    edited: bool = False
    independent_count: int = 0
    """Channels with a report of their own (forwards and verbatim copies not counted)."""
    first: Citation | None = None
    """The first report of the story."""
    figures: list[FigureDifference] = field(default_factory=list)
    source: str = "extractive"
    """Who wrote the line: "extractive", or "model" for a checked model line."""
    relevance: float = 1.0
    relevance_why: str = ""
    """Where the topic is in the story's posts: headline, lead, passing mention, advert…"""
    told_by: Citation | None = None
    """The post an extractive line is taken from (what its sentences cite in a brief);
    None for a model line, which its story's posts support together."""


@dataclass(frozen=True, slots=True)
class SourceCount:
    """Provenance line: one channel and how many of the digest's posts came from it."""

    channel: str
    handle: str
    posts: int


@dataclass(frozen=True, slots=True)
class LedeSentence:
    """A sentence of a brief's lede written by the model and checked against the posts of
    the stories it cites, or, where the model's failed, the extractive line of its story."""

    text: str
    items: tuple[int, ...]
    """The digest items (indexes into `Digest.items`) whose posts it cites."""
    source: str = "model"


@dataclass(slots=True)
class Digest:
    """A finished digest, ready to render in any format."""

    topic: str
    title: str
    since: datetime
    until: datetime
    generated_at: datetime
    summariser: str
    posts_considered: int
    stories_found: int
    items: list[DigestItem]
    provenance: list[SourceCount]
    notes: list[str] = field(default_factory=list)
    dropped_items: int = 0
    dropped_citations: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    latest: Citation | None = None
    """When the window is empty: the newest earlier post on the topic, if any."""
    latest_text: str = ""
    offset: int = 0
    """Stories shown on earlier pages: this page's items are numbered from offset + 1."""
    remaining: int = 0
    """Stories after this page's (what a "More" button would show)."""
    stories_seen: int = 0
    """Stories left out because the chat had received all their posts (daily digests)."""
    lede: list[LedeSentence] = field(default_factory=list)
    """For a brief with a model: the checked sentences of its lede (else the brief's lede
    is built from the items alone)."""


@dataclass(frozen=True, slots=True)
class Source:
    """A channel wirebrief keeps current, with the health of its polling."""

    id: int
    username: str | None
    channel_id: int | None
    kind: str
    """"web": polled through t.me/s/<username>; "updates": the bot is an admin there."""
    origin: str
    enabled: bool
    status: str
    """new, ok, error, no_preview (the channel hides its preview), not_found."""
    status_reason: str | None
    cursor: int | None
    posts_stored: int
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime | None
    resume_before: int | None = None
    """Where the next poll continues paging back, when the last one stopped short."""
    pending_cursor: int | None = None
    """The cursor to take once that gap is closed."""

    @property
    def label(self) -> str:
        return f"@{self.username}" if self.username else f"channel #{self.channel_id}"


@dataclass(frozen=True, slots=True)
class ChannelSummary:
    """A stored channel at a glance: how many posts, over which dates, how they arrive."""

    channel: Channel
    posts: int
    first_date: datetime | None
    last_date: datetime | None
    arrival: str
    """"web preview", "channel posts", "web preview (removed)" or "import" (no source)."""


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A model's raw answer to one exact request, and what it cost when it was asked."""

    key: str
    model: str
    answer: str
    tokens_in: int
    tokens_out: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LLMUsage:
    """Tokens spent on one UTC day (cached answers spend none)."""

    day: date
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out
