"""A local fake Telegram Bot API server for end-to-end tests of a real PTB ``Application``.

Why: unit tests with mocked ``Bot`` objects cannot prove that what we send would be accepted
by Telegram (HTML that parses, messages under the length limit) nor that the polling loop,
error mapping and retries of python-telegram-bot behave as we expect. This module speaks the
real HTTP protocol PTB uses, so the real ``HTTPXRequest`` stack is exercised end to end.

Stdlib only (asyncio streams and the shared HTTP/1.1 core of ``http_core``, with keep-alive);
it runs inside the test's event loop on 127.0.0.1 with an OS-assigned port::

    from tests.fakes.botapi import FakeBotAPI

    async with FakeBotAPI() as api:
        app = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
        ...

Deliberate choices (documented here because tests depend on them):

* ``set_down(True)`` answers every request with HTTP 502 and a JSON error body (PTB raises
  ``telegram.error.NetworkError("Bad Gateway")``); held ``getUpdates`` calls are released with
  the same 502. Connections are not closed.
* HTML is validated at least as strictly as Telegram: a bare ``&`` that does not start
  ``&lt; &gt; &amp; &quot; &#NN; &#xHH;`` is rejected (real Telegram would keep it literally).
* ``parse_mode`` Markdown/MarkdownV2 is accepted but not parsed: the text is stored as sent
  and the length limit is checked on the raw text (stricter than Telegram).
* The 4096 limit counts Unicode code points of the visible text (as TDLib does); entity
  offsets/lengths in returned messages are in UTF-16 code units (as the Bot API specifies).
* Like Telegram, an update stays queued until a ``getUpdates`` with a higher ``offset``
  confirms it; a newer ``getUpdates`` terminates an older held one with 409 Conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.http_core import Connection, LocalServer, Request, reason

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "BotAPIError",
    "FakeBotAPI",
    "HtmlParseError",
    "RecordedRequest",
    "parse_html",
]

MAX_MESSAGE_LENGTH = 4096
"""Telegram's limit for message text, counted after entity parsing."""

_DEFAULT_ALLOWED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
"""Update types Telegram does NOT deliver unless explicitly listed in allowed_updates."""

# Params that Telegram types as String: never JSON-decode them (text "123" must stay a str).
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "callback_query_id",
        "inline_message_id",
        "action",
        "language_code",
        "secret_token",
        "name",
        "description",
        "short_description",
        "title",
        "query",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "emoji",
        "question",
        "explanation",
        "custom_title",
        "sticker",
        "photo",
        "document",
        "file_id",
    }
)


class BotAPIError(Exception):
    """Raised by method handlers to produce a Telegram-style error response.

    Custom handlers registered with :meth:`FakeBotAPI.on` may raise it too.
    """

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(detail: str) -> BotAPIError:
    return BotAPIError(400, f"Bad Request: {detail}")


@dataclass
class RecordedRequest:
    """One call the bot made, kept so tests can assert on exactly what was sent."""

    method: str
    """Canonical Bot API method name (``sendMessage``), or the path segment if unknown."""
    params: dict[str, Any]
    """Parsed parameters; values JSON-decoded where they are JSON (known string fields excepted)."""
    time: float
    """``time.monotonic()`` at arrival: use it to measure back-off / retry_after adherence."""
    http_method: str = "POST"
    status: int | None = None
    """HTTP status answered; ``None`` while a long poll is held or if the client went away."""
    response: dict[str, Any] | None = None
    """The JSON body sent back (``{"ok": ..., "result"/"description": ...}``)."""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return None if self.response is None else self.response.get("result")

    @property
    def description(self) -> str | None:
        return None if self.response is None else self.response.get("description")

    def __repr__(self) -> str:
        status = "pending" if self.status is None else str(self.status)
        extra = f" {self.description!r}" if self.description else ""
        return f"<{self.method} {status}{extra} params={self.params!r}>"


# --------------------------------------------------------------------------------------------
# HTML parsing (a rough re-implementation of TDLib's parse_html, plus a stricter '&' rule)
# --------------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """Text is not valid Telegram HTML; message matches Telegram's wording where known."""


_ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "span",
        "blockquote",
        "tg-emoji",
    }
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot);|#([0-9]{1,8});|#[xX]([0-9a-fA-F]{1,8});)")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME_RE = re.compile(r"[A-Za-z0-9-]*")
_ATTR_NAME_RE = re.compile(r"[A-Za-z0-9_:-]+")
_UNQUOTED_RE = re.compile(r"[^\s>]*")


def _u16len(s: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(s.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_html_entity(text: str, i: int) -> tuple[str, int]:
    m = _HTML_ENTITY_RE.match(text, i)
    if m is not None:
        if m.group(1):
            return _NAMED[m.group(1)], m.end()
        code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), m.end()
    raise HtmlParseError(
        f'Unescaped "&" at byte offset {_byte_offset(text, i)}; escape it as &amp; '
        "(FakeBotAPI is stricter than Telegram here)"
    )


def _decode_attr(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "&":
            ch, i = _decode_html_entity(raw, i)
            out.append(ch)
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def _make_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": _TAG_ENTITY[tag], "offset": offset, "length": length}
    if tag == "a":
        entity["url"] = attrs.get("href", "")
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"][len("language-") :]
    return entity


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into (visible text, MessageEntity dicts).

    Raises HtmlParseError for unsupported/unbalanced tags and bad character references,
    so tests catch replies that Telegram would refuse with "can't parse entities".
    """
    out: list[str] = []
    pos16 = 0
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            ch, i = _decode_html_entity(text, i)
            out.append(ch)
            pos16 += _u16len(ch)
            continue
        if c != "<":
            out.append(c)
            pos16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        start = i
        if text.startswith("</", i):
            close = text.find(">", i)
            if close < 0:
                raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(text, start)}")
            name = text[i + 2 : close].strip().lower()
            i = close + 1
            if not stack:
                raise HtmlParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(text, start)}"
                )
            top, attrs, begin = stack.pop()
            if name != top:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, start)}, "
                    f'expected "</{top}>", found "</{name}>"'
                )
            if pos16 > begin:  # Telegram drops empty entities
                entities.append(_make_entity(top, attrs, begin, pos16 - begin))
            continue
        m = _TAG_NAME_RE.match(text, i + 1)
        assert m is not None  # the pattern matches the empty string
        name = m.group(0).lower()
        if name not in _ALLOWED_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, start)}'
            )
        j = m.end()
        attrs = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, start)}"
                )
            if text[j] == ">":
                j += 1
                break
            am = _ATTR_NAME_RE.match(text, j)
            if am is None:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset '
                    f"{_byte_offset(text, j)}"
                )
            attr_name = am.group(0).lower()
            j = am.end()
            while j < n and text[j].isspace():
                j += 1
            value = ""
            if j < n and text[j] == "=":
                j += 1
                while j < n and text[j].isspace():
                    j += 1
                if j >= n:
                    raise HtmlParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, start)}"
                    )
                if text[j] in "\"'":
                    end = text.find(text[j], j + 1)
                    if end < 0:
                        raise HtmlParseError(
                            f"Unclosed start tag at byte offset {_byte_offset(text, start)}"
                        )
                    raw = text[j + 1 : end]
                    j = end + 1
                else:
                    um = _UNQUOTED_RE.match(text, j)
                    assert um is not None
                    raw = um.group(0)
                    j = um.end()
                value = _decode_attr(raw)
            attrs[attr_name] = value
        i = j
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError('Tag "span" must have class "tg-spoiler"')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise HtmlParseError('Tag "tg-emoji" must have attribute "emoji-id"')
        stack.append((name, attrs, pos16))
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    # <pre><code class="language-x">…</code></pre> becomes one pre entity with a language.
    for code in [e for e in entities if e["type"] == "code" and "language" in e]:
        for pre in entities:
            if (
                pre["type"] == "pre"
                and pre["offset"] == code["offset"]
                and pre["length"] == code["length"]
            ):
                pre["language"] = code["language"]
                entities.remove(code)
                break
        else:
            del code["language"]
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


@dataclass
class _Stored:
    message: dict[str, Any]
    by_bot: bool
    deleted: bool = False


@dataclass
class _Waiter:
    """A held getUpdates; ``reason`` says why it was woken (None means: new updates)."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str | None = None


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    remaining: int


_AUTO: Any = object()
_GONE: Any = object()  # dispatch result meaning "client went away, do not answer"

Handler = Callable[[dict[str, Any]], Any]


def _inline_keyboard(markup: Any) -> dict[str, Any] | None:
    """An inline keyboard as Telegram checks it, or None for no (or another kind of) markup.

    Every button needs a text and exactly one action; callback_data is 1-64 bytes.
    """
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an array"
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise _bad_request("BUTTON_TEXT_INVALID")
            actions = [k for k in button if k != "text"]
            if len(actions) != 1:
                raise _bad_request(
                    "can't parse inline keyboard button: exactly one action expected"
                )
            data = button.get("callback_data")
            if "callback_data" in button and not (
                isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= 64
            ):
                raise _bad_request("BUTTON_DATA_INVALID")
    return copy.deepcopy(markup)


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or value is None:
        raise _bad_request(f"{name} is empty" if value is None else f"invalid {name}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad_request(f"invalid {name} specified") from None


class FakeBotAPI(LocalServer):
    """Fake Bot API server; see the module docstring for behaviour and deliberate choices.

    ``start``/``stop`` and ``async with`` come from ``LocalServer``; ``stop`` cancels every
    connection handler, held ``getUpdates`` calls included (their clients get no answer).
    """

    name = "FakeBotAPI"

    def __init__(
        self, token: str = "123456:TEST-TOKEN", bot_username: str = "wirebrief_test_bot"
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Wirebrief Test",
            "username": bot_username,
        }
        self.requests: list[RecordedRequest] = []
        self.sent: list[dict[str, Any]] = []
        self._down = False
        self._changed = asyncio.Event()
        self._waiters: list[_Waiter] = []
        self._pending: deque[dict[str, Any]] = deque()
        self._next_update_id = 100_000
        self._allowed_updates: list[str] | None = None
        self._webhook_url = ""
        self._failures: dict[str, deque[_Failure]] = {}
        self._forbidden_chats: dict[int, str] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._store: dict[tuple[int, int], _Stored] = {}
        self._next_message_id: dict[int, int] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._callback_ids: set[str] = set()
        self._next_callback = 1
        self._custom: dict[str, Handler] = {}
        self._handlers: dict[str, tuple[str, Handler]] = {}
        for name, handler in {
            "getMe": self._get_me,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": lambda p: True,
            "setMyShortDescription": lambda p: True,
            "setMyName": lambda p: True,
            "setChatMenuButton": lambda p: True,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "getChat": self._get_chat,
        }.items():
            self._handlers[name.lower()] = (name, handler)

    # ---------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        """The listening port (0 before ``start()``)."""
        return self._port or 0

    @property
    def base_url(self) -> str:
        """Pass to ``ApplicationBuilder().base_url(...)``; PTB appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Pass to ``ApplicationBuilder().base_file_url(...)``; file downloads answer 404."""
        return f"http://{self.host}:{self.port}/file/bot"

    # ---------------------------------------------------------------- test controls

    def calls(self, method: str) -> list[RecordedRequest]:
        """All recorded calls of ``method`` (case-insensitive, like Telegram), in order."""
        wanted = method.lower()
        return [r for r in self.requests if r.method.lower() == wanted]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - public API; a deadline, not a cancel scope
        predicate: Callable[[RecordedRequest], bool] | None = None,
    ) -> list[RecordedRequest]:
        """Wait until ``count`` calls of ``method`` (matching ``predicate``) were recorded.

        Counts failed calls too (check ``.ok``/``.status``); for non-polling methods the
        side effects (stored messages, ``sent``) are in place when this returns.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wanted = method.lower()
        while True:
            matches = [
                r
                for r in self.requests
                if r.method.lower() == wanted and (predicate is None or predicate(r))
            ]
            if len(matches) >= count:
                return matches
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._timeout_message(method, count, len(matches), timeout))
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _timeout_message(self, method: str, count: int, got: int, timeout: float) -> str:
        lines = [
            f"FakeBotAPI: expected at least {count} {method} call(s)"
            f" within {timeout:g}s, got {got} matching.",
            f"down={self._down} pending_updates={[u['update_id'] for u in self._pending]}"
            f" webhook={self._webhook_url!r}",
            f"Last recorded calls (of {len(self.requests)}):",
        ]
        for rec in self.requests[-25:]:
            params = {k: v for k, v in rec.params.items() if k != "text"}
            if "text" in rec.params:
                params["text"] = str(rec.params["text"])[:60]
            status = "pending" if rec.status is None else rec.status
            desc = f" {rec.description!r}" if rec.description else ""
            lines.append(f"  {rec.method} -> {status}{desc} {params}")
        return "\n".join(lines)

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Script the next ``times`` calls of ``method`` to fail with this error (no side effects).

        E.g. ``fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)``
        or ``fail_next("sendMessage", 403, "Forbidden: bot was kicked from the group chat")``.
        """
        key = self._canonical(method)
        self._failures.setdefault(key.lower(), deque()).append(
            _Failure(status, description, retry_after, times)
        )

    def set_down(self, down: bool) -> None:
        """While down every request gets HTTP 502 (PTB: NetworkError); held polls get it too."""
        self._down = down
        if down:
            self._wake_all("down")

    def forbid_chat(
        self,
        chat_id: int,
        description: str | None = "Forbidden: bot was kicked from the group chat",
    ) -> None:
        """Make every send/edit/action into ``chat_id`` fail with 403 (None lifts it)."""
        if description is None:
            self._forbidden_chats.pop(chat_id, None)
        else:
            self._forbidden_chats[chat_id] = description

    def on(self, method: str, handler: Handler) -> None:
        """Add or override a method: ``handler(params) -> result``; may raise BotAPIError."""
        self._custom[method.lower()] = handler
        if method.lower() not in self._handlers:
            self._handlers[method.lower()] = (method, handler)

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Bot-authored, not deleted messages in ``chat_id``, in send order, text as edited."""
        return [
            copy.deepcopy(s.message)
            for (cid, _), s in self._store.items()
            if cid == chat_id and s.by_bot and not s.deleted
        ]

    def texts_to(self, chat_id: int) -> list[str]:
        """Visible texts (HTML already parsed away) of :meth:`messages_to`."""
        return [m.get("text", m.get("caption", "")) for m in self.messages_to(chat_id)]

    def delivered_update_ids(self) -> list[int]:
        """update_ids in the order they were returned by successful getUpdates answers."""
        return [u["update_id"] for r in self.calls("getUpdates") if r.ok for u in (r.result or [])]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by an offset (may already have been delivered once)."""
        return list(self._pending)

    # ---------------------------------------------------------------- simulate Telegram side

    def enqueue(self, update: dict[str, Any]) -> None:
        """Queue a raw Update dict (update_id assigned if missing) and wake held polls."""
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        cq = update.get("callback_query")
        if isinstance(cq, dict) and "id" in cq:
            self._callback_ids.add(str(cq["id"]))
        self._pending.append(update)
        self._wake_all(None)

    def user_message(
        self,
        chat_id: int,
        text: str,
        user_id: int = 1001,
        chat_type: str | None = None,
        username: str | None = None,
        first_name: str = "Test",
        message_id: int | None = None,
        entities: Any = _AUTO,
        reply_to_message_id: int | None = None,
        date: int | None = None,
    ) -> dict[str, Any]:
        """Enqueue a Message from a user; "/cmd@bot args" gets a bot_command entity like Telegram.

        ``chat_type`` defaults from the id: >0 private, -100… supergroup, else group.
        """
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        ctype = chat_type or self._infer_type(chat_id)
        if ctype == "private":
            chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
            if username:
                chat["username"] = username
        else:
            existing = self._chats.get(chat_id, {})
            chat = {"id": chat_id, "type": ctype, "title": existing.get("title", "Test Group")}
        self._chats[chat_id] = chat
        message: dict[str, Any] = {
            "message_id": self._alloc_message_id(chat_id, message_id),
            "from": user,
            "chat": dict(chat),
            "date": int(time.time()) if date is None else date,
            "text": text,
        }
        if entities is _AUTO:
            m = re.match(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?(?![A-Za-z0-9_@])", text)
            entities = (
                [{"type": "bot_command", "offset": 0, "length": _u16len(m.group(0))}] if m else None
            )
        if entities:
            message["entities"] = entities
        if reply_to_message_id is not None:
            target = self._store.get((chat_id, reply_to_message_id))
            if target is not None:
                message["reply_to_message"] = self._strip_reply(target.message)
        self._store[(chat_id, message["message_id"])] = _Stored(message, by_bot=False)
        update = {"message": message}
        self.enqueue(update)
        return update

    def channel_post(
        self,
        chat_id: int,
        text: str = "",
        username: str | None = None,
        title: str = "Test Channel",
        message_id: int | None = None,
        edited: bool = False,
        caption: str | None = None,
        photo: bool = False,
        forward_origin: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        date: int | None = None,
    ) -> dict[str, Any]:
        """Enqueue a channel_post (or edited_channel_post) as Telegram sends it to an admin bot.

        ``photo=True`` or a ``caption`` makes it a photo post: the text goes to ``caption``
        (``caption`` wins if both are given) and ``entities`` become ``caption_entities``.
        ``edited=True`` without ``message_id`` edits the latest post of that channel.
        """
        chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": title}
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        if edited and message_id is None:
            ids = [mid for (cid, mid) in self._store if cid == chat_id]
            if not ids:
                raise ValueError(f"no earlier post in channel {chat_id} to edit")
            message_id = max(ids)
        now = int(time.time())
        if edited and message_id is not None and (chat_id, message_id) in self._store:
            mid = message_id
            orig_date = self._store[(chat_id, mid)].message["date"]
        else:
            mid = self._alloc_message_id(chat_id, message_id)
            orig_date = now
        message: dict[str, Any] = {
            "message_id": mid,
            "sender_chat": dict(chat),
            "chat": dict(chat),
            "date": orig_date if date is None else date,
        }
        if photo or caption is not None:
            message["photo"] = [
                {
                    "file_id": f"photo-{chat_id}-{mid}-s",
                    "file_unique_id": f"u{chat_id}{mid}s",
                    "width": 90,
                    "height": 60,
                    "file_size": 1200,
                },
                {
                    "file_id": f"photo-{chat_id}-{mid}-m",
                    "file_unique_id": f"u{chat_id}{mid}m",
                    "width": 800,
                    "height": 533,
                    "file_size": 48000,
                },
            ]
            cap = caption if caption is not None else text
            if cap:
                message["caption"] = cap
                if entities:
                    message["caption_entities"] = entities
        else:
            message["text"] = text
            if entities:
                message["entities"] = entities
        if forward_origin is not None:
            message["forward_origin"] = forward_origin
        if edited:
            message["edit_date"] = now
        self._store[(chat_id, mid)] = _Stored(message, by_bot=False)
        update = {"edited_channel_post" if edited else "channel_post": message}
        self.enqueue(update)
        return update

    def callback_query(
        self, chat_id: int, message_id: int, data: str, user_id: int = 1001
    ) -> dict[str, Any]:
        """Enqueue a button press on a (usually bot-sent) message; id is accepted later."""
        stored = self._store.get((chat_id, message_id))
        message = (
            self._strip_reply(stored.message)
            if stored
            else {"message_id": message_id, "chat": self._chat(chat_id), "date": 0}
        )
        cq_id = f"cq{self._next_callback}"
        self._next_callback += 1
        update = {
            "callback_query": {
                "id": cq_id,
                "from": {"id": user_id, "is_bot": False, "first_name": "Test"},
                "message": message,
                "chat_instance": f"ci{chat_id}",
                "data": data,
            }
        }
        self.enqueue(update)
        return update

    # ---------------------------------------------------------------- internals: state

    @staticmethod
    def _infer_type(chat_id: int) -> str:
        if chat_id > 0:
            return "private"
        return "supergroup" if str(chat_id).startswith("-100") else "group"

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id not in self._chats:
            ctype = self._infer_type(chat_id)
            if ctype == "private":
                self._chats[chat_id] = {"id": chat_id, "type": ctype, "first_name": "Test"}
            else:
                self._chats[chat_id] = {"id": chat_id, "type": ctype, "title": f"Chat {chat_id}"}
        return self._chats[chat_id]

    def _resolve_chat(self, value: Any) -> dict[str, Any]:
        if value is None or value == "":
            raise _bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == value[1:].lower():
                    return chat
            raise _bad_request("chat not found")
        return self._chat(_as_int(value, "chat_id"))

    def _alloc_message_id(self, chat_id: int, wanted: int | None) -> int:
        nxt = self._next_message_id.get(chat_id, 1)
        mid = nxt if wanted is None else wanted
        self._next_message_id[chat_id] = max(nxt, mid + 1)
        return mid

    @staticmethod
    def _strip_reply(message: dict[str, Any]) -> dict[str, Any]:
        msg = copy.deepcopy(message)
        msg.pop("reply_to_message", None)
        return msg

    def _wake_all(self, reason: str | None) -> None:
        for waiter in self._waiters:
            if waiter.reason is None:
                waiter.reason = reason
            waiter.event.set()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _canonical(self, method: str) -> str:
        entry = self._handlers.get(method.lower())
        return entry[0] if entry else method

    # ---------------------------------------------------------------- internals: HTTP

    async def send_error(self, conn: Connection, status: int, message: str) -> None:
        payload = BotAPIError(status, f"{reason(status)}: {message}").payload()
        await conn.send_json(status, payload, keep_alive=False, ensure_ascii=False)

    async def handle(self, conn: Connection, request: Request) -> bool:
        status, payload = await self._dispatch(request, conn)
        if payload is _GONE:
            return False  # the client hung up during a long poll: nobody to answer
        await conn.send_json(status, payload, keep_alive=request.keep_alive, ensure_ascii=False)
        return True

    def _parse_params(self, req: Request) -> dict[str, Any]:
        split = urlsplit(req.target)
        raw: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
        ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if req.body:
            if ctype == "application/x-www-form-urlencoded":
                raw.update(parse_qsl(req.body.decode("utf-8"), keep_blank_values=True))
            elif ctype == "application/json":
                data = json.loads(req.body)
                if not isinstance(data, dict):
                    raise _bad_request("JSON body must be an object")
                return {**raw, **data}
            else:
                raise _bad_request(
                    f"FakeBotAPI supports only urlencoded or JSON bodies, got {ctype or 'none'!r}"
                    " (file uploads via multipart/form-data are not implemented)"
                )
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in _STRING_PARAMS:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    async def _dispatch(self, req: Request, conn: Connection) -> tuple[int, Any]:
        m = re.fullmatch(r"/bot([^/]*)/([^/]+)", req.path)
        if m is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method_raw = m.groups()
        method = self._canonical(method_raw)
        error: BotAPIError | None = None
        try:
            params = self._parse_params(req)
        except BotAPIError as exc:
            params, error = {}, exc
        except (ValueError, UnicodeDecodeError) as exc:
            params, error = {}, _bad_request(f"can't parse request body: {exc}")
        rec = RecordedRequest(method, params, time.monotonic(), req.method)
        self.requests.append(rec)
        status, payload = self._precheck(token, method, error)
        if payload is None and method.lower() == "getupdates":
            self._notify()
            status, payload = await self._get_updates(params, conn)
        elif payload is None:
            status, payload = self._call(method, params)
        if payload is not _GONE:
            rec.status, rec.response = status, payload
        self._notify()
        return status, payload

    def _precheck(
        self, token: str, method: str, error: BotAPIError | None
    ) -> tuple[int, dict[str, Any] | None]:
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if self._down:
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        if error is not None:  # e.g. multipart upload: say so even for methods we lack
            return error.status, error.payload()
        if method.lower() not in self._handlers and method.lower() != "getupdates":
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        queue = self._failures.get(method.lower())
        if queue:
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            params = {"retry_after": failure.retry_after} if failure.retry_after else None
            return failure.status, BotAPIError(
                failure.status, failure.description, params
            ).payload()
        return 200, None

    def _call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key = method.lower()
        handler = self._custom.get(key) or self._handlers[key][1]
        try:
            result = handler(params)
        except BotAPIError as exc:
            return exc.status, exc.payload()
        return 200, {"ok": True, "result": result}

    # ---------------------------------------------------------------- getUpdates

    async def _get_updates(self, params: dict[str, Any], conn: Connection) -> tuple[int, Any]:
        if self._webhook_url:
            return 409, BotAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            ).payload()
        try:
            offset = None if params.get("offset") is None else _as_int(params["offset"], "offset")
            limit = 100 if params.get("limit") is None else _as_int(params["limit"], "limit")
            timeout = float(params.get("timeout") or 0)
        except BotAPIError as exc:
            return exc.status, exc.payload()
        except (TypeError, ValueError):
            return 400, _bad_request("invalid timeout specified").payload()
        limit = min(max(limit, 1), 100)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed] or None
        if offset is not None:
            if offset < 0:
                keep = list(self._pending)[offset:]
                self._pending = deque(keep)
            else:
                while self._pending and self._pending[0]["update_id"] < offset:
                    self._pending.popleft()
        # A newer poll terminates older held ones, as on Telegram.
        self._wake_all("conflict")
        waiter = _Waiter()
        self._waiters.append(waiter)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        try:
            while True:
                if self._down or waiter.reason == "down":
                    return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
                if waiter.reason == "conflict":
                    return 409, BotAPIError(
                        409,
                        "Conflict: terminated by other getUpdates request;"
                        " make sure that only one bot instance is running",
                    ).payload()
                batch = self._take(limit)
                remaining = deadline - loop.time()
                if batch or remaining <= 0:
                    return 200, {"ok": True, "result": batch}
                waiter.event.clear()
                waiter.reason = None
                if not await conn.wait_unless_gone(remaining, waiter.event):
                    return 0, _GONE  # client cancelled the long poll
        finally:
            self._waiters.remove(waiter)

    def _take(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        batch: list[dict[str, Any]] = []
        for update in list(self._pending):
            kind = next((k for k in update if k != "update_id"), "")
            ok = kind in allowed if allowed else kind not in _DEFAULT_ALLOWED
            if not ok:
                self._pending.remove(update)  # Telegram never stores filtered-out updates
                continue
            batch.append(copy.deepcopy(update))
            if len(batch) >= limit:
                break
        return batch

    # ---------------------------------------------------------------- method handlers

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook_url = ""
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook_url = str(params.get("url") or "")
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("commands must be a JSON array")
        if len(commands) > 100:
            raise _bad_request("too many commands")
        for cmd in commands:
            if not isinstance(cmd, dict) or not re.fullmatch(
                r"[a-z0-9_]{1,32}", str(cmd.get("command", ""))
            ):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _check_forbidden(self, chat_id: int) -> None:
        if chat_id in self._forbidden_chats:
            raise BotAPIError(403, self._forbidden_chats[chat_id])

    @staticmethod
    def _format(
        text: Any, parse_mode: Any, entities: Any
    ) -> tuple[str, list[dict[str, Any]] | None]:
        if text is None or text == "":
            raise _bad_request("message text is empty")
        raw = text if isinstance(text, str) else json.dumps(text)
        mode = str(parse_mode or "").lower()
        if mode == "html":
            try:
                visible, ents = parse_html(raw)
            except HtmlParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from None
            parsed: list[dict[str, Any]] | None = ents or None
        elif mode in ("", "markdown", "markdownv2"):
            visible = raw
            parsed = entities if isinstance(entities, list) and entities else None
        else:
            raise _bad_request("unsupported parse_mode")
        if not visible.strip():
            raise _bad_request("message text is empty")
        if len(visible) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        return visible, parsed

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._resolve_chat(params.get("chat_id"))
        chat_id = chat["id"]
        self._check_forbidden(chat_id)
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        reply_to: dict[str, Any] | None = None
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            target_chat = chat_id
            if reply.get("chat_id") is not None:
                target_chat = self._resolve_chat(reply["chat_id"])["id"]
            target = self._store.get((target_chat, _as_int(reply["message_id"], "message_id")))
            if target is None or target.deleted:
                if not reply.get("allow_sending_without_reply"):
                    raise _bad_request("message to be replied not found")
            else:
                reply_to = self._strip_reply(target.message)
        message: dict[str, Any] = {
            "message_id": self._alloc_message_id(chat_id, None),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
            "text": text,
        }
        if chat["type"] == "channel":
            message.pop("from")
            message["sender_chat"] = dict(chat)
        if entities:
            message["entities"] = entities
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = params["message_thread_id"]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        markup = _inline_keyboard(params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = markup
        self._store[(chat_id, message["message_id"])] = _Stored(message, by_bot=True)
        result = copy.deepcopy(message)
        self.sent.append(copy.deepcopy(result))
        return result

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            self._format(params.get("text"), params.get("parse_mode"), params.get("entities"))
            return True
        chat = self._resolve_chat(params.get("chat_id"))
        chat_id = chat["id"]
        self._check_forbidden(chat_id)
        message_id = _as_int(params.get("message_id"), "message_id")
        stored = self._store.get((chat_id, message_id))
        if stored is None or stored.deleted:
            raise _bad_request("message to edit not found")
        if not stored.by_bot:
            raise _bad_request("message can't be edited")
        if "text" not in stored.message:
            raise _bad_request("there is no text in the message to edit")
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        new_markup = _inline_keyboard(params.get("reply_markup"))
        msg = stored.message
        if (
            msg["text"] == text
            and (msg.get("entities") or None) == entities
            and msg.get("reply_markup") == new_markup
        ):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are"
                " exactly the same as a current content and reply markup of the message"
            )
        msg["text"] = text
        msg.pop("entities", None)
        if entities:
            msg["entities"] = entities
        msg.pop("reply_markup", None)
        if new_markup is not None:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = int(time.time())
        return copy.deepcopy(msg)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        """Replace (or, with no reply_markup, remove) the inline keyboard of a bot message."""
        new_markup = _inline_keyboard(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        chat = self._resolve_chat(params.get("chat_id"))
        self._check_forbidden(chat["id"])
        stored = self._store.get((chat["id"], _as_int(params.get("message_id"), "message_id")))
        if stored is None or stored.deleted:
            raise _bad_request("message to edit not found")
        if not stored.by_bot:
            raise _bad_request("message can't be edited")
        msg = stored.message
        if msg.get("reply_markup") == new_markup:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are"
                " exactly the same as a current content and reply markup of the message"
            )
        msg.pop("reply_markup", None)
        if new_markup is not None:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = int(time.time())
        return copy.deepcopy(msg)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._resolve_chat(params.get("chat_id"))
        self._check_forbidden(chat["id"])
        message_id = _as_int(params.get("message_id"), "message_id")
        stored = self._store.get((chat["id"], message_id))
        if stored is None or stored.deleted:
            raise _bad_request("message to delete not found")
        stored.deleted = True
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._resolve_chat(params.get("chat_id"))
        self._check_forbidden(chat["id"])
        if not params.get("action"):
            raise _bad_request("wrong parameter action in request")
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        """Like Telegram: a query is answered once; its text is at most 200 characters."""
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._callback_ids:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._callback_ids.discard(query_id)
        return True

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._resolve_chat(params.get("chat_id"))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
