"""Arbitrary and mutated input to every parser: only the project's own clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat.arguments import parse_time_of_day, split_span
from bot.digest.window import parse_span, resolve_window
from bot.errors import WirebriefError
from bot.ingest.imports import ImportItem, read_import_file

NOW = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
post_like = st.fixed_dictionaries(
    {},
    optional={
        "message_id": json_values | st.integers(-5, 10**12),
        "id": json_values,
        "sender_id": json_values | st.integers(-(10**13), 10**13),
        "username": json_values,
        "channel": json_values,
        "date": json_values | st.integers(-(10**12), 10**12) | st.just("2024-11-27T10:00:00Z"),
        "text": json_values,
        "views": json_values,
        "edit_date": json_values,
    },
)


def read(tmp_path: Path, name: str, content: str | bytes) -> list[ImportItem]:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return list(read_import_file(path))


@FAST
@given(st.lists(post_like, max_size=6))
def test_json_posts_of_any_shape_import_or_are_rejected_clearly(
    tmp_path_factory: object, records: list[object]
) -> None:
    folder = Path(str(tmp_path_factory.mktemp("h")))  # type: ignore[attr-defined]
    as_array = read(folder, "a.json", json.dumps(records))
    as_lines = read(folder, "b.jsonl", "\n".join(json.dumps(r) for r in records))
    for item in as_array + as_lines:
        reason = getattr(item, "reason", None)
        assert reason is None or (isinstance(reason, str) and reason)


@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_rejected_not_crashed_on(tmp_path_factory: object, data: bytes) -> None:
    folder = Path(str(tmp_path_factory.mktemp("b")))  # type: ignore[attr-defined]
    for item in read(folder, "x.json", data):
        assert getattr(item, "where", "")


@FAST
@given(
    st.lists(json_values, max_size=5), st.sampled_from(["public_channel", "personal_chat", None, 5])
)
def test_desktop_exports_with_mutated_messages(
    tmp_path_factory: object, messages: list[object], chat_type: object
) -> None:
    folder = Path(str(tmp_path_factory.mktemp("d")))  # type: ignore[attr-defined]
    export = {"name": "X", "type": chat_type, "id": 123, "messages": messages}
    read(folder, "result.json", json.dumps(export))
    read(folder, "account.json", json.dumps({"chats": {"list": [export, 7, None]}}))


@FAST
@given(st.text(max_size=30))
def test_spans_and_times_parse_or_raise_our_error(text: str) -> None:
    for call in (
        lambda: parse_span(text),
        lambda: resolve_window(NOW, text, None),
        lambda: resolve_window(NOW, None, text),
        lambda: parse_time_of_day(text),
    ):
        try:
            call()
        except WirebriefError as exc:
            assert str(exc)


@FAST
@given(st.lists(st.text(max_size=15), max_size=6))
def test_command_arguments_split_or_raise_our_error(args: list[str]) -> None:
    try:
        words, span = split_span(args)
    except WirebriefError:
        return
    assert span.total_seconds() > 0 and all(w.strip() for w in words)
