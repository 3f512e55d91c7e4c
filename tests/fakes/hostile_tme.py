"""A t.me stand-in that misbehaves on purpose, for the poller's defences (and the bench).

Each channel name can be given a behaviour; the others are served as `FakeTme` serves them:

- "trickle": headers, then one byte every `trickle_interval` seconds, never finishing;
- "huge": an HTML body of `huge_bytes` with no Content-Length, written in 1 MB pieces;
- "declared_huge": a Content-Length of `huge_bytes`, the body never sent;
- "bomb": a gzip body that inflates to `bomb_bytes` (built once, kept for reuse);
- "redirect_away": a 302 to `redirect_to` (another host);
- "foreign": the channel's page with some posts marked as another channel's (`data-post`);
- "nested": the channel's page with `nested_depth` nested tags inside a post.
"""

from __future__ import annotations

import functools
import time
import zlib

from tests.fakes.http_core import Connection, Request
from tests.fakes.tme_server import FakeTme, preview_page, select_window

MB = 1024 * 1024


@functools.cache
def gzip_bomb(inflated: int) -> bytes:
    """A gzip stream of `inflated` zero bytes (about a thousandth of that on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MB)
    parts = [packer.compress(zeros) for _ in range(inflated // MB)]
    parts.append(packer.flush())
    return b"".join(parts)


class HostileTme(FakeTme):
    name = "hostile t.me"

    def __init__(self) -> None:
        super().__init__()
        self.behaviour: dict[str, str] = {}
        self.trickle_interval = 0.5
        self.huge_bytes = 100 * MB
        self.bomb_bytes = 64 * MB
        self.nested_depth = 200_000
        self.redirect_to = "http://127.0.0.1:9/internal"
        self.foreign_name = "victim_channel"
        self.bytes_sent: dict[str, int] = {}

    def misbehave(self, name: str, kind: str) -> None:
        self.behaviour[name.lower()] = kind
        self.channel(name, posts=5)

    async def handle(self, conn: Connection, request: Request) -> bool:
        path = request.path.rstrip("/")
        kind = self.behaviour.get(path[3:].lower()) if path.startswith("/s/") else None
        if kind is None:
            return await super().handle(conn, request)
        name = path[3:].lower()
        self.requests.append((path, request.query, time.monotonic()))
        async with self._arrived:
            self._arrived.notify_all()
        return await getattr(self, f"_{kind}")(conn, request, name)

    def _head(self, conn: Connection, headers: dict[str, str]) -> None:
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        conn.writer.write(f"HTTP/1.1 200 OK\r\n{lines}\r\n".encode("latin-1"))

    async def _trickle(self, conn: Connection, request: Request, name: str) -> bool:
        self._head(conn, {"content-type": "text/html", "content-length": str(MB)})
        while True:
            conn.writer.write(b"<")
            await conn.writer.drain()
            self.bytes_sent[name] = self.bytes_sent.get(name, 0) + 1
            if not await conn.wait_unless_gone(self.trickle_interval):
                return False

    async def _huge(self, conn: Connection, request: Request, name: str) -> bool:
        self._head(conn, {"content-type": "text/html; charset=utf-8", "connection": "close"})
        piece = (b"<div class='tgme_widget_message_text'>" + b"x" * 1000 + b"</div>\n") * (
            MB // 1046
        )
        sent = 0
        while sent < self.huge_bytes:
            conn.writer.write(piece)
            await conn.writer.drain()
            sent += len(piece)
            self.bytes_sent[name] = sent
        return False

    async def _declared_huge(self, conn: Connection, request: Request, name: str) -> bool:
        self._head(conn, {"content-type": "text/html", "content-length": str(self.huge_bytes)})
        await conn.writer.drain()
        await conn.wait_unless_gone(60)
        return False

    async def _bomb(self, conn: Connection, request: Request, name: str) -> bool:
        body = gzip_bomb(self.bomb_bytes)
        self._head(
            conn,
            {"content-type": "text/html", "content-encoding": "gzip",
             "content-length": str(len(body)), "connection": "close"},
        )  # fmt: skip
        conn.writer.write(body)
        await conn.writer.drain()
        self.bytes_sent[name] = len(body)
        return False

    async def _redirect_away(self, conn: Connection, request: Request, name: str) -> bool:
        await conn.send(
            302, b"", keep_alive=request.keep_alive, extra_headers={"location": self.redirect_to}
        )
        return True

    def _page(self, name: str, request: Request) -> str:
        channel = self.channels[name]
        posts = select_window(channel.visible(), request.query)
        return preview_page(channel, posts, older=False)

    async def _foreign(self, conn: Connection, request: Request, name: str) -> bool:
        channel = self.channels[name]
        page = self._page(name, request)
        for post in channel.visible()[:2]:  # the two oldest claim to be another channel's
            page = page.replace(
                f'data-post="{channel.name}/{post.id}"',
                f'data-post="{self.foreign_name}/{post.id}"',
            )
        await conn.send(200, page.encode(), keep_alive=request.keep_alive, content_type="text/html")
        return True

    async def _nested(self, conn: Connection, request: Request, name: str) -> bool:
        deep = "<span>" * self.nested_depth + "deep" + "</span>" * self.nested_depth
        marker = 'js-message_text" dir="auto">'
        page = self._page(name, request).replace(marker, marker + deep, 1)
        await conn.send(200, page.encode(), keep_alive=request.keep_alive, content_type="text/html")
        return True
