"""Tests for the scriptable OpenAI fake, driven by the real ``openai.AsyncOpenAI`` client."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from .openai_server import FakeOpenAI, Reply

SCHEMA_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "digest",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"summary": {"type": "string"}, "sources": {"type": "array"}},
            "required": ["summary", "sources"],
            "additionalProperties": False,
        },
    },
}

MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You write digests."},
    {"role": "user", "content": "Summarise [1] and [3]."},
]


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Contexts passed to the loop's exception handler during the test (must stay empty)."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    yield seen
    loop.set_exception_handler(previous)


@pytest.fixture
async def fake(loop_errors: list[dict[str, Any]]) -> AsyncIterator[FakeOpenAI]:
    """A started fake, stopped after the test; fails if the server misbehaved meanwhile."""
    async with FakeOpenAI() as server:
        yield server
    await asyncio.sleep(0)  # let done-callbacks of the cancelled handlers run
    assert server.errors == []
    assert loop_errors == []


def client_for(
    fake: FakeOpenAI, *, timeout: float = 5.0, max_retries: int = 0, api_key: str | None = None
) -> openai.AsyncOpenAI:
    """The real client pointed at the fake."""
    return openai.AsyncOpenAI(
        base_url=fake.base_url,
        api_key=api_key or fake.api_key,
        timeout=timeout,
        max_retries=max_retries,
    )


async def ask(client: openai.AsyncOpenAI, **extra: Any) -> Any:
    """One non-streaming chat completion."""
    return await client.chat.completions.create(model="test-model", messages=MESSAGES, **extra)


async def test_scripted_json_answer_and_recorded_request(fake: FakeOpenAI) -> None:
    answer = json.dumps({"summary": "Two things happened.", "sources": [1, 3]})
    fake.script(Reply(content=answer, usage=(120, 30)))
    async with client_for(fake) as client:
        resp = await ask(client, response_format=SCHEMA_FORMAT, temperature=0.2)

    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-")
    assert resp.model == "test-model"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.choices[0].message.role == "assistant"
    assert json.loads(resp.choices[0].message.content or "") == {
        "summary": "Two things happened.",
        "sources": [1, 3],
    }
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (120, 30)
    assert resp.usage.total_tokens == 150

    [body] = fake.requests
    assert body["model"] == "test-model"
    assert body["messages"] == MESSAGES
    assert body["response_format"] == SCHEMA_FORMAT
    assert body["temperature"] == 0.2
    assert not body.get("stream")  # the client omits `stream` for non-streaming calls
    assert fake.request_headers[0]["authorization"] == f"Bearer {fake.api_key}"
    assert len(fake.request_times) == 1
    assert fake.pending == 0


async def test_estimated_usage(fake: FakeOpenAI) -> None:
    fake.script(Reply(content="x" * 40))
    async with client_for(fake) as client:
        resp = await ask(client)
    chars = sum(len(m["content"]) for m in MESSAGES) + len(MESSAGES) - 1  # joined by newlines
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == math.ceil(chars / 4)
    assert resp.usage.completion_tokens == 10
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + 10


async def test_rate_limit_with_retry_after(fake: FakeOpenAI) -> None:
    fake.script(Reply(status=429, error_message="Slow down.", headers={"retry-after": "1"}))
    async with client_for(fake) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await ask(client)
    exc = caught.value
    assert exc.status_code == 429
    assert exc.response.headers["retry-after"] == "1"
    assert exc.code == "rate_limit_exceeded"
    assert "Slow down." in exc.message


async def test_client_retries_honour_retry_after_ms(fake: FakeOpenAI) -> None:
    fake.script(Reply(status=429, headers={"retry-after-ms": "200"}), Reply(content="ok"))
    async with client_for(fake, max_retries=1) as client:
        resp = await ask(client)
    assert resp.choices[0].message.content == "ok"
    assert len(fake.requests) == 2
    assert fake.request_times[1] - fake.request_times[0] >= 0.18


async def test_server_error_and_bad_request(fake: FakeOpenAI) -> None:
    fake.script(Reply(status=500, error_message="boom"), Reply(status=400, error_message="bad"))
    async with client_for(fake) as client:
        with pytest.raises(openai.InternalServerError, match="boom"):
            await ask(client)
        with pytest.raises(openai.BadRequestError, match="bad") as caught:
            await ask(client)
    assert caught.value.type == "invalid_request_error"


async def test_initial_default_is_500(fake: FakeOpenAI) -> None:
    async with client_for(fake) as client:
        with pytest.raises(openai.InternalServerError, match="no scripted reply"):
            await ask(client)


async def test_delay_past_timeout_then_keeps_serving(fake: FakeOpenAI) -> None:
    fake.script(Reply(content="late", delay=5.0), Reply(content="on time"))
    async with client_for(fake, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            await ask(client)
        assert time.monotonic() - started < 2.0
        resp = await ask(client)
    assert resp.choices[0].message.content == "on time"
    assert fake.errors == []


async def test_delay_does_not_block_other_requests(fake: FakeOpenAI) -> None:
    fake.script(Reply(content="slow", delay=0.5), Reply(content="fast"))
    async with client_for(fake) as client:
        slow = asyncio.create_task(ask(client))
        await fake.wait_for_requests(1)
        fast = await ask(client)
        assert not slow.done()
        assert fast.choices[0].message.content == "fast"
        assert (await slow).choices[0].message.content == "slow"


async def test_drop_connection(fake: FakeOpenAI) -> None:
    fake.script(Reply(drop_connection=True), Reply(content="after"))
    async with client_for(fake) as client:
        with pytest.raises(openai.APIConnectionError) as caught:
            await ask(client)
        assert not isinstance(caught.value, openai.APITimeoutError)
        resp = await ask(client)
    assert resp.choices[0].message.content == "after"


async def test_wrong_key(fake: FakeOpenAI) -> None:
    fake.script(Reply(content="unused"))
    async with client_for(fake, api_key="sk-wrong") as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            await ask(client)
        with pytest.raises(openai.AuthenticationError):
            await client.models.list()
    assert caught.value.code == "invalid_api_key"
    assert fake.requests == []
    assert fake.pending == 1  # a rejected request does not consume the script


async def test_callable_default_sees_request(fake: FakeOpenAI) -> None:
    def cite(request: dict[str, Any]) -> Reply:
        prompt = " ".join(m["content"] for m in request["messages"])
        numbers = [int(n) for n in re.findall(r"\[(\d+)\]", prompt)]
        return Reply(content=json.dumps({"summary": "ok", "sources": numbers}))

    fake.default(cite)
    async with client_for(fake) as client:
        first = await ask(client)
        second = await ask(client)
    assert json.loads(first.choices[0].message.content or "")["sources"] == [1, 3]
    assert second.choices[0].message.content == first.choices[0].message.content
    assert len(fake.requests) == 2


async def test_stream_is_rejected(fake: FakeOpenAI) -> None:
    fake.script(Reply(content="unused"))
    async with client_for(fake) as client:
        with pytest.raises(openai.BadRequestError, match="stream"):
            await ask(client, stream=True)
    assert fake.requests[0]["stream"] is True
    assert fake.pending == 1


async def test_models_and_keep_alive(fake: FakeOpenAI) -> None:
    fake.default(Reply(content="hi"))
    async with client_for(fake) as client:
        models = await client.models.list()
        await ask(client)
        await ask(client)
    assert [m.id for m in models.data] == ["test-model"]
    assert fake.connection_count == 1


async def test_stop_cancels_sleeping_handler(loop_errors: list[dict[str, Any]]) -> None:
    server = FakeOpenAI()
    await server.start()
    server.script(Reply(content="never", delay=30.0))
    async with client_for(server, timeout=10.0) as client:
        pending = asyncio.create_task(ask(client))
        await server.wait_for_requests(1)
        started = time.monotonic()
        await asyncio.wait_for(server.stop(), 3.0)
        assert time.monotonic() - started < 1.0
        with pytest.raises(openai.APIConnectionError) as caught:
            await asyncio.wait_for(pending, 3.0)
    assert not isinstance(caught.value, openai.APITimeoutError)
    await asyncio.sleep(0)
    assert loop_errors == []
