"""A scriptable, OpenAI-compatible HTTP server for tests (stdlib + asyncio only).

It runs inside the test's event loop on 127.0.0.1 with an OS-assigned port and speaks
just enough HTTP/1.1 (keep-alive, Content-Length or chunked request bodies) for the real
``openai.AsyncOpenAI`` client::

    async with FakeOpenAI() as fake:
        fake.script(Reply(content='{"ok": true}'), Reply(status=429, headers={"retry-after": "1"}))
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key=fake.api_key, max_retries=0)
        ...
        assert fake.requests[0]["messages"][0]["role"] == "system"

Endpoints: ``POST /v1/chat/completions`` (non-streaming only) and ``GET /v1/models``
(plus ``GET /v1/models/{id}``). Every endpoint checks ``Authorization: Bearer <api_key>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 64 * 1024 * 1024
_READ_CHUNK = 64 * 1024


@dataclass
class Reply:
    """One scripted answer to a ``chat.completions`` request."""

    content: str | None = None  # assistant text (e.g. a JSON string)
    status: int = 200  # e.g. 429, 500, 400
    error_message: str = ""  # for non-200, sent in OpenAI's error shape
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"retry-after": "1"}
    delay: float = 0.0  # seconds to wait before answering (a hang past the client timeout)
    usage: tuple[int, int] | None = None  # (prompt_tokens, completion_tokens) override
    drop_connection: bool = False  # close the socket without answering
    finish_reason: str = "stop"  # e.g. "length" to simulate a truncated answer


ReplyFactory = Callable[[dict[str, Any]], Reply | Awaitable[Reply]]

# OpenAI's (type, code) for an error status; anything 5xx is a server_error.
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    409: ("invalid_request_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def error_body(
    status: int, message: str = "", *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error JSON: ``{"error": {"message", "type", "param", "code"}}``."""
    kind, default_code = _ERROR_KINDS.get(
        status, ("server_error", None) if status >= 500 else ("invalid_request_error", None)
    )
    if not message:
        message = f"Fake OpenAI error {status} ({_reason(status)})"
    return {
        "error": {
            "message": message,
            "type": kind,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }


def estimate_tokens(text: str) -> int:
    """Rough token estimate: one token per four characters (at least 1 for non-empty text)."""
    return math.ceil(len(text) / 4)


def _message_text(messages: Any) -> str:
    """Concatenate the text of all message contents (strings or ``[{"type": "text"}]`` parts)."""
    parts: list[str] = []
    if not isinstance(messages, list):
        return ""
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    parts.append(part["text"])
    return "\n".join(parts)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _BadRequestError(Exception):
    """The bytes on the wire are not an HTTP request we can parse."""


class _PeerGone(Exception):
    """The client closed the connection."""


@dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        path = self.target.split("?", 1)[0].rstrip("/")
        return path.removeprefix("/v1") or "/"

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


class _Conn:
    """One client connection: a byte buffer over the stream plus response writing."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()

    async def _fill(self) -> None:
        data = await self.reader.read(_READ_CHUNK)
        if not data:
            raise _PeerGone
        self.buf += data

    async def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def _read_line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            if len(self.buf) > _MAX_HEADER_BYTES:
                raise _BadRequestError("line too long")
            await self._fill()
        line = bytes(self.buf[:end])
        del self.buf[: end + 2]
        return line

    async def read_request(self) -> _Request | None:
        """Read one request; ``None`` when the client closed the connection between requests."""
        try:
            while True:
                while self.buf.startswith(b"\r\n"):  # tolerate stray CRLFs between requests
                    del self.buf[:2]
                end = self.buf.find(b"\r\n\r\n")
                if end >= 0:
                    break
                if len(self.buf) > _MAX_HEADER_BYTES:
                    raise _BadRequestError("request head too large")
                await self._fill()
        except _PeerGone:
            return None
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[: end + 4]
        request_line, *header_lines = head.split("\r\n")
        try:
            method, target, version = request_line.split(" ", 2)
        except ValueError:
            raise _BadRequestError(f"bad request line {request_line!r}") from None
        headers: dict[str, str] = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequestError(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked()
        else:
            try:
                length = int(headers.get("content-length", "0") or "0")
            except ValueError:
                raise _BadRequestError("bad content-length") from None
            if not 0 <= length <= _MAX_BODY_BYTES:
                raise _BadRequestError("bad content-length")
            body = await self._read_exact(length)
        return _Request(method.upper(), target, version.upper(), headers, body)

    async def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_line = (await self._read_line()).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _BadRequestError("bad chunk size") from None
            if size == 0:
                while await self._read_line():  # trailers, up to the empty line
                    pass
                return bytes(body)
            if len(body) + size > _MAX_BODY_BYTES:
                raise _BadRequestError("body too large")
            body += await self._read_exact(size)
            await self._read_exact(2)  # CRLF after each chunk

    async def wait_unless_gone(self, seconds: float) -> bool:
        """Sleep ``seconds``; return False early if the client hangs up meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (remaining := deadline - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(self.reader.read(_READ_CHUNK), remaining)
            except TimeoutError:
                return True
            except (ConnectionError, OSError):
                return False
            if not data:
                return False
            self.buf += data  # a pipelined request: keep it for later
        return True

    async def send(
        self,
        status: int,
        payload: Any,
        *,
        keep_alive: bool,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        """Write one JSON response."""
        body = json.dumps(payload).encode()
        headers = {
            "content-type": "application/json",
            "content-length": str(len(body)),
            "connection": "keep-alive" if keep_alive else "close",
        }
        for name, value in (extra_headers or {}).items():
            headers[name.lower()] = value
        head = f"HTTP/1.1 {status} {_reason(status)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(head.encode("latin-1") + b"\r\n" + body)
        await self.writer.drain()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class FakeOpenAI:
    """A local OpenAI-compatible server whose ``chat.completions`` answers are scripted."""

    def __init__(self, api_key: str = "sk-test-key", model: str = "test-model") -> None:
        self.api_key = api_key
        self.model = model
        self.requests: list[dict[str, Any]] = []  # parsed chat.completions bodies, in order
        self.request_headers: list[dict[str, str]] = []  # their (lower-cased) headers
        self.request_times: list[float] = []  # time.monotonic() when each body was received
        self.errors: list[str] = []  # internal server errors (a bug in the fake or a default)
        self.connection_count = 0  # TCP connections accepted (keep-alive reuses one)
        self._queue: deque[Reply] = deque()
        self._default: Reply | ReplyFactory = Reply(status=500, error_message="no scripted reply")
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._completion_counter = 0
        self._arrived = asyncio.Event()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 with an OS-assigned port."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._handle_connection, "127.0.0.1", 0)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cancel every connection handler (even one sleeping in a delay)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2.0)

    async def __aenter__(self) -> FakeOpenAI:
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
        """The listening port (after ``start()``)."""
        if self._port is None:
            raise RuntimeError("FakeOpenAI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` — pass as ``AsyncOpenAI(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # ----------------------------------------------------------------- scripting

    def script(self, *replies: Reply) -> None:
        """Queue replies, used in order, one per chat.completions request."""
        self._queue.extend(replies)

    def default(self, reply: Reply | ReplyFactory) -> None:
        """Set the answer used when the queue is empty: a Reply, or a callable given the request."""
        self._default = reply

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        return len(self._queue)

    async def wait_for_requests(self, count: int = 1, within: float = 5.0) -> None:
        """Wait until ``count`` chat requests arrived (TimeoutError after ``within`` s)."""
        async with asyncio.timeout(within):
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def _next_reply(self, body: dict[str, Any]) -> Reply:
        if self._queue:
            return self._queue.popleft()
        if isinstance(self._default, Reply):
            return self._default
        try:
            result = self._default(body)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            self.errors.append(f"default reply callable raised {exc!r}")
            return Reply(status=500, error_message=f"default reply callable raised {exc!r}")
        if not isinstance(result, Reply):
            self.errors.append(f"default reply callable returned {result!r}, not a Reply")
            return Reply(status=500, error_message="default reply callable did not return a Reply")
        return result

    # ----------------------------------------------------------------- HTTP

    async def _handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connection_count += 1
        conn = _Conn(reader, writer)
        try:
            while True:
                try:
                    request = await conn.read_request()
                except _BadRequestError as exc:
                    await conn.send(
                        400, error_body(400, f"malformed HTTP: {exc}"), keep_alive=False
                    )
                    return
                if request is None:
                    return
                keep_alive = request.keep_alive
                try:
                    keep_going = await self._dispatch(conn, request, keep_alive)
                except (_PeerGone, ConnectionError, OSError):
                    raise
                except Exception as exc:
                    log.exception("FakeOpenAI handler failed")
                    self.errors.append(f"handler failed: {exc!r}")
                    await conn.send(
                        500, error_body(500, f"fake server bug: {exc!r}"), keep_alive=False
                    )
                    return
                if not (keep_going and keep_alive):
                    return
        except (_PeerGone, ConnectionError, OSError):
            log.debug("FakeOpenAI client went away")
        except asyncio.CancelledError:
            # stop() cancels handlers. End normally: Python 3.11's start_server done-callback
            # calls task.exception(), which would log a spurious error for a cancelled task.
            log.debug("FakeOpenAI handler cancelled")
        finally:
            conn.close()
            if task is not None:
                self._tasks.discard(task)

    def _authorized(self, request: _Request) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {self.api_key}"

    async def _dispatch(self, conn: _Conn, request: _Request, keep_alive: bool) -> bool:
        """Answer one request; return False when the connection must be closed."""
        path, method = request.path, request.method
        known = path in ("/chat/completions", "/models") or path.startswith("/models/")
        if not known:
            message = f"Invalid URL ({method} {request.target})"
            await conn.send(
                404, error_body(404, message, code="unknown_url"), keep_alive=keep_alive
            )
            return True
        expected = "POST" if path == "/chat/completions" else "GET"
        if method != expected:
            message = f"Method {method} not allowed for {request.target}"
            await conn.send(405, error_body(405, message), keep_alive=keep_alive)
            return True
        if not self._authorized(request):
            given = request.headers.get("authorization", "")
            message = f"Incorrect API key provided: {given.removeprefix('Bearer ')!r}."
            await conn.send(401, error_body(401, message), keep_alive=keep_alive)
            return True
        if path == "/models":
            await conn.send(
                200, {"object": "list", "data": [self._model_obj()]}, keep_alive=keep_alive
            )
            return True
        if path.startswith("/models/"):
            model_id = path.removeprefix("/models/")
            if model_id == self.model:
                await conn.send(200, self._model_obj(), keep_alive=keep_alive)
            else:
                message = f"The model '{model_id}' does not exist"
                await conn.send(404, error_body(404, message, param="model"), keep_alive=keep_alive)
            return True
        return await self._chat_completion(conn, request, keep_alive)

    def _model_obj(self) -> dict[str, Any]:
        return {"id": self.model, "object": "model", "created": 1700000000, "owned_by": "fake"}

    async def _chat_completion(self, conn: _Conn, request: _Request, keep_alive: bool) -> bool:
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            message = f"We could not parse the JSON body of your request: {exc}"
            await conn.send(400, error_body(400, message), keep_alive=keep_alive)
            return True
        if not isinstance(body, dict):
            message = "The request body must be a JSON object"
            await conn.send(400, error_body(400, message), keep_alive=keep_alive)
            return True
        self.requests.append(body)
        self.request_headers.append(dict(request.headers))
        self.request_times.append(time.monotonic())
        self._arrived.set()
        if body.get("stream"):
            message = "FakeOpenAI does not support stream=true; request a non-streaming completion."
            await conn.send(400, error_body(400, message, param="stream"), keep_alive=keep_alive)
            return True

        reply = await self._next_reply(body)
        if reply.delay > 0 and not await conn.wait_unless_gone(reply.delay):
            return False  # the client gave up (e.g. its timeout); nobody to answer
        if reply.drop_connection:
            return False  # the handler closes the socket without a response
        if reply.status != 200:
            payload = error_body(reply.status, reply.error_message)
            await conn.send(
                reply.status, payload, keep_alive=keep_alive, extra_headers=reply.headers
            )
            return True
        await conn.send(
            200, self._completion(body, reply), keep_alive=keep_alive, extra_headers=reply.headers
        )
        return True

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        self._completion_counter += 1
        if reply.usage is not None:
            prompt_tokens, completion_tokens = reply.usage
        else:
            prompt_tokens = max(1, estimate_tokens(_message_text(body.get("messages"))))
            completion_tokens = estimate_tokens(reply.content or "")
        model = body.get("model")
        return {
            "id": f"chatcmpl-fake{self._completion_counter:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model if isinstance(model, str) and model else self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": "fp_fake",
        }
