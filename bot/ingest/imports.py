"""Reading history files: Telegram Desktop exports and JSON / JSON Lines dumps of posts.

The format is detected from the content, not the file name. Every record that cannot be
read becomes a `Rejected` naming the file and the line or index; the rest still comes
through. Reading is streamed for JSON Lines, so large dumps do not sit in memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    """Expand folders into the JSON files inside them (recursively), in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMPORT_SUFFIXES))
        elif path.exists():
            files.append(path)
        else:
            raise ImportFormatError(f"{path}: no such file or folder")
    return files


def read_import_file(path: Path) -> Iterator[ImportItem]:
    """Posts, rejections and skipped chats of one file, in file order."""
    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            head = handle.read(4096)
            handle.seek(0)
            first = head.lstrip()[:1]
            if first == "[":
                yield from _read_json_document(path, handle.read())
            elif first == "{":
                if _is_json_lines(head):
                    yield from _read_json_lines(path, handle)
                else:
                    yield from _read_json_document(path, handle.read())
            elif not first:
                yield Rejected(str(path), "the file is empty")
            else:
                yield Rejected(str(path), "not JSON: expected a Telegram export or JSON posts")
    except UnicodeDecodeError as exc:
        yield Rejected(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        yield Rejected(str(path), f"cannot read: {exc.strerror or exc}")


def _is_json_lines(head: str) -> bool:
    """JSON Lines when the first line alone is a complete JSON object that is not an export."""
    first_line = head.lstrip().split("\n", 1)[0].strip()
    try:
        first = json.loads(first_line)
    except json.JSONDecodeError:
        return False
    return isinstance(first, dict) and "messages" not in first and "chats" not in first


def _read_json_lines(path: Path, handle: Iterable[str]) -> Iterator[ImportItem]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Rejected(where, f"not JSON ({exc.msg})")
            continue
        except RecursionError:
            yield Rejected(where, "JSON nested too deeply to be a post")
            continue
        yield _plain_post(record, where)


def _read_json_document(path: Path, text: str) -> Iterator[ImportItem]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Rejected(f"{path}:{exc.lineno}", f"not valid JSON ({exc.msg})")
        return
    except RecursionError:
        yield Rejected(str(path), "JSON nested too deeply to be a post or an export")
        return
    if isinstance(data, list):
        for index, record in enumerate(data):
            yield _plain_post(record, f"{path}[{index}]")
    elif isinstance(data, dict) and isinstance(data.get("messages"), list):
        yield from desktop_chat_posts(data, str(path))
    elif isinstance(data, dict) and isinstance(data.get("chats"), dict):
        yield from _desktop_account(data, str(path))
    elif isinstance(data, dict) and ("message_id" in data or "id" in data):
        yield _plain_post(data, f"{path}[0]")
    else:
        yield Rejected(
            str(path),
            "unknown JSON layout: expected a Telegram Desktop export (messages or chats) "
            "or a list of posts",
        )


# ----- plain JSON posts ---------------------------------------------------------------


def _plain_post(record: Any, where: str) -> IncomingPost | Rejected:
    """One record of a JSON dump: message_id|id, sender_id|channel_id, channel|title, date."""
    if not isinstance(record, dict):
        return Rejected(where, f"expected an object, got {type(record).__name__}")
    try:
        message_id = _int_field(record, ("message_id", "id"))
        if message_id is None:
            return Rejected(where, "no message_id or id")
        if record.get("date") in (None, ""):
            return Rejected(where, "no date")
        date = parse_date(record["date"])
        raw_channel = record.get("sender_id", record.get("channel_id"))
        peer_id = bare_peer_id(_as_int(raw_channel, "sender_id")) if raw_channel else None
        username = record.get("username") or None
        if isinstance(username, str):
            username = username.lstrip("@") or None
        title = record.get("channel") or record.get("title") or None
        if peer_id is None and not username:
            return Rejected(where, "no channel: give sender_id, channel_id or username")
        edit_date = record.get("edit_date")
        return IncomingPost(
            channel=ChannelRef(peer_id=peer_id, username=username, title=_str_or_none(title)),
            message_id=message_id,
            date=date,
            text=flatten_text(record.get("text")),
            views=_int_field(record, ("views",)),
            edit_date=parse_date(edit_date) if edit_date else None,
            forwarded_from=_str_or_none(record.get("forwarded_from")),
            media_kind=_str_or_none(record.get("media_kind")),
        )
    except (ValueError, TypeError) as exc:
        return Rejected(where, str(exc))


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,19}", value.strip()):
        return int(value)
    if isinstance(value, str) and value.startswith("channel") and value[7:].isdigit():
        return int(value[7:])
    raise ValueError(f"{name} must be a number, got {str(value)[:30]!r}")


def _int_field(record: dict[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        if record.get(name) is not None:
            value = _as_int(record[name], name)
            if name != "views" and value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
            return value
    return None


def parse_date(value: Any) -> datetime:
    """ISO 8601 (naive means UTC) or unix seconds, as a number or a string of digits."""
    if isinstance(value, bool):
        raise ValueError(f"date must be a time, got {value!r}")
    if isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\d{9,11}(\.\d+)?", value.strip())
    ):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"date {value!r} is out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"date {value[:40]!r} is not ISO 8601 or unix time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    raise ValueError(f"date must be a string or a number, got {type(value).__name__}")


def flatten_text(value: Any) -> str:
    """Text as a string, or a Desktop export's list of strings and entity objects."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    raise ValueError(f"text must be a string or a list, got {type(value).__name__}")


# ----- Telegram Desktop exports -------------------------------------------------------


def _desktop_account(data: dict[str, Any], where: str) -> Iterator[ImportItem]:
    """A whole-account export: every channel in chats.list (and left_chats.list)."""
    for section in ("chats", "left_chats"):
        chats = (data.get(section) or {}).get("list") or []
        for index, chat in enumerate(chats):
            if isinstance(chat, dict):
                yield from desktop_chat_posts(chat, f"{where}: {section}.list[{index}]")
            else:
                yield Rejected(f"{where}: {section}.list[{index}]", "expected a chat object")


def desktop_chat_posts(chat: dict[str, Any], where: str) -> Iterator[ImportItem]:
    """Posts of one exported chat; only channels are imported (private chats never are)."""
    chat_type = chat.get("type")
    name = chat.get("name") or "unnamed chat"
    if chat_type not in CHANNEL_CHAT_TYPES:
        yield Skipped(where, f"{name!r} is a {chat_type or 'chat'}, not a channel")
        return
    try:
        peer_id = _as_int(chat.get("id"), "id")
    except ValueError as exc:
        yield Rejected(where, f"chat {name!r}: {exc}")
        return
    channel = ChannelRef(peer_id=bare_peer_id(peer_id), title=str(name))
    pending: list[tuple[dict[str, Any], IncomingPost]] = []
    for index, message in enumerate(chat.get("messages") or []):
        item = _desktop_message(message, channel, f"{where}: messages[{index}]")
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
    message: Any, channel: ChannelRef, where: str
) -> IncomingPost | Rejected | None:
    if not isinstance(message, dict):
        return Rejected(where, "expected a message object")
    if message.get("type") != "message":
        return None  # service messages: joins, pins, title changes
    try:
        message_id = _as_int(message.get("id"), "id")
        if message.get("date_unixtime"):
            date = parse_date(str(message["date_unixtime"]))
        elif message.get("date"):
            date = parse_date(message["date"])
        else:
            return Rejected(where, f"message {message_id} has no date")
        edited = message.get("edited_unixtime") or message.get("edited")
        text = flatten_text(message.get("text"))
        poll = message.get("poll")
        if isinstance(poll, dict):
            text = _poll_text(poll, text)
        return IncomingPost(
            channel=channel,
            message_id=message_id,
            date=date,
            text=text,
            edit_date=parse_date(str(edited)) if edited else None,
            forwarded_from=_str_or_none(message.get("forwarded_from")),
            media_kind=_desktop_media_kind(message),
            author=_str_or_none(message.get("author")),
            reply_to=message.get("reply_to_message_id")
            if isinstance(message.get("reply_to_message_id"), int)
            else None,
        )
    except ValueError as exc:
        return Rejected(where, str(exc))


def _poll_text(poll: dict[str, Any], text: str) -> str:
    lines = [str(poll.get("question") or "")]
    lines += [f"• {answer.get('text', '')}" for answer in poll.get("answers") or []]
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
