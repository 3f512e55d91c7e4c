"""A local stand-in for the Telegraph API (api.telegra.ph), for tests of publishing briefs.

It speaks the real protocol (https://telegra.ph/api) on the shared HTTP/1.1 core of
``http_core``: ``/<method>`` or ``/<method>/<path>``, parameters in the query string, a
form-encoded or a JSON body; every answer is HTTP 200 with ``{"ok": true, "result": …}``
or ``{"ok": false, "error": "…"}``, as Telegraph's are::

    async with FakeTelegraph() as telegraph:
        settings = load_settings(telegraph="on", telegraph_url=telegraph.origin, ...)
        ...
        page = telegraph.pages[0]  # title, author_name, content (the nodes), path

Methods: createAccount, getAccountInfo, revokeAccessToken, createPage, getPage. What it
checks, as Telegraph does: the access token (``ACCESS_TOKEN_INVALID``, also for a token
revoked by revokeAccessToken), the short name, title and author lengths, the content (a
JSON array of nodes, ``CONTENT_FORMAT_INVALID``), and its size: the content parameter at
most 64 KB (``CONTENT_TOO_BIG``). Deliberately stricter: a tag or attribute Telegraph does
not render is refused (``TAG_NOT_ALLOWED``, ``ATTR_NOT_ALLOWED``) instead of dropped, so
a test sees it. Faults are scripted: ``flood(seconds)`` answers the next call of a method
with ``FLOOD_WAIT_<seconds>``, ``fail_http(status)`` with a bare HTTP error, ``set_down``
with 502 to everything.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.http_core import Connection, LocalServer, Request

CONTENT_LIMIT = 64 * 1024
ALLOWED_TAGS = frozenset({
    "a", "aside", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h3", "h4",
    "hr", "i", "iframe", "img", "li", "ol", "p", "pre", "s", "strong", "u", "ul", "video",
})  # fmt: skip
"""What Telegraph renders (https://telegra.ph/api#NodeElement)."""
ALLOWED_ATTRS = frozenset({"href", "src"})


class TelegraphAPIError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class Account:
    short_name: str
    author_name: str
    author_url: str
    access_token: str
    pages: list[str] = field(default_factory=list)


@dataclass
class StoredPage:
    path: str
    title: str
    author_name: str
    content: list[Any]
    content_bytes: int
    owner: str

    def as_result(self, with_content: bool) -> dict[str, Any]:
        result: dict[str, Any] = {
            "path": self.path,
            "url": f"https://telegra.ph/{self.path}",
            "title": self.title,
            "description": "",
            "author_name": self.author_name,
            "views": 0,
            "can_edit": True,
        }
        if with_content:
            result["content"] = self.content
        return result

    def hrefs(self) -> list[str]:
        found: list[str] = []

        def walk(nodes: list[Any]) -> None:
            for node in nodes:
                if isinstance(node, dict):
                    href = (node.get("attrs") or {}).get("href")
                    if href is not None:
                        found.append(href)
                    walk(node.get("children") or [])

        walk(self.content)
        return found

    def text(self) -> str:
        parts: list[str] = []

        def walk(nodes: list[Any]) -> None:
            for node in nodes:
                if isinstance(node, str):
                    parts.append(node)
                else:
                    if node.get("tag") in ("p", "li", "h3", "h4", "br"):
                        parts.append("\n")
                    walk(node.get("children") or [])

        walk(self.content)
        return "".join(parts)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    answer: dict[str, Any] | None = None
    target: str = ""
    """The request's path and query, as sent."""


class FakeTelegraph(LocalServer):
    name = "FakeTelegraph"

    def __init__(self, content_limit: int = CONTENT_LIMIT) -> None:
        super().__init__()
        self.content_limit = content_limit
        self.accounts: dict[str, Account] = {}
        self.revoked: set[str] = set()
        self.pages_by_path: dict[str, StoredPage] = {}
        self.calls: list[Call] = []
        self._floods: dict[str, deque[int]] = {}
        self._http_failures: dict[str, deque[int]] = {}
        self.down = False

    # ----- scripting -------------------------------------------------------------------

    def flood(self, seconds: int, times: int = 1, method: str = "createPage") -> None:
        """The next `times` calls of `method` answer FLOOD_WAIT_<seconds>."""
        self._floods.setdefault(method, deque()).extend([seconds] * times)

    def fail_http(self, status: int, times: int = 1, method: str = "createPage") -> None:
        self._http_failures.setdefault(method, deque()).extend([status] * times)

    def set_down(self, down: bool) -> None:
        self.down = down

    def revoke(self, token: str) -> None:
        """The account's token stops working (as after revokeAccessToken elsewhere)."""
        account = self.accounts.pop(token)
        self.revoked.add(token)
        account.access_token = "revoked"

    @property
    def pages(self) -> list[StoredPage]:
        return list(self.pages_by_path.values())

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # ----- HTTP ----------------------------------------------------------------------

    async def handle(self, conn: Connection, request: Request) -> bool:
        if self.down:
            await conn.send(502, b"<html>502 Bad Gateway</html>", keep_alive=False,
                            content_type="text/html")  # fmt: skip
            return False
        match = re.fullmatch(r"/([A-Za-z]+)(?:/(.*))?", request.path)
        if match is None:
            await conn.send_json(200, {"ok": False, "error": "METHOD_NOT_FOUND"},
                                 keep_alive=request.keep_alive)  # fmt: skip
            return True
        method, path = match[1], match[2]
        try:
            params = self._params(request)
        except (ValueError, UnicodeDecodeError):
            await conn.send_json(200, {"ok": False, "error": "BAD_REQUEST"},
                                 keep_alive=request.keep_alive)  # fmt: skip
            return True
        if path:
            params.setdefault("path", path)
        call = Call(method, params, time.monotonic(), target=request.target)
        self.calls.append(call)
        failures = self._http_failures.get(method)
        if failures:
            status = failures.popleft()
            await conn.send(status, b"error", keep_alive=False, content_type="text/plain")
            return False
        floods = self._floods.get(method)
        if floods:
            answer: dict[str, Any] = {"ok": False, "error": f"FLOOD_WAIT_{floods.popleft()}"}
        else:
            try:
                answer = {"ok": True, "result": self._call(method, params)}
            except TelegraphAPIError as exc:
                answer = {"ok": False, "error": exc.error}
        call.answer = answer
        await conn.send_json(200, answer, keep_alive=request.keep_alive, ensure_ascii=False)
        return True

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(parse_qsl(urlsplit(request.target).query))
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.body:
            if ctype == "application/json":
                data = json.loads(request.body)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                params.update(data)
            else:
                params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        return params

    # ----- methods ---------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        handlers = {
            "createAccount": self._create_account,
            "getAccountInfo": self._get_account_info,
            "revokeAccessToken": self._revoke_access_token,
            "createPage": self._create_page,
            "getPage": self._get_page,
        }
        handler = handlers.get(method)
        if handler is None:
            raise TelegraphAPIError("METHOD_NOT_FOUND")
        return handler(params)

    def _account(self, params: dict[str, Any]) -> Account:
        token = str(params.get("access_token") or "")
        account = self.accounts.get(token)
        if account is None:
            raise TelegraphAPIError("ACCESS_TOKEN_INVALID")
        return account

    def _create_account(self, params: dict[str, Any]) -> dict[str, Any]:
        short_name = str(params.get("short_name") or "")
        author_name = str(params.get("author_name") or "")
        if not short_name:
            raise TelegraphAPIError("SHORT_NAME_REQUIRED")
        if len(short_name) > 32:
            raise TelegraphAPIError("SHORT_NAME_TOO_LONG")
        if len(author_name) > 128:
            raise TelegraphAPIError("AUTHOR_NAME_TOO_LONG")
        token = secrets.token_hex(30)
        account = Account(short_name, author_name, str(params.get("author_url") or ""), token)
        self.accounts[token] = account
        return {
            "short_name": short_name,
            "author_name": author_name,
            "author_url": account.author_url,
            "access_token": token,
            "auth_url": f"https://edit.telegra.ph/auth/{secrets.token_hex(16)}",
        }

    def _get_account_info(self, params: dict[str, Any]) -> dict[str, Any]:
        account = self._account(params)
        return {
            "short_name": account.short_name,
            "author_name": account.author_name,
            "author_url": account.author_url,
            "page_count": len(account.pages),
        }

    def _revoke_access_token(self, params: dict[str, Any]) -> dict[str, Any]:
        account = self._account(params)
        old = account.access_token
        del self.accounts[old]
        self.revoked.add(old)
        account.access_token = secrets.token_hex(30)
        self.accounts[account.access_token] = account
        return {"access_token": account.access_token, "auth_url": "https://edit.telegra.ph/auth/x"}

    def _create_page(self, params: dict[str, Any]) -> dict[str, Any]:
        account = self._account(params)
        title = str(params.get("title") or "")
        if not title:
            raise TelegraphAPIError("TITLE_REQUIRED")
        if len(title) > 256:
            raise TelegraphAPIError("TITLE_TOO_LONG")
        author_name = str(params.get("author_name") or account.author_name)
        if len(author_name) > 128:
            raise TelegraphAPIError("AUTHOR_NAME_TOO_LONG")
        raw = params.get("content")
        if raw is None or raw == "":
            raise TelegraphAPIError("CONTENT_REQUIRED")
        encoded = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
        size = len(encoded.encode("utf-8"))
        if size > self.content_limit:
            raise TelegraphAPIError("CONTENT_TOO_BIG")
        try:
            content = json.loads(encoded)
        except ValueError:
            raise TelegraphAPIError("CONTENT_FORMAT_INVALID") from None
        if not isinstance(content, list) or not content:
            raise TelegraphAPIError("CONTENT_FORMAT_INVALID")
        _check_nodes(content)
        path = self._path_for(title)
        page = StoredPage(path, title, author_name, content, size, account.short_name)
        self.pages_by_path[path] = page
        account.pages.append(path)
        return page.as_result(str(params.get("return_content")).lower() == "true")

    def _get_page(self, params: dict[str, Any]) -> dict[str, Any]:
        page = self.pages_by_path.get(str(params.get("path") or ""))
        if page is None:
            raise TelegraphAPIError("PAGE_NOT_FOUND")
        return page.as_result(str(params.get("return_content")).lower() == "true")

    def _path_for(self, title: str) -> str:
        """As Telegraph makes them: the title's words, the month and day, a number when
        taken (`Belarus-brief-12-05`, `Belarus-brief-12-05-2`)."""
        slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:100] or "Page"
        base = f"{slug}-{time.strftime('%m-%d')}"
        path, number = base, 1
        while path in self.pages_by_path:
            number += 1
            path = f"{base}-{number}"
        return path


def _check_nodes(nodes: list[Any], depth: int = 0) -> None:
    if depth > 50:
        raise TelegraphAPIError("CONTENT_FORMAT_INVALID")
    for node in nodes:
        if isinstance(node, str):
            continue
        if not isinstance(node, dict) or not isinstance(node.get("tag"), str):
            raise TelegraphAPIError("CONTENT_FORMAT_INVALID")
        if node["tag"] not in ALLOWED_TAGS:
            raise TelegraphAPIError("TAG_NOT_ALLOWED")
        attrs = node.get("attrs") or {}
        if not isinstance(attrs, dict) or not set(attrs) <= ALLOWED_ATTRS:
            raise TelegraphAPIError("ATTR_NOT_ALLOWED")
        children = node.get("children") or []
        if not isinstance(children, list):
            raise TelegraphAPIError("CONTENT_FORMAT_INVALID")
        _check_nodes(children, depth + 1)
