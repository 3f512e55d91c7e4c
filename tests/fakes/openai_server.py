"""A scriptable, OpenAI-compatible HTTP server for tests (stdlib + asyncio only).

It runs inside the test's event loop on 127.0.0.1 with an OS-assigned port, on the shared
HTTP/1.1 core of ``http_core`` (keep-alive, Content-Length or chunked request bodies), which
is enough for the real ``openai.AsyncOpenAI`` client::

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
import inspect
import json
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http_core import Connection, LocalServer, Request, reason


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
        message = f"Fake OpenAI error {status} ({reason(status)})"
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


class FakeOpenAI(LocalServer):
    """A local OpenAI-compatible server whose ``chat.completions`` answers are scripted.

    From ``LocalServer``: ``start``/``stop`` (which cancels every handler, even one sleeping
    in a delay), ``async with``, ``port``, ``errors`` (internal server errors: a bug in the
    fake or a default) and ``connection_count`` (TCP connections; keep-alive reuses one).
    """

    name = "FakeOpenAI"

    def __init__(self, api_key: str = "sk-test-key", model: str = "test-model") -> None:
        super().__init__()
        self.api_key = api_key
        self.model = model
        self.requests: list[dict[str, Any]] = []  # parsed chat.completions bodies, in order
        self.request_headers: list[dict[str, str]] = []  # their (lower-cased) headers
        self.request_times: list[float] = []  # time.monotonic() when each body was received
        self._queue: deque[Reply] = deque()
        self._default: Reply | ReplyFactory = Reply(status=500, error_message="no scripted reply")
        self._completion_counter = 0
        self._arrived = asyncio.Event()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` — pass as ``AsyncOpenAI(base_url=...)``."""
        return f"{self.origin}/v1"

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

    async def send_error(self, conn: Connection, status: int, message: str) -> None:
        await conn.send_json(status, error_body(status, message), keep_alive=False)

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {self.api_key}"

    async def handle(self, conn: Connection, request: Request) -> bool:
        keep_alive, method = request.keep_alive, request.method
        path = request.path.rstrip("/").removeprefix("/v1") or "/"  # base_url ends in /v1
        known = path in ("/chat/completions", "/models") or path.startswith("/models/")
        if not known:
            message = f"Invalid URL ({method} {request.target})"
            await conn.send_json(
                404, error_body(404, message, code="unknown_url"), keep_alive=keep_alive
            )
            return True
        expected = "POST" if path == "/chat/completions" else "GET"
        if method != expected:
            message = f"Method {method} not allowed for {request.target}"
            await conn.send_json(405, error_body(405, message), keep_alive=keep_alive)
            return True
        if not self._authorized(request):
            given = request.headers.get("authorization", "")
            message = f"Incorrect API key provided: {given.removeprefix('Bearer ')!r}."
            await conn.send_json(401, error_body(401, message), keep_alive=keep_alive)
            return True
        if path == "/models":
            await conn.send_json(
                200, {"object": "list", "data": [self._model_obj()]}, keep_alive=keep_alive
            )
            return True
        if path.startswith("/models/"):
            model_id = path.removeprefix("/models/")
            if model_id == self.model:
                await conn.send_json(200, self._model_obj(), keep_alive=keep_alive)
            else:
                message = f"The model '{model_id}' does not exist"
                await conn.send_json(
                    404, error_body(404, message, param="model"), keep_alive=keep_alive
                )
            return True
        return await self._chat_completion(conn, request, keep_alive)

    def _model_obj(self) -> dict[str, Any]:
        return {"id": self.model, "object": "model", "created": 1700000000, "owned_by": "fake"}

    async def _chat_completion(self, conn: Connection, request: Request, keep_alive: bool) -> bool:
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            message = f"We could not parse the JSON body of your request: {exc}"
            await conn.send_json(400, error_body(400, message), keep_alive=keep_alive)
            return True
        if not isinstance(body, dict):
            message = "The request body must be a JSON object"
            await conn.send_json(400, error_body(400, message), keep_alive=keep_alive)
            return True
        self.requests.append(body)
        self.request_headers.append(dict(request.headers))
        self.request_times.append(time.monotonic())
        self._arrived.set()
        if body.get("stream"):
            message = "FakeOpenAI does not support stream=true; request a non-streaming completion."
            await conn.send_json(
                400, error_body(400, message, param="stream"), keep_alive=keep_alive
            )
            return True

        reply = await self._next_reply(body)
        if reply.delay > 0 and not await conn.wait_unless_gone(reply.delay):
            return False  # the client gave up (e.g. its timeout); nobody to answer
        if reply.drop_connection:
            return False  # the handler closes the socket without a response
        if reply.status != 200:
            payload = error_body(reply.status, reply.error_message)
            await conn.send_json(
                reply.status, payload, keep_alive=keep_alive, extra_headers=reply.headers
            )
            return True
        await conn.send_json(
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
