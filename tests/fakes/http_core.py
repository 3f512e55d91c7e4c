"""The HTTP/1.1 core shared by the local fake servers (t.me, Bot API, OpenAI).

Stdlib + asyncio only: keep-alive, Content-Length or chunked request bodies, one response
at a time. A fake subclasses `LocalServer` and implements `handle(conn, request)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
READ_CHUNK = 64 * 1024


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class BadRequestError(Exception):
    """The bytes on the wire are not an HTTP request we can parse."""


class PeerGone(Exception):
    """The client closed the connection."""


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query).items()}

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


class Connection:
    """One client connection: a byte buffer over the stream plus response writing."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()

    async def _fill(self) -> None:
        data = await self.reader.read(READ_CHUNK)
        if not data:
            raise PeerGone
        self.buf += data

    async def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def _read_line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            if len(self.buf) > MAX_HEADER_BYTES:
                raise BadRequestError("line too long")
            await self._fill()
        line = bytes(self.buf[:end])
        del self.buf[: end + 2]
        return line

    async def read_request(self) -> Request | None:
        """Read one request; None when the client closed the connection between requests."""
        try:
            while True:
                while self.buf.startswith(b"\r\n"):
                    del self.buf[:2]
                end = self.buf.find(b"\r\n\r\n")
                if end >= 0:
                    break
                if len(self.buf) > MAX_HEADER_BYTES:
                    raise BadRequestError("request head too large")
                await self._fill()
        except PeerGone:
            return None
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[: end + 4]
        request_line, *header_lines = head.split("\r\n")
        try:
            method, target, version = request_line.split(" ", 2)
        except ValueError:
            raise BadRequestError(f"bad request line {request_line!r}") from None
        headers: dict[str, str] = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise BadRequestError(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked()
        else:
            try:
                length = int(headers.get("content-length", "0") or "0")
            except ValueError:
                raise BadRequestError("bad content-length") from None
            if not 0 <= length <= MAX_BODY_BYTES:
                raise BadRequestError("bad content-length")
            body = await self._read_exact(length)
        return Request(method.upper(), target, version.upper(), headers, body)

    async def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_line = (await self._read_line()).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BadRequestError("bad chunk size") from None
            if size == 0:
                while await self._read_line():
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise BadRequestError("body too large")
            body += await self._read_exact(size)
            await self._read_exact(2)

    async def wait_unless_gone(self, seconds: float, wake: asyncio.Event | None = None) -> bool:
        """Sleep `seconds` (or until `wake` is set); return False early if the client hangs up.

        Bytes that arrive meanwhile (a pipelined request) are kept for `read_request`.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (remaining := deadline - loop.time()) > 0:
            if wake is not None and wake.is_set():
                return True
            read = asyncio.ensure_future(self.reader.read(READ_CHUNK))
            read.add_done_callback(lambda task: task.cancelled() or task.exception())
            waits: set[asyncio.Future[Any]] = {read}
            if wake is not None:
                waits.add(asyncio.ensure_future(wake.wait()))
            try:
                await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for fut in waits:
                    fut.cancel()
                await asyncio.wait(waits)  # the stream allows one reader: let this one unwind
            if read.cancelled():
                continue  # timed out or woken: the loop condition decides
            try:
                data = read.result()
            except (ConnectionError, OSError):
                return False
            if not data:
                return False
            self.buf += data
        return True

    async def send(
        self,
        status: int,
        body: bytes,
        *,
        keep_alive: bool,
        content_type: str = "application/json",
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        headers = {
            "content-type": content_type,
            "content-length": str(len(body)),
            "connection": "keep-alive" if keep_alive else "close",
        }
        for name, value in (extra_headers or {}).items():
            headers[name.lower()] = value
        head = f"HTTP/1.1 {status} {reason(status)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(head.encode("latin-1") + b"\r\n" + body)
        await self.writer.drain()

    async def send_json(
        self,
        status: int,
        payload: Any,
        *,
        keep_alive: bool,
        extra_headers: dict[str, str] | None = None,
        ensure_ascii: bool = True,
    ) -> None:
        body = json.dumps(payload, ensure_ascii=ensure_ascii).encode()
        await self.send(status, body, keep_alive=keep_alive, extra_headers=extra_headers)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class LocalServer:
    """A server on 127.0.0.1 with an OS-assigned port, run inside the test's event loop.

    `stop()` cancels every connection handler, even one sleeping in `wait_unless_gone`.
    """

    name = "fake server"
    host = "127.0.0.1"

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.errors: list[str] = []
        self.connection_count = 0

    async def handle(self, conn: Connection, request: Request) -> bool:
        """Answer one request; return False when the connection must be closed."""
        raise NotImplementedError

    async def send_error(self, conn: Connection, status: int, message: str) -> None:
        """Answer a malformed request (400) or a failed handler (500); the connection closes."""
        await conn.send(status, message.encode(), keep_alive=False)

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, self.host, 0)
            self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), timeout=5)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._port

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connection_count += 1
        conn = Connection(reader, writer)
        try:
            while True:
                try:
                    request = await conn.read_request()
                except BadRequestError as exc:
                    await self.send_error(conn, 400, f"malformed HTTP: {exc}")
                    return
                if request is None:
                    return
                try:
                    keep_going = await self.handle(conn, request)
                except (PeerGone, ConnectionError, OSError):
                    raise
                except Exception as exc:
                    log.exception("%s handler failed", self.name)
                    self.errors.append(f"handler failed: {exc!r}")
                    await self.send_error(conn, 500, f"fake server bug: {exc!r}")
                    return
                if not (keep_going and request.keep_alive):
                    return
        except (PeerGone, ConnectionError, OSError):
            log.debug("%s: client went away", self.name)
        except asyncio.CancelledError:
            # stop() cancels handlers; end normally (Python 3.11's start_server callback
            # would log a spurious error for a task that ends cancelled).
            log.debug("%s: handler cancelled", self.name)
        finally:
            conn.close()
            if task is not None:
                self._tasks.discard(task)
