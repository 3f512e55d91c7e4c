"""A local stand-in for t.me's web preview, serving pages in its real markup.

Channels hold posts; `/s/<name>` serves the newest window of about 20 ids, `?before=N`
and `?after=N` page as t.me does. Faults are scripted per channel: 500s, the empty
"No posts found" answer of too-fast polling, slow answers, a redirect for a channel
without a public preview, and names that do not exist.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from tests.fakes.http_core import Connection, LocalServer, Request

PAGE_SIZE = 20


@dataclass
class FakePost:
    id: int
    text: str
    date: datetime
    views: int = 100
    edited: bool = False
    album: int = 0  # number of extra album members (ids after this one, not shown)
    deleted: bool = False


@dataclass
class FakeChannel:
    name: str
    title: str
    posts: dict[int, FakePost] = field(default_factory=dict)
    preview: bool = True

    def add(self, count: int, start: datetime | None = None, text: str = "Post {id}") -> None:
        """Append `count` posts with the next ids, a minute apart."""
        next_id = max(self.posts, default=0) + 1
        when = start or datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
        if self.posts:
            when = max(p.date for p in self.posts.values()) + timedelta(minutes=1)
        for offset in range(count):
            pid = next_id + offset
            self.posts[pid] = FakePost(pid, text.format(id=pid), when + timedelta(minutes=offset))

    def visible(self) -> list[FakePost]:
        return sorted((p for p in self.posts.values() if not p.deleted), key=lambda p: p.id)


@dataclass
class Fault:
    kind: str  # "500", "no_posts", "slow", "drop"
    delay: float = 0.0


class FakeTme(LocalServer):
    name = "fake t.me"

    def __init__(self) -> None:
        super().__init__()
        self.channels: dict[str, FakeChannel] = {}
        self.faults: dict[str, deque[Fault]] = {}
        self.requests: list[tuple[str, dict[str, str], float]] = []
        self._arrived = asyncio.Condition()

    @property
    def base_url(self) -> str:
        return self.origin

    def channel(self, name: str, title: str | None = None, posts: int = 0) -> FakeChannel:
        channel = self.channels.setdefault(name.lower(), FakeChannel(name, title or name.title()))
        if posts:
            channel.add(posts)
        return channel

    def fail_next(self, name: str, kind: str, times: int = 1, delay: float = 0.0) -> None:
        queue = self.faults.setdefault(name.lower(), deque())
        queue.extend(Fault(kind, delay) for _ in range(times))

    def requests_for(self, name: str) -> list[dict[str, str]]:
        return [q for path, q, _ in self.requests if path.lower() == f"/s/{name.lower()}"]

    async def wait_for_requests(self, name: str, count: int, within: float = 10.0) -> None:
        """Until `count` preview requests for `name` have arrived."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.requests_for(name)) >= count), within
            )

    async def handle(self, conn: Connection, request: Request) -> bool:
        path = request.path.rstrip("/")
        self.requests.append((path, request.query, time.monotonic()))
        async with self._arrived:
            self._arrived.notify_all()
        if path.startswith("/s/"):
            return await self._preview(conn, request, path[3:])
        name = path.lstrip("/")
        channel = self.channels.get(name.lower())
        body = landing_page(channel)
        await conn.send(200, body.encode(), keep_alive=request.keep_alive, content_type="text/html")
        return True

    async def _preview(self, conn: Connection, request: Request, name: str) -> bool:
        channel = self.channels.get(name.lower())
        if channel is None or not channel.preview:
            await conn.send(
                302, b"", keep_alive=request.keep_alive, extra_headers={"location": f"/{name}"}
            )
            return True
        queue = self.faults.get(name.lower())
        fault = queue.popleft() if queue else None
        if fault is not None:
            if fault.kind == "500":
                await conn.send(500, b"Internal Server Error", keep_alive=request.keep_alive)
                return True
            if fault.kind == "drop":
                return False
            if fault.kind == "429-date":  # Retry-After as an HTTP date, `delay` s from now
                when = datetime.now(UTC) + timedelta(seconds=fault.delay)
                await conn.send(
                    429, b"Too Many Requests", keep_alive=request.keep_alive,
                    extra_headers={"retry-after": format_datetime(when, usegmt=True)},
                )  # fmt: skip
                return True
            if fault.kind == "slow" and not await conn.wait_unless_gone(fault.delay):
                return False
            if fault.kind == "no_posts":
                await conn.send(
                    200, no_posts_page(channel).encode(), keep_alive=request.keep_alive,
                    content_type="text/html",
                )  # fmt: skip
                return True
        posts = select_window(channel.visible(), request.query)
        older = bool(posts) and any(p.id < posts[0].id for p in channel.visible())
        body = preview_page(channel, posts, older)
        await conn.send(200, body.encode(), keep_alive=request.keep_alive, content_type="text/html")
        await asyncio.sleep(0)
        return True


def select_window(posts: list[FakePost], query: dict[str, str]) -> list[FakePost]:
    if "before" in query:
        before = int(query["before"])
        return [p for p in posts if p.id < before][-PAGE_SIZE:]
    if "after" in query:
        after = int(query["after"])
        return [p for p in posts if p.id > after][:PAGE_SIZE]
    return posts[-PAGE_SIZE:]


def _post_html(channel: FakeChannel, post: FakePost) -> str:
    name = channel.name
    text = "<br/>".join(html.escape(line) for line in post.text.split("\n"))
    media = ""
    if post.album:
        items = "".join(
            f'<a class="tgme_widget_message_photo_wrap grouped_media_wrap" '
            f'href="https://t.me/{name}/{post.id + i}?single"></a>'
            for i in range(post.album + 1)
        )
        media = f'<div class="tgme_widget_message_grouped_wrap"><div class="tgme_widget_message_grouped">{items}</div></div>'
    edited = "edited " if post.edited else ""
    return f"""
<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{name}/{post.id}">
  <div class="tgme_widget_message_bubble">
    <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/{name}"><span dir="auto">{html.escape(channel.title)}</span></a></div>
    {media}
    <div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>
    <div class="tgme_widget_message_footer compact js-message_footer">
      <div class="tgme_widget_message_info short js-message_info">
        <span class="tgme_widget_message_views">{post.views}</span><span class="copyonly"> views</span><span class="tgme_widget_message_meta">{edited}<a class="tgme_widget_message_date" href="https://t.me/{name}/{post.id}"><time datetime="{post.date.isoformat()}" class="time">{post.date:%H:%M}</time></a></span>
      </div>
    </div>
  </div>
</div></div>"""


def _head(channel: FakeChannel, links: str = "") -> str:
    title = html.escape(channel.title)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} – Telegram</title>{links}</head>
<body>
<div class="tgme_channel_info"><div class="tgme_channel_info_header">
  <div class="tgme_channel_info_header_title"><span dir="auto">{title}</span></div>
  <div class="tgme_channel_info_header_username"><a href="https://t.me/{channel.name}">@{channel.name}</a></div>
</div></div>
"""


def preview_page(channel: FakeChannel, posts: list[FakePost], older: bool) -> str:
    if not posts:
        return no_posts_page(channel)
    first, last = posts[0].id, posts[-1].id
    links = f'<link rel="canonical" href="/s/{channel.name}?before={last + 1}">'
    more = ""
    if older:
        links += f'<link rel="prev" href="/s/{channel.name}?before={first}">'
        more = (
            f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{channel.name}?before={first}" '
            f'class="tme_messages_more js-messages_more" data-before="{first}"></a></div>'
        )
    body = "".join(_post_html(channel, p) for p in posts)
    return (
        _head(channel, links)
        + f'<section class="tgme_channel_history js-message_history">{more}{body}</section></body></html>'
    )


def no_posts_page(channel: FakeChannel) -> str:
    return (
        _head(channel)
        + '<section class="tgme_channel_history js-message_history"><div class="tgme_widget_message_wrap">'
        '<div class="tgme_widget_message_centered"><div class="tme_no_messages_found">No posts found'
        "</div></div></div></section></body></html>"
    )


def landing_page(channel: FakeChannel | None) -> str:
    """t.me/<name>: a channel's landing page, or the generic page for an unknown name."""
    if channel is None:
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Telegram: Contact</title></head>'
            '<body><div class="tgme_page"><div class="tgme_page_description">If you have '
            "<strong>Telegram</strong>, you can contact right away.</div></div></body></html>"
        )
    title = html.escape(channel.title)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Telegram: Contact @{channel.name}</title>
<meta property="og:title" content="{title}"></head><body>
<div class="tgme_page"><div class="tgme_page_title"><span dir="auto">{title}</span></div>
<div class="tgme_page_extra">12 345 subscribers</div>
<div class="tgme_page_description">A channel.</div></div></body></html>"""
