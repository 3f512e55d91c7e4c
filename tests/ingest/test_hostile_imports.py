"""Hostile and odd import files: one bad record never costs the good ones.

Every test writes real files, imports them into a real SQLite store (or through the real
`wirebrief` command) and checks what a user sees: the good records stored, the bad one
named by file and line, index or JSON path.
"""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest import imports
from bot.ingest.importer import import_paths
from bot.ingest.imports import Rejected, iter_json_array, read_import_file
from bot.models import MAX_POST_TEXT_CHARS, ChannelRef, IncomingPost
from bot.query import match_all_words
from bot.store import Store
from tests.cli_helpers import run

CHANNEL = -1001234567890


def post(n: int, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "message_id": n, "sender_id": CHANNEL, "channel": "Wire",
        "date": 1732700000 + n, "text": f"пост {n}",
    }  # fmt: skip
    record.update(extra)
    return record


def write_lines(path: Path, records: list[Any]) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records)
        + "\n",
        encoding="utf-8",
    )
    return path


def reasons(report_rejected: list[Rejected]) -> dict[str, str]:
    return {r.where: r.reason for r in report_rejected}


# ----- numbers and dates ----------------------------------------------------------------


async def test_huge_integers_and_far_dates_cost_only_their_own_line(
    store: Store, tmp_path: Path
) -> None:
    records: list[Any] = [post(n) for n in range(1, 1501)]
    records[99] = post(100, message_id=99999999999999999999999)
    records[199] = post(200, sender_id="-1001234567890123456789")
    records[299] = post(300, views=10**20)
    records[399] = post(400, date="9999-12-31T23:59:59-05:00")
    records[499] = post(500, date="0001-01-01T00:00:00+05:00")
    first = write_lines(tmp_path / "a.jsonl", records)
    second = write_lines(tmp_path / "b.jsonl", [post(n) for n in range(2001, 2011)])
    report = await import_paths(store, [first, second])
    assert report.counts.inserted == 1495 + 10
    rejected = reasons(report.rejected)
    assert set(rejected) == {f"{first}:{n}" for n in (100, 200, 300, 400, 500)}
    assert "message_id 99999999999999999999999 is too large" in rejected[f"{first}:100"]
    assert "sender_id" in rejected[f"{first}:200"] and "too large" in rejected[f"{first}:200"]
    assert "views" in rejected[f"{first}:300"]
    assert "'9999-12-31T23:59:59-05:00' is out of range" in rejected[f"{first}:400"]
    assert "out of range" in rejected[f"{first}:500"]
    assert await store.count_posts() == 1505


async def test_huge_integers_in_a_desktop_export_are_named_by_json_path(
    store: Store, tmp_path: Path
) -> None:
    messages = [
        {"id": n, "type": "message", "date_unixtime": str(1732700000 + n), "text": f"пост {n}"}
        for n in range(1, 11)
    ]
    messages[2]["reply_to_message_id"] = 10**25
    messages[5]["id"] = 10**19
    export = {"name": "Wire", "type": "public_channel", "id": 777000111, "messages": messages}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    huge_chat = {**export, "id": 10**30}
    account = tmp_path / "account.json"
    account.write_text(json.dumps({"chats": {"list": [huge_chat]}}), encoding="utf-8")
    report = await import_paths(store, [path, account])
    assert report.counts.inserted == 8
    rejected = reasons(report.rejected)
    assert "reply_to_message_id" in rejected[f"{path}: messages[2]"]
    assert "too large" in rejected[f"{path}: messages[5]"]
    assert "too large" in rejected[f"{account}: chats.list[0]"]


async def test_dates_no_telegram_post_can_have_are_rejected(store: Store, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    path = write_lines(
        tmp_path / "dates.jsonl",
        [
            post(1, date="2013-07-31T23:59:59Z"),
            post(2, date="2013-08-14T12:00:00Z"),
            post(3, date=(now + timedelta(days=2)).isoformat()),
            post(4, date=(now + timedelta(hours=2)).isoformat()),  # a skewed clock is fine
            post(5, date=0),
            post(6, edit_date="2099-01-01T00:00:00Z"),
        ],
    )
    report = await import_paths(store, [path])
    assert report.counts.inserted == 2
    rejected = reasons(report.rejected)
    assert "before Telegram existed" in rejected[f"{path}:1"]
    assert "in the future" in rejected[f"{path}:3"]
    assert "before Telegram existed" in rejected[f"{path}:5"]
    assert "edit_date" in rejected[f"{path}:6"] and "future" in rejected[f"{path}:6"]


async def test_a_stored_far_date_does_not_break_search_or_digest_in_any_zone(
    tmp_path: Path,
) -> None:
    from bot.store import open_store

    db = tmp_path / "far.db"
    store = await open_store(db)
    try:
        await store.upsert_posts(
            [
                IncomingPost(ChannelRef(username="far_future"), 1,
                             datetime(9999, 12, 31, 23, 0, tzinfo=UTC), "Кукурики далеко"),
                IncomingPost(ChannelRef(username="far_past"), 1,
                             datetime(1, 1, 1, 1, 0, tzinfo=UTC), "Козловичи давно"),
            ]
        )  # fmt: skip
    finally:
        await store.close()
    ahead = run("--db", str(db), "search", "Кукурики", env={"TIMEZONE": "Asia/Tokyo"})
    assert ahead.returncode == 0, ahead.stderr
    assert "https://t.me/far_future/1" in ahead.stdout and "9999-12-31 23:00" in ahead.stdout
    behind = run(
        "--db", str(db), "digest", "--query", "Козловичи", "--since", "1d",
        env={"TIMEZONE": "America/New_York"},
    )  # fmt: skip
    assert behind.returncode == 0, behind.stderr
    assert "The latest earlier post is from 01 Jan" in behind.stdout
    assert "https://t.me/far_past/1" in behind.stdout


# ----- Desktop export shapes --------------------------------------------------------------


def channel(chat_id: int, messages: Any, **extra: Any) -> dict[str, Any]:
    return {"name": f"Chat {chat_id}", "type": "public_channel", "id": chat_id,
            "messages": messages, **extra}  # fmt: skip


def message(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": n, "type": "message", "date_unixtime": str(1732700000 + n),
            "text": f"сообщение {n}", **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("export", "where", "says"),
    [
        (channel(5, [message(1, poll={"question": "?", "answers": ["да", "нет"]}), message(2)]),
         ": messages[0]", "poll.answers[0]"),
        (channel(5, [message(1, poll={"question": "?", "answers": 7}), message(2)]),
         ": messages[0]", "poll.answers"),
        (channel(5, [message(1, text=["a", 5]), message(2)]), ": messages[0]", "text"),
        (channel(5, [message(1, date_unixtime=["x"]), message(2)]), ": messages[0]", "date_unixtime"),
        (channel(5, 12), "", "messages"),
        ({**channel(5, [message(1)]), "type": ["public_channel"]}, "", "type"),
        ({"chats": {"list": 3}}, "", "chats.list"),
        ({"chats": {"list": []}, "left_chats": [1, 2]}, "", "left_chats"),
    ],
)  # fmt: skip
async def test_odd_desktop_export_shapes_are_named_by_file_and_json_path(
    store: Store, tmp_path: Path, export: dict[str, Any], where: str, says: str
) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(channel(6, [message(9)])), encoding="utf-8")
    report = await import_paths(store, [path, good])
    assert report.rejected, "an odd shape must be reported"
    first = report.rejected[0]
    assert first.where == f"{path}{where}" and says in first.reason, str(first)
    assert await store.search(match_all_words("сообщение 9"))  # the next file still imported


async def test_account_exports_with_odd_chat_lists_keep_their_good_chats(
    store: Store, tmp_path: Path
) -> None:
    export = {"chats": {"list": [channel(5, [message(1)]), 7, channel(6, "many")]},
              "left_chats": {"list": [channel(8, [message(3)])]}}  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    report = await import_paths(store, [path])
    assert report.counts.inserted == 2
    assert [r.where for r in report.rejected] == [
        f"{path}: chats.list[1]",
        f"{path}: chats.list[2]",
    ]


async def test_date_unixtime_zero_falls_back_to_the_date(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    msgs = [message(1, date_unixtime="0", date="2024-11-27T10:00:00"),
            message(2, date_unixtime="0")]  # fmt: skip
    path.write_text(json.dumps(channel(5, msgs)), encoding="utf-8")
    report = await import_paths(store, [path])
    assert report.counts.inserted == 1
    [stored] = await store.search(match_all_words("сообщение 1"))
    assert stored.date == datetime(2024, 11, 27, 10, 0, tzinfo=UTC)
    assert (
        "before Telegram existed" in report.rejected[0].reason
        or "no date" in report.rejected[0].reason
    )


async def test_negative_message_ids_follow_one_rule_in_exports_and_json(
    store: Store, tmp_path: Path
) -> None:
    export = tmp_path / "result.json"
    export.write_text(json.dumps(channel(5, [message(-3), message(4)])), encoding="utf-8")
    dump = write_lines(tmp_path / "d.jsonl", [post(-3), post(4)])
    report = await import_paths(store, [export, dump])
    assert report.counts.inserted == 2
    assert [r.reason for r in report.rejected] == [
        "id must be positive, got -3",
        "message_id must be positive, got -3",
    ]


# ----- reading files ------------------------------------------------------------------------


def test_wirebrief_export_of_a_long_post_imports_back(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    source = write_lines(
        tmp_path / "a.jsonl", [{**post(1), "username": "noel_reports", "text": "Минск. " * 2000}]
    )
    assert run("--db", str(db), "import", str(source)).returncode == 0
    exported = run("--db", str(db), "export")
    assert exported.returncode == 0 and len(exported.stdout.splitlines()[0]) > 4096
    again = tmp_path / "again.jsonl"
    again.write_text(exported.stdout, encoding="utf-8")
    result = run("--db", str(db), "import", str(again))
    assert result.returncode == 0, result.stderr
    assert "imported 0, updated 0 (0 edited), unchanged 1, rejected 0" in result.stdout


async def test_a_bad_byte_costs_its_line_not_the_rest(store: Store, tmp_path: Path) -> None:
    lines = [json.dumps(post(n), ensure_ascii=False).encode() for n in range(1, 10_001)]
    lines[4999] = lines[4999].replace("пост".encode(), b"\xff\xfe\xd0")
    path = tmp_path / "dump.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = await import_paths(store, [path])
    assert report.counts.inserted == 9999
    [bad] = report.rejected
    assert bad.where == f"{path}:5000" and "not UTF-8" in bad.reason


async def test_a_bad_byte_in_a_json_array_costs_its_record(store: Store, tmp_path: Path) -> None:
    body = json.dumps([post(n) for n in range(1, 101)], ensure_ascii=False).encode()
    body = body.replace('пост 50"'.encode(), b'\xff 50"', 1)
    path = tmp_path / "posts.json"
    path.write_bytes(body)
    report = await import_paths(store, [path])
    assert report.counts.inserted == 99
    assert [r.where for r in report.rejected] == [f"{path}[49]"]
    assert "not valid Unicode" in report.rejected[0].reason


async def test_a_named_pipe_in_a_folder_is_reported_not_opened(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    os.mkfifo(folder / "pipe.json")
    write_lines(folder / "posts.jsonl", [post(1), post(2)])
    report = await import_paths(store, [folder])  # opening the pipe would block forever
    assert report.counts.inserted == 2
    [pipe] = report.rejected
    assert pipe.where == str(folder / "pipe.json") and "named pipe" in pipe.reason


class CountingReader(io.RawIOBase):
    """A file that counts what has been read from it."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.inner.readinto(buffer)
        self.read_bytes += n
        return n


def test_a_json_array_is_read_element_by_element_not_whole() -> None:
    big = json.dumps([post(n, text="слово " * 500) for n in range(3000)]).encode()
    assert len(big) > 20 * imports.READ_CHUNK
    reader = CountingReader(big)
    elements = iter_json_array(reader, "big.json")  # type: ignore[arg-type]
    first = next(elements)
    assert first["message_id"] == 0
    assert reader.read_bytes <= 2 * imports.READ_CHUNK


json_leaf = (
    st.none() | st.booleans() | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)  # fmt: skip
json_value = st.recursive(
    json_leaf,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(json_value, max_size=8), st.integers(1, 40), st.booleans())
def test_streamed_arrays_equal_whole_ones_at_any_chunk_size(
    values: list[Any], chunk: int, indent: bool
) -> None:
    text = json.dumps(values, ensure_ascii=False, indent=2 if indent else None)
    original = imports.READ_CHUNK
    imports.READ_CHUNK = chunk
    try:
        streamed = list(iter_json_array(io.BytesIO(text.encode()), "x.json"))  # type: ignore[arg-type]
    finally:
        imports.READ_CHUNK = original
    assert streamed == json.loads(text)


def test_a_broken_array_names_its_line_after_yielding_what_came_before() -> None:
    text = '[\n {"a": 1},\n {"a": 2},\n {"a": 3 "b": 4}\n]'
    items = list(iter_json_array(io.BytesIO(text.encode()), "x.json"))  # type: ignore[arg-type]
    assert items[:2] == [{"a": 1}, {"a": 2}]
    assert isinstance(items[2], Rejected) and items[2].where == "x.json:4"


async def test_post_text_is_capped_and_the_summary_says_so(store: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "big.jsonl", [post(1, text="Минск " * 200_000), post(2)])
    report = await import_paths(store, [path])
    assert report.ok and report.counts.inserted == 2 and report.cut == 1
    assert f"1 post text(s) cut to {MAX_POST_TEXT_CHARS:,} characters" in report.summary()
    [stored] = await store.search(match_all_words("Минск"))
    assert len(stored.text) == MAX_POST_TEXT_CHARS and stored.text.endswith("[…]")


# ----- usernames --------------------------------------------------------------------------


async def test_usernames_that_could_become_markup_are_rejected(
    store: Store, tmp_path: Path
) -> None:
    path = write_lines(
        tmp_path / "u.jsonl",
        [
            post(1, username="x) [click me](javascript:alert(1)"),
            post(2, username='y"><img src=x onerror=alert(1)>'),
            post(3, username="@noel_reports"),
            post(4, username=42),
        ],
    )
    report = await import_paths(store, [path])
    assert report.counts.inserted == 1
    rejected = reasons(report.rejected)
    assert set(rejected) == {f"{path}:1", f"{path}:2", f"{path}:4"}
    assert "is not a channel username" in rejected[f"{path}:1"]
    [channel_row] = await store.channels()
    assert channel_row.username == "noel_reports"


def test_every_rejection_of_the_reader_names_a_place(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"message_id": 1}\n\xff\n[1]\n{"id": 2, "username": "ok_name", "date": 1732700000}\n'
    )
    items = list(read_import_file(path))
    assert [getattr(i, "where", "post") for i in items] == [
        f"{path}:1",
        f"{path}:2",
        f"{path}:3",
        "post",
    ]


# ----- Desktop exports are streamed too -------------------------------------------------


def test_a_desktop_export_is_read_message_by_message_not_whole(tmp_path: Path) -> None:
    export = channel(5, [message(n, text="слово " * 500) for n in range(1, 8001)])
    big = json.dumps(export, ensure_ascii=False, indent=1).encode()
    assert len(big) > 20 * imports.READ_CHUNK
    reader = CountingReader(big)
    rules = imports._Rules(datetime.now(UTC))
    items = imports._read_json_document(tmp_path / "result.json", reader, rules)  # type: ignore[arg-type]
    first = next(items)
    assert isinstance(first, IncomingPost) and first.message_id == 1
    assert reader.read_bytes <= 2 * imports.READ_CHUNK


desktop_messages = st.lists(
    st.fixed_dictionaries(
        {"id": st.integers(-2, 40), "type": st.sampled_from(["message", "service"])},
        optional={
            "date_unixtime": st.sampled_from(["1732700000", "0", "x", 5]),
            "date": st.sampled_from(["2024-11-27T10:00:00", "bad"]),
            "text": json_value,
            "photo": st.sampled_from(["a.jpg", ""]),
            "poll": json_value,
        },
    ),
    max_size=6,
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.fixed_dictionaries(
            {"name": st.text(max_size=5), "id": st.integers(1, 10**6),
             "type": st.sampled_from(["public_channel", "personal_chat", "private_channel"]),
             "messages": desktop_messages}
        ),
        max_size=3,
    ),
    st.integers(1, 50),
    st.booleans(),
)  # fmt: skip
def test_streamed_exports_read_the_same_at_any_chunk_size(
    tmp_path_factory: pytest.TempPathFactory, chats: list[Any], chunk: int, account: bool
) -> None:
    folder = tmp_path_factory.mktemp("x")
    path = folder / "result.json"
    document: Any = (
        {"about": "x", "chats": {"about": "y", "list": chats}}
        if account
        else (
            chats[0] if chats else {"name": "n", "type": "public_channel", "id": 1, "messages": []}
        )
    )
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    whole = list(read_import_file(path))
    original = imports.READ_CHUNK
    imports.READ_CHUNK = chunk
    try:
        streamed = list(read_import_file(path))
    finally:
        imports.READ_CHUNK = original
    assert streamed == whole
    # …and the same as reading the whole document first and walking the dict.
    rules = imports._Rules(datetime.now(UTC))
    reader = imports._desktop_account if account else imports.desktop_chat_posts
    assert whole == list(reader(document, str(path), rules))
