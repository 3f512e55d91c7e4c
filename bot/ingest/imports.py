"""Reading history files: Telegram Desktop exports and JSON / JSON Lines dumps of posts.

The format is detected from the content, not the file name. Every record that cannot be
read becomes a `Rejected` naming the file and the line, index or JSON path; the rest still
comes through. JSON Lines are read and decoded line by line; JSON arrays and Desktop
exports are streamed (`JsonStream`) element by element and message by message, so a large
dump never sits in memory whole and one bad byte costs one record, not the rest of the file.

What a record must be to be stored (one rule for every format):

- ids are integers a SQLite column can hold (int64); message ids are positive;
- dates are ones a Telegram post can have: not before Telegram existed (August 2013) and
  not more than a day ahead of the import's clock;
- a username follows Telegram's rule (`bot.config.normalise_username`), so it can only ever
  become a `https://t.me/<username>/<id>` link;
- text is valid Unicode (no unpaired surrogate, no byte that is not UTF-8).
"""

from __future__ import annotations

import codecs
import json
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.config import normalise_username
from bot.errors import ImportFormatError
from bot.links import bare_peer_id
from bot.models import ChannelRef, IncomingPost

IMPORT_SUFFIXES = (".json", ".jsonl", ".ndjson")
CHANNEL_CHAT_TYPES = {"public_channel", "private_channel"}
DESKTOP_MEDIA_KEYS = {
    "photo": "photo",
    "poll": "poll",
    "location_information": "location",
    "contact_information": "contact",
}
ALBUM_MAX_ID_GAP = 10

MAX_INT64 = 2**63 - 1
"""SQLite's INTEGER: anything larger raises OverflowError deep inside a batch insert."""
TELEGRAM_EPOCH = datetime(2013, 8, 1, tzinfo=UTC)
"""No Telegram post is older than Telegram (launched in August 2013)."""
MAX_AHEAD = timedelta(days=1)
"""Clocks differ, but no post is dated more than a day ahead of now."""
MAX_RECORD_CHARS = 16 * 1024 * 1024
"""One JSON record (a line, or an element of an array) larger than this is not a post: even
a post at the stored-text cap, fully \\u-escaped, is a fraction of it."""
READ_CHUNK = 1024 * 1024
_BOM = "\ufeff"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be imported, and where it was."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A whole chat left out on purpose (not a channel), reported but not an error."""

    where: str
    reason: str


ImportItem = IncomingPost | Rejected | Skipped


def find_import_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the JSON files inside them (recursively), in a stable order.

    Anything in a folder that is not a folder is returned, named pipes and devices too, so
    that `read_import_file` reports them ("not a regular file") instead of leaving them out
    without a word; it never opens them.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix.lower() in IMPORT_SUFFIXES and not p.is_dir()
                )
            )
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            raise ImportFormatError(f"{path}: no such file or folder")
    return files


def read_import_file(path: Path, now: datetime | None = None) -> Iterator[ImportItem]:
    """Posts, rejections and skipped chats of one file, in file order.

    `now` bounds the dates a post may have (default: the clock).
    """
    rules = _Rules(now or datetime.now(UTC))
    try:
        kind = _file_kind(path)
        if kind is not None:
            yield Rejected(str(path), kind)
            return
        with path.open("rb") as handle:
            first = _first_char(handle)
            if first == "[":
                yield from _read_json_array(path, handle, rules)
            elif first == "{":
                if _is_json_lines(handle):
                    yield from _read_json_lines(path, handle, rules)
                else:
                    yield from _read_json_document(path, handle, rules)
            elif not first:
                yield Rejected(str(path), "the file is empty")
            else:
                yield Rejected(str(path), "not JSON: expected a Telegram export or JSON posts")
    except OSError as exc:
        yield Rejected(str(path), f"cannot read: {exc.strerror or exc}")


def _file_kind(path: Path) -> str | None:
    """Why `path` must not be opened (a pipe would block forever), or None for a file."""
    mode = path.stat().st_mode  # follows symlinks: a link to a regular file is fine
    if stat.S_ISREG(mode):
        return None
    what = (
        "a named pipe"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a file"
    )
    return f"not a regular file ({what}); not read"


def _first_char(handle: IO[bytes]) -> str:
    """The first character that is not whitespace (or a BOM); the handle is rewound."""
    found = ""
    while chunk := handle.read(4096):
        stripped = chunk.lstrip(b" \t\r\n")
        if stripped.startswith(b"\xef\xbb\xbf"):
            stripped = stripped[3:].lstrip(b" \t\r\n")
        if stripped:
            found = chr(stripped[0]) if stripped[0] < 0x80 else "?"
            break
    handle.seek(0)
    return found


def _is_json_lines(handle: IO[bytes]) -> bool:
    """JSON Lines when the first line alone is a complete JSON object that is not an export.

    The whole first line is read, however long (a long post exported by `wirebrief export`
    is one line of many kilobytes), up to the record limit.
    """
    line = handle.readline(MAX_RECORD_CHARS + 1)
    handle.seek(0)
    try:
        first = json.loads(line.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return True  # a broken line 1 of JSON Lines: reject that line, read the others
    except (ValueError, RecursionError):
        return False
    return isinstance(first, dict) and "messages" not in first and "chats" not in first


def _read_json_lines(path: Path, handle: IO[bytes], rules: _Rules) -> Iterator[ImportItem]:
    """One record per line; each line is decoded on its own, so a bad byte costs one line."""
    number = 0
    while True:
        raw = handle.readline(MAX_RECORD_CHARS + 1)
        if not raw:
            return
        number += 1
        where = f"{path}:{number}"
        if len(raw) > MAX_RECORD_CHARS and not raw.endswith(b"\n"):
            while (rest := handle.readline(READ_CHUNK)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the over-long line, and go on with the next one
            yield Rejected(where, f"line longer than {MAX_RECORD_CHARS // 2**20} MB: not a post")
            continue
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield Rejected(where, f"not UTF-8 text ({exc.reason} at column {exc.start + 1})")
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Rejected(where, f"not JSON ({exc.msg})")
            continue
        except RecursionError:
            yield Rejected(where, "JSON nested too deeply to be a post")
            continue
        yield _plain_post(record, where, rules)


def _read_json_array(path: Path, handle: IO[bytes], rules: _Rules) -> Iterator[ImportItem]:
    for index, element in enumerate(iter_json_array(handle, str(path))):
        if isinstance(element, Rejected):
            yield element
            return
        yield _plain_post(element, f"{path}[{index}]", rules)


class _StreamError(Exception):
    """A syntax error (or an over-long record) in a streamed file: where, and what."""

    def __init__(self, rejected: Rejected) -> None:
        super().__init__(str(rejected))
        self.rejected = rejected


class JsonStream:
    """A JSON document read in 1 MB chunks, one value at a time.

    `json.JSONDecoder.raw_decode` reads one value from a buffer; a value cut by the end of
    the buffer fails near the buffer's end (or as an unterminated string), and is read again
    once more text has arrived. The caller walks the document's structure (`take`, `key`,
    `items`) and decodes whole only the values it wants whole (`value`), so memory is one
    value plus a chunk, whatever the file size. Non-UTF-8 bytes are kept as lone
    surrogates, so only the record holding one is rejected (see `checked_text`).
    """

    def __init__(self, handle: IO[bytes], name: str) -> None:
        self.handle = handle
        self.name = name
        self.decoder = json.JSONDecoder()
        self.utf8 = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.buf = ""
        self.pos = 0
        self.line = 1  # the line number at buf[0]
        self.eof = False
        self._fill()
        if self.buf.startswith(_BOM):
            self.pos = 1

    def _fill(self) -> None:
        chunk = self.handle.read(READ_CHUNK)
        self.eof = not chunk
        self.line += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos :] + self.utf8.decode(chunk, final=self.eof)
        self.pos = 0

    def error(self, message: str, at: int | None = None) -> _StreamError:
        line = self.line + self.buf.count("\n", 0, self.pos if at is None else at)
        return _StreamError(Rejected(f"{self.name}:{line}", message))

    def peek(self) -> str:
        """The next character that is not whitespace, or "" at the end of the file."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return ""
            self._fill()

    def take(self, char: str) -> None:
        found = self.peek()
        if found != char:
            what = repr(found) if found else "the end of the file"
            raise self.error(f"not valid JSON (expected {char!r}, found {what})")
        self.pos += 1

    def value(self) -> Any:
        """The next value, decoded whole."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
                if self.eof or isinstance(value, dict | list | str) or len(self.buf) - end > 64:
                    break
                self._fill()  # a number near the end of the buffer may go on in the next chunk
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.buf) - 64 or exc.msg.startswith("Unterminated string")
                if self.eof or not cut:
                    raise self.error(
                        f"not valid JSON ({exc.msg}); the rest of the file is not read", exc.pos
                    ) from None
                if len(self.buf) - self.pos > MAX_RECORD_CHARS:
                    raise self.error(
                        f"a record larger than {MAX_RECORD_CHARS // 2**20} MB is not a post; "
                        "the rest of the file is not read"
                    ) from None
                self._fill()
            except RecursionError:
                raise self.error(
                    "JSON nested too deeply to be a post; the rest is not read"
                ) from None
        self.pos = end
        return value

    def key(self) -> str:
        """An object's next key, and the colon after it."""
        key = self.value() if self.peek() == '"' else None
        if not isinstance(key, str):
            raise self.error("not valid JSON (expected a key in double quotes)")
        self.take(":")
        return key

    def members(self) -> Iterator[str]:
        """An object's keys (after its "{"), each left for the caller to read the value of."""
        first = True
        while True:
            if self.peek() == "}":
                self.pos += 1
                return
            if not first:
                self.take(",")
            first = False
            yield self.key()

    def items(self) -> Iterator[Any]:
        """An array's elements (after its "["), each decoded whole."""
        first = True
        while True:
            if self.peek() == "]":
                self.pos += 1
                return
            if not first:
                self.take(",")
            first = False
            yield self.value()

    def skip_items(self, items: Iterator[Any]) -> None:
        """Read what is left of an array that is not wanted (to get to what follows it)."""
        for _ in items:
            pass


def iter_json_array(handle: IO[bytes], name: str) -> Iterator[Any | Rejected]:
    """The elements of a top-level JSON array, one at a time (see `JsonStream`). A syntax
    error ends the file with a `Rejected` naming its line: what came before it has been
    yielded, what follows cannot be told apart from the broken element."""
    stream = JsonStream(handle, name)
    try:
        stream.take("[")
        yield from stream.items()
        if stream.peek():
            raise stream.error("not valid JSON (more after the array)")
    except _StreamError as exc:
        yield exc.rejected


def _read_json_document(path: Path, handle: IO[bytes], rules: _Rules) -> Iterator[ImportItem]:
    """A JSON object: a Desktop export (one chat, or a whole account), or one post.

    Streamed: a chat's `messages` are read one at a time, and an account's chats one chat
    at a time, so an export of any size takes the memory of one message.
    """
    stream = JsonStream(handle, str(path))
    where = str(path)
    fields: dict[str, Any] = {}
    try:
        stream.take("{")
        for key in stream.members():
            if key == "messages" and stream.peek() == "[" and fields.keys() >= _HEADER:
                stream.take("[")
                yield from _streamed_chat(stream, fields, where, rules)
                fields["messages"] = None  # read: what follows it is only more header
            elif key in ("chats", "left_chats") and stream.peek() == "{":
                stream.take("{")
                yield from _streamed_section(stream, key, where, rules)
                fields[key] = None
            else:
                fields[key] = stream.value()
        if stream.peek():
            raise stream.error("not valid JSON (more after the object)")
    except _StreamError as exc:
        yield exc.rejected
        return
    if "messages" in fields:
        if fields["messages"] is not None:  # not streamed: an odd shape, or "type" after it
            yield from desktop_chat_posts(fields, where, rules)
    elif "chats" in fields or "left_chats" in fields:
        odd = {k: v for k, v in fields.items() if k in ("chats", "left_chats") and v is not None}
        if odd:
            yield from _desktop_account(odd, where, rules)
    elif "message_id" in fields or "id" in fields:
        yield _plain_post(fields, f"{path}[0]", rules)
    else:
        yield Rejected(
            where,
            "unknown JSON layout: expected a Telegram Desktop export (messages or chats) "
            "or a list of posts",
        )


_HEADER = frozenset({"name", "type", "id"})
"""What Telegram Desktop writes before a chat's messages. Only then are the messages
streamed; a chat that puts them first is read whole (same result, more memory)."""


def _streamed_chat(
    stream: JsonStream, header: dict[str, Any], where: str, rules: _Rules
) -> Iterator[ImportItem]:
    """A chat's messages as they are read (the stream is just past "messages": [)."""
    messages = stream.items()
    yield from desktop_chat_posts(header, where, rules, messages)
    stream.skip_items(messages)  # a chat that is not a channel: past its messages


def _streamed_section(
    stream: JsonStream, section: str, where: str, rules: _Rules
) -> Iterator[ImportItem]:
    """An account export's `chats` or `left_chats` (the stream is just past its "{")."""
    for key in stream.members():
        if key != "list":
            stream.value()  # "about": a sentence
            continue
        if stream.peek() != "[":
            problem = _shape_problem(_ChatList, {"list": stream.value()}, section)
            yield Rejected(where, f"not a Telegram Desktop export: {problem}")
            continue
        stream.take("[")
        index = 0
        while True:
            if stream.peek() == "]":
                stream.pos += 1
                break
            if index:
                stream.take(",")
            place = f"{where}: {section}.list[{index}]"
            index += 1
            if stream.peek() != "{":
                chat = stream.value()
                yield Rejected(place, f"expected a chat object, got {type(chat).__name__}")
                continue
            stream.take("{")
            yield from _streamed_chat_object(stream, place, rules)


def _streamed_chat_object(stream: JsonStream, where: str, rules: _Rules) -> Iterator[ImportItem]:
    """One chat of an account export (the stream is just past its "{")."""
    header: dict[str, Any] = {}
    streamed = False
    for key in stream.members():
        if key == "messages" and stream.peek() == "[" and header.keys() >= _HEADER:
            stream.take("[")
            yield from _streamed_chat(stream, header, where, rules)
            streamed = True
        else:
            header[key] = stream.value()
    if not streamed:
        yield from desktop_chat_posts(header, where, rules)


def _shape_problem(model: type[BaseModel], value: Any, prefix: str = "") -> str:
    try:
        model.model_validate(value)
    except ValidationError as exc:
        return _shape_error(exc, prefix)
    return f"{prefix}: unexpected shape"


# ----- the rules every record follows -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rules:
    """What a storable record is, relative to the import's clock."""

    now: datetime

    def date(self, value: Any, name: str = "date") -> datetime:
        """A date a Telegram post can have, from ISO 8601 or unix seconds."""
        parsed = parse_date(value, name)
        if parsed < TELEGRAM_EPOCH:
            raise ValueError(f"{name} {parsed:%Y-%m-%d} is before Telegram existed (2013-08)")
        if parsed > self.now + MAX_AHEAD:
            raise ValueError(f"{name} {parsed:%Y-%m-%d %H:%M}Z is in the future")
        return parsed


def parse_date(value: Any, name: str = "date") -> datetime:
    """ISO 8601 (naive means UTC) or unix seconds, as a number or a string of digits."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a time, got {value!r}")
    if isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\d{1,11}(\.\d+)?", value.strip())
    ):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{name} {str(value)[:30]!r} is out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        except ValueError:
            raise ValueError(f"{name} {value[:40]!r} is not ISO 8601 or unix time") from None
        except OverflowError:
            # 9999-12-31T23:59:59-05:00 is a valid ISO string past datetime's last year.
            raise ValueError(f"{name} {value[:40]!r} is out of range") from None
    raise ValueError(f"{name} must be a string or a number, got {type(value).__name__}")


def _as_int(value: Any, name: str) -> int:
    """An integer SQLite can store, from a number, a string of digits or "channel123"."""
    number: int | None = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("channel"):
            text = text[7:]
        if re.fullmatch(r"-?\d{1,25}", text):
            number = int(text)
    if number is None:
        raise ValueError(f"{name} must be a whole number, got {str(value)[:30]!r}")
    if abs(number) > MAX_INT64:
        raise ValueError(f"{name} {str(number)[:30]} is too large to be a Telegram id or count")
    return number


def message_id_of(value: Any, name: str = "id") -> int:
    """A message id: positive, in every format (exports and JSON alike)."""
    number = _as_int(value, name)
    if number <= 0:
        raise ValueError(f"{name} must be positive, got {number}")
    return number


def peer_id_of(value: Any, name: str) -> int:
    """A channel id, bare (without the Bot API's -100 prefix), never 0."""
    number = bare_peer_id(_as_int(value, name))
    if number == 0:
        raise ValueError(f"{name} must not be 0")
    return number


def count_of(value: Any, name: str) -> int | None:
    if value is None:
        return None
    number = _as_int(value, name)
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {number}")
    return number


def username_of(value: Any) -> str | None:
    """A username by Telegram's rule, or None; anything else is refused, because a username
    becomes the path of every link to the channel's posts."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"username must be a string, got {type(value).__name__}")
    try:
        return normalise_username(value)
    except ValueError as exc:
        raise ValueError(f"username {exc}") from None


def checked_text(text: str, name: str = "text") -> str:
    if _LONE_SURROGATE.search(text):
        raise ValueError(
            f"{name} is not valid Unicode (a byte that is not UTF-8, or an unpaired \\u escape)"
        )
    return text


def _str_or_none(value: Any, name: str = "field") -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool | dict | list):
        raise ValueError(f"{name} must be text, got {type(value).__name__}")
    return checked_text(str(value), name)


# ----- plain JSON posts ---------------------------------------------------------------


def _plain_post(record: Any, where: str, rules: _Rules) -> IncomingPost | Rejected:
    """One record of a JSON dump: message_id|id, sender_id|channel_id, channel|title, date."""
    if not isinstance(record, dict):
        return Rejected(where, f"expected an object, got {type(record).__name__}")
    try:
        raw_id = record.get("message_id", record.get("id"))
        if raw_id is None:
            return Rejected(where, "no message_id or id")
        message_id = message_id_of(raw_id, "message_id" if "message_id" in record else "id")
        if record.get("date") in (None, ""):
            return Rejected(where, "no date")
        date = rules.date(record["date"])
        raw_channel = record.get("sender_id", record.get("channel_id"))
        peer_id = peer_id_of(raw_channel, "sender_id") if raw_channel not in (None, "") else None
        username = username_of(record.get("username"))
        title = _str_or_none(record.get("channel") or record.get("title"), "channel")
        if peer_id is None and not username:
            return Rejected(where, "no channel: give sender_id, channel_id or username")
        edit_date = record.get("edit_date")
        return IncomingPost(
            channel=ChannelRef(peer_id=peer_id, username=username, title=title),
            message_id=message_id,
            date=date,
            text=checked_text(flatten_text(record.get("text"))),
            views=count_of(record.get("views"), "views"),
            edit_date=rules.date(edit_date, "edit_date") if edit_date else None,
            forwarded_from=_str_or_none(record.get("forwarded_from"), "forwarded_from"),
            media_kind=_str_or_none(record.get("media_kind"), "media_kind"),
        )
    except (ValueError, TypeError) as exc:
        return Rejected(where, str(exc))


def flatten_text(value: Any) -> str:
    """Text as a string, or a Desktop export's list of strings and entity objects."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for index, part in enumerate(value):
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                raise ValueError(f"text[{index}] must be a string or an entity with text")
        return "".join(parts)
    raise ValueError(f"text must be a string or a list, got {type(value).__name__}")


# ----- Telegram Desktop exports -------------------------------------------------------


def _int64(value: Any) -> Any:
    return value if value is None else _as_int(value, "value")


Int64 = Annotated[int, BeforeValidator(_int64)]


class _Shape(BaseModel):
    """Fields a Desktop export must have the right type for; others are ignored."""

    model_config = ConfigDict(extra="allow", strict=False, frozen=True)


class _Entity(_Shape):
    text: str


class _PollAnswer(_Shape):
    text: str = ""


class _Poll(_Shape):
    question: str | None = None
    answers: list[_PollAnswer] = []


class DesktopMessage(_Shape):
    """One exported message of type "message" (service messages are not read)."""

    id: Int64
    type: str
    date: str | None = None
    date_unixtime: str | int | None = None
    edited: str | None = None
    edited_unixtime: str | int | None = None
    text: str | list[str | _Entity] = ""
    poll: _Poll | None = None
    reply_to_message_id: Int64 | None = None
    forwarded_from: str | None = None
    author: str | None = None
    media_type: str | None = None


class DesktopChat(_Shape):
    """One exported chat: its kind, id and name; its messages are read one by one."""

    name: str | None = None
    type: str | None = None
    id: Int64 | str | None = None
    messages: list[Any] = []


class _ChatList(_Shape):
    items: list[Any] = Field(default_factory=list, alias="list")


class DesktopAccount(_Shape):
    """A whole-account export: chats and left chats, each a list of chats."""

    chats: _ChatList | None = None
    left_chats: _ChatList | None = None


def _shape_error(exc: ValidationError, prefix: str = "") -> str:
    """The first problem pydantic found, as a JSON path and what was wrong there."""
    # Of a union's alternatives, the deepest error says most ("text[1]", not "text").
    first = max(exc.errors(), key=lambda error: len(error["loc"]))
    path = prefix
    for part in first["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not str(part).startswith(("function-", "str", "int", "list[", "union[", "_")):
            path += f".{part}" if path else str(part)
    message = str(first["msg"]).removeprefix("Value error, ").split(" or instance of ")[0]
    got = first.get("input")
    typed = str(first["type"]).endswith(("_type", "_parsing"))
    shown = f", got {str(got)[:30]!r}" if typed and not isinstance(got, dict | list) else ""
    return f"{path or 'the export'}: {message}{shown}"


def _desktop_account(data: dict[str, Any], where: str, rules: _Rules) -> Iterator[ImportItem]:
    """A whole-account export: every channel in chats.list (and left_chats.list)."""
    try:
        account = DesktopAccount.model_validate(data)
    except ValidationError as exc:
        yield Rejected(where, f"not a Telegram Desktop export: {_shape_error(exc)}")
        return
    for section, chats in (("chats", account.chats), ("left_chats", account.left_chats)):
        for index, chat in enumerate(chats.items if chats else []):
            place = f"{where}: {section}.list[{index}]"
            if isinstance(chat, dict):
                yield from desktop_chat_posts(chat, place, rules)
            else:
                yield Rejected(place, f"expected a chat object, got {type(chat).__name__}")


def desktop_chat_posts(
    data: dict[str, Any],
    where: str,
    rules: _Rules | None = None,
    messages: Iterator[Any] | None = None,
) -> Iterator[ImportItem]:
    """Posts of one exported chat; only channels are imported (private chats never are).

    `messages`, when given, are the chat's messages as a stream is reading them, and
    `data` is the rest of the chat (its header: name, type, id).
    """
    rules = rules or _Rules(datetime.now(UTC))
    try:
        chat = DesktopChat.model_validate(
            data if messages is None else {k: v for k, v in data.items() if k != "messages"}
        )
    except ValidationError as exc:
        yield Rejected(where, f"not a Telegram Desktop chat: {_shape_error(exc)}")
        return
    name = chat.name or "unnamed chat"
    if chat.type not in CHANNEL_CHAT_TYPES:
        yield Skipped(where, f"{name!r} is a {chat.type or 'chat'}, not a channel")
        return
    try:
        peer_id = peer_id_of(chat.id, "id")
        title = checked_text(name, "name")
    except ValueError as exc:
        yield Rejected(where, f"chat {name!r}: {exc}")
        return
    channel = ChannelRef(peer_id=peer_id, title=title)
    pending: list[tuple[dict[str, Any], IncomingPost]] = []
    for index, message in enumerate(chat.messages if messages is None else messages):
        item = _desktop_message(message, channel, f"{where}: messages[{index}]", rules)
        if item is None:
            continue
        if isinstance(item, Rejected):
            yield item
            continue
        if pending and _same_album(pending[-1], (message, item)):
            pending.append((message, item))
            continue
        if pending:
            yield _merge_album(pending)
        pending = [(message, item)]
    if pending:
        yield _merge_album(pending)


def _desktop_message(
    message: Any, channel: ChannelRef, where: str, rules: _Rules
) -> IncomingPost | Rejected | None:
    if not isinstance(message, dict):
        return Rejected(where, f"expected a message object, got {type(message).__name__}")
    if message.get("type") != "message":
        return None  # service messages: joins, pins, title changes
    try:
        shape = DesktopMessage.model_validate(message)
    except ValidationError as exc:
        return Rejected(where, _shape_error(exc))
    try:
        message_id = message_id_of(shape.id, "id")
        date = _desktop_date(shape.date_unixtime, shape.date, rules, "date")
        if date is None:
            return Rejected(where, f"message {message_id} has no date")
        edited = _desktop_date(shape.edited_unixtime, shape.edited, rules, "edited")
        text = flatten_text(message.get("text"))
        if shape.poll is not None:
            text = _poll_text(shape.poll, text)
        reply_to = shape.reply_to_message_id
        return IncomingPost(
            channel=channel,
            message_id=message_id,
            date=date,
            text=checked_text(text),
            edit_date=edited,
            forwarded_from=_str_or_none(shape.forwarded_from, "forwarded_from"),
            media_kind=_desktop_media_kind(message),
            author=_str_or_none(shape.author, "author"),
            reply_to=reply_to if reply_to is not None and reply_to > 0 else None,
        )
    except ValueError as exc:
        return Rejected(where, str(exc))


def _desktop_date(
    unixtime: str | int | None, local: str | None, rules: _Rules, name: str
) -> datetime | None:
    """`date_unixtime` when it is a real time, else `date`: some exports write "0" there.

    The unix time wins because `date` is the exporting computer's local time, unmarked.
    """
    if unixtime not in (None, "", "0", 0):
        try:
            return rules.date(str(unixtime), f"{name}_unixtime")
        except ValueError:
            if not local:
                raise
    if local:
        return rules.date(local, name)
    return None


def _poll_text(poll: _Poll, text: str) -> str:
    lines = [poll.question or ""]
    lines += [f"• {answer.text}" for answer in poll.answers]
    return "\n".join(part for part in [text, *lines] if part)


def _desktop_media_kind(message: dict[str, Any]) -> str | None:
    for key, kind in DESKTOP_MEDIA_KEYS.items():
        if message.get(key):
            return kind
    media_type = message.get("media_type")
    if isinstance(media_type, str):
        return media_type.removesuffix("_file").removesuffix("_message") or media_type
    if message.get("file"):
        return "document"
    return None


def _same_album(
    previous: tuple[dict[str, Any], IncomingPost], current: tuple[dict[str, Any], IncomingPost]
) -> bool:
    """Album members share one date and sender, carry media and have close ids."""
    (_, a), (_, b) = previous, current
    return (
        a.date == b.date
        and a.media_kind is not None
        and b.media_kind is not None
        and previous[0].get("from_id") == current[0].get("from_id")
        and 0 < b.message_id - a.message_id <= ALBUM_MAX_ID_GAP
    )


def _merge_album(members: list[tuple[dict[str, Any], IncomingPost]]) -> IncomingPost:
    """One post for the album: the first member's id, every member's caption."""
    first = members[0][1]
    if len(members) == 1:
        return first
    texts = [post.text for _, post in members if post.text.strip()]
    edits = [post.edit_date for _, post in members if post.edit_date]
    return IncomingPost(
        channel=first.channel,
        message_id=first.message_id,
        date=first.date,
        text="\n\n".join(texts),
        edit_date=max(edits) if edits else None,
        forwarded_from=first.forwarded_from,
        media_kind="album",
        author=first.author,
        reply_to=first.reply_to,
    )
