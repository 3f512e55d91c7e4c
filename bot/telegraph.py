"""Publishing long briefs on Telegraph (telegra.ph), Telegram's page for long reads.

The API (https://telegra.ph/api) is one POST per method, form-encoded, answering
`{"ok": true, "result": …}` or `{"ok": false, "error": "CONTENT_TOO_BIG"}`. wirebrief uses
two methods: `createAccount` once (its `access_token` is kept in SQLite, never logged, and
redacted from every log line) and `createPage` for each brief. `FLOOD_WAIT_<n>` is waited
out and retried once when n is short; a token Telegraph refuses (`ACCESS_TOKEN_INVALID`)
gets a new account. Everything else is a `TelegraphError`, and the caller sends the brief
as messages instead.

The token goes in the request body, never in the URL, so no HTTP library's own log line of
a URL can hold it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from bot.http import make_http_client
from bot.logs import register_secret
from bot.retry import RetryAfterHint, RetryPolicy, retrying
from bot.store.telegraph import TelegraphAccount

log = logging.getLogger(__name__)

PAGE_ORIGIN = "https://telegra.ph"
"""Where pages are read, whatever API address (TELEGRAPH_URL) they were made through."""
SHORT_NAME = "wirebrief"
MAX_CONTENT_BYTES = 64 * 1024
"""Telegraph's limit on a page's content (its JSON)."""
CONTENT_BUDGET = MAX_CONTENT_BYTES - 1024
"""What a brief may use of it: a margin for how Telegraph counts."""
MAX_TITLE = 256
SHORT_FLOOD_WAIT = 10.0
"""A FLOOD_WAIT of at most this many seconds is waited out, once; a longer one is not
worth holding a chat's reply for: the brief goes out as messages."""
POLICY = RetryPolicy(
    attempts=2, initial_wait=1.0, max_wait=5.0, max_total=30.0, max_retry_after=SHORT_FLOOD_WAIT
)
FLOOD_RE = re.compile(r"^FLOOD_WAIT_(\d+)$")
PATH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,255}$")


class TelegraphError(Exception):
    """Telegraph refused a request, or could not be reached; `code` is its error or ours.
    Not a user's mistake: the shell logs it and sends the brief as messages."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or f"Telegraph answered {code}")
        self.code = code


class TelegraphFlood(TelegraphError, RetryAfterHint):
    """FLOOD_WAIT_<n>: Telegraph asks for a pause of n seconds."""

    def __init__(self, code: str, seconds: float) -> None:
        super().__init__(code, f"Telegraph asks to wait {seconds:.0f} s ({code})")
        self.retry_after = seconds


class TelegraphUnavailable(TelegraphError):
    """No answer, a 5xx, or an answer that is not Telegraph's JSON."""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, TelegraphFlood):
        return exc.retry_after is not None and exc.retry_after <= SHORT_FLOOD_WAIT
    return isinstance(exc, TelegraphUnavailable)


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    url: str
    title: str


class TelegraphClient:
    """The two methods wirebrief needs, over the project's one HTTP client and retry policy."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, policy: RetryPolicy = POLICY
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.policy = policy

    async def create_account(self, short_name: str, author_name: str) -> str:
        """A new account; returns its access token."""
        result = await self._call(
            "createAccount", {"short_name": short_name, "author_name": author_name}
        )
        token = result.get("access_token") if isinstance(result, dict) else None
        if not isinstance(token, str) or not token:
            raise TelegraphUnavailable("BAD_ANSWER", "Telegraph's account has no access token")
        register_secret(token)
        return token

    async def create_page(
        self, access_token: str, title: str, content: Sequence[Any], author_name: str
    ) -> Page:
        result = await self._call(
            "createPage",
            {
                "access_token": access_token,
                "title": title[:MAX_TITLE],
                "author_name": author_name,
                "content": json.dumps(list(content), ensure_ascii=False, separators=(",", ":")),
                "return_content": "false",
            },
        )
        path = result.get("path") if isinstance(result, dict) else None
        if not isinstance(path, str) or not PATH_RE.match(path):
            raise TelegraphUnavailable("BAD_ANSWER", "Telegraph's page has no usable path")
        # The link is made here from the path, not taken from the answer: the chat gets a
        # telegra.ph link and nothing else.
        return Page(path, f"{PAGE_ORIGIN}/{quote(path)}", str(result.get("title") or title))

    async def _call(self, method: str, params: dict[str, str]) -> Any:
        async for attempt in retrying(self.policy, _transient, f"Telegraph {method}"):
            with attempt:
                return await self._post(method, params)
        raise AssertionError("the retry loop ended without an outcome")

    async def _post(self, method: str, params: dict[str, str]) -> Any:
        try:
            response = await self.http.post(f"{self.base_url}/{method}", data=params)
        except httpx.HTTPError as exc:
            raise TelegraphUnavailable(
                "UNREACHABLE", f"Telegraph cannot be reached ({type(exc).__name__})"
            ) from None
        if response.status_code >= 500:
            raise TelegraphUnavailable(
                f"HTTP_{response.status_code}", f"Telegraph answered HTTP {response.status_code}"
            )
        try:
            body = response.json()
        except ValueError:
            raise TelegraphUnavailable("BAD_ANSWER", "Telegraph's answer is not JSON") from None
        if not isinstance(body, dict):
            raise TelegraphUnavailable("BAD_ANSWER", "Telegraph's answer is not an object")
        if body.get("ok") is True:
            return body.get("result")
        error = str(body.get("error") or f"HTTP_{response.status_code}")[:64]
        if flood := FLOOD_RE.match(error):
            raise TelegraphFlood(error, float(flood[1]))
        raise TelegraphError(error)


class AccountStore(Protocol):
    async def telegraph_account(self) -> TelegraphAccount | None: ...

    async def save_telegraph_account(self, account: TelegraphAccount) -> None: ...


class TelegraphPublisher:
    """Publishes a page with the stored account, making one when there is none or when
    Telegraph no longer accepts its token."""

    def __init__(
        self,
        store: AccountStore,
        base_url: str,
        author_name: str,
        clock: Callable[[], datetime],
        http_factory: Callable[[], httpx.AsyncClient] = make_http_client,
        policy: RetryPolicy = POLICY,
    ) -> None:
        self.store = store
        self.base_url = base_url
        self.author_name = author_name
        self.clock = clock
        self.http_factory = http_factory
        self.policy = policy
        self._account_lock = asyncio.Lock()
        """Two chats' first briefs make one account, not two."""

    async def publish(self, title: str, content: Sequence[Any]) -> Page:
        async with self.http_factory() as http:
            client = TelegraphClient(http, self.base_url, self.policy)
            async with self._account_lock:
                account = await self.store.telegraph_account()
                if account is None:
                    token = await self._new_account(client)
                else:
                    token = account.access_token
                    register_secret(token)
            try:
                return await client.create_page(token, title, content, self.author_name)
            except TelegraphError as exc:
                if exc.code != "ACCESS_TOKEN_INVALID":
                    raise
                log.warning("Telegraph refused the stored account; making a new one")
                token = await self._new_account(client)
                return await client.create_page(token, title, content, self.author_name)

    async def _new_account(self, client: TelegraphClient) -> str:
        token = await client.create_account(SHORT_NAME, self.author_name)
        await self.store.save_telegraph_account(
            TelegraphAccount(SHORT_NAME, self.author_name, token, self.clock())
        )
        log.info("created a Telegraph account for briefs (%s)", SHORT_NAME)
        return token
