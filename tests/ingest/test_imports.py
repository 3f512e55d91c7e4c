"""Imports read both formats, report bad records with their place, and are idempotent."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest.importer import import_paths
from bot.ingest.imports import Rejected, Skipped, read_import_file
from bot.models import ChannelRef, IncomingPost
from bot.query import match_all_words
from bot.store import Store
from tests.conftest import CORPUS_CHANNELS, CORPUS_POSTS


async def test_corpus_folder_imports_every_post_once(store: Store, corpus_dir: Path) -> None:
    report = await import_paths(store, [corpus_dir])
    assert report.ok and report.files == 19
    assert report.counts.inserted == CORPUS_POSTS
    assert await store.count_posts() == CORPUS_POSTS
    assert len(await store.channels()) == CORPUS_CHANNELS
    again = await import_paths(store, [corpus_dir])
    assert (again.counts.inserted, again.counts.updated) == (0, 0)
    assert again.counts.unchanged == CORPUS_POSTS
    ria = next(c for c in await store.channels() if c.title == "РИА Новости")
    assert ria.peer_id == 1101170442  # sender_id -1001101170442 without the -100 prefix


def test_desktop_export_merges_the_album_and_flattens_entities(tme_dir: Path) -> None:
    items = list(read_import_file(tme_dir / "desktop_export_public_channel.json"))
    posts = [i for i in items if isinstance(i, IncomingPost)]
    assert not [i for i in items if isinstance(i, Rejected)]
    album = [p for p in posts if p.message_id == 3858]
    assert len(album) == 1 and album[0].media_kind == "album"
    assert not [p for p in posts if 3859 <= p.message_id <= 3863]  # album members folded in
    assert album[0].text.startswith("Очень странные дела (S1 E1-5)")
    assert "ТВИЧ" in album[0].text  # text_link entity text kept
    assert album[0].channel.peer_id == 2447843635
    assert album[0].date == datetime.fromtimestamp(1781868410, UTC)  # date_unixtime, not local
    assert album[0].edit_date is not None


def test_account_export_imports_channels_and_skips_private_chats(tmp_path: Path) -> None:
    export = {
        "chats": {
            "list": [
                {"name": "Мама", "type": "personal_chat", "id": 42, "messages": [
                    {"id": 1, "type": "message", "date_unixtime": "1732700000", "text": "секрет"}
                ]},
                {"name": "Wire", "type": "public_channel", "id": 777000111, "messages": [
                    {"id": 5, "type": "service", "date_unixtime": "1732700000", "action": "pin_message"},
                    {"id": 6, "type": "message", "date_unixtime": "1732700100",
                     "text": ["Лукашенко ", {"type": "bold", "text": "прибыл"}, " в Минск"]},
                    {"id": 7, "type": "message", "text": "без даты"},
                ]},
            ]
        }
    }  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    items = list(read_import_file(path))
    posts = [i for i in items if isinstance(i, IncomingPost)]
    assert [(p.message_id, p.text) for p in posts] == [(6, "Лукашенко прибыл в Минск")]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert len(skipped) == 1 and "personal_chat" in skipped[0].reason
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(rejected) == 1
    assert "chats.list[1]" in rejected[0].where and "messages[2]" in rejected[0].where
    assert "no date" in rejected[0].reason


async def test_bad_json_lines_are_reported_by_line_and_the_rest_imported(
    store: Store, tmp_path: Path
) -> None:
    lines = [
        {"message_id": 1, "sender_id": -1001234567890, "channel": "A", "date": 1732700000, "text": "раз"},
        "this is not json",
        {"message_id": 2, "sender_id": -1001234567890, "channel": "A", "text": "без даты"},
        {"sender_id": -1001234567890, "date": "2024-11-27T10:00:00Z", "text": "без id"},
        {"id": 3, "username": "uniannet", "date": "2024-11-27T10:00:00+02:00", "text": "два"},
        {"message_id": 4, "channel": "no id at all", "date": 1732700000, "text": "x"},
        {"message_id": 5, "sender_id": -1001234567890, "date": "27/11/2024", "text": "x"},
    ]  # fmt: skip
    path = tmp_path / "dump.jsonl"
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines),
        encoding="utf-8",
    )
    report = await import_paths(store, [path])
    assert report.counts.inserted == 2
    where = {r.where.rsplit(":", 1)[1]: r.reason for r in report.rejected}
    assert set(where) == {"2", "3", "4", "6", "7"}
    assert "not JSON" in where["2"] and "no date" in where["3"]
    assert "no message_id" in where["4"] and "channel" in where["6"]
    assert "ISO 8601" in where["7"]
    two = (await store.search(match_all_words("два")))[0]
    assert two.date == datetime(2024, 11, 27, 8, 0, tzinfo=UTC)  # offset converted to UTC
    assert two.url == "https://t.me/uniannet/3"


async def test_malformed_json_array_names_the_file_and_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"message_id": 1,\n  "date": 17\n', encoding="utf-8")
    report = await import_paths(store, [path])
    assert not report.ok and report.counts.inserted == 0
    assert report.rejected[0].where.startswith(str(path))
    assert "not valid JSON" in report.rejected[0].reason


async def test_records_in_an_array_are_reported_by_index(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "posts.json"
    records = [
        {"id": 1, "channel_id": 555, "date": "2024-11-27T10:00:00Z", "text": "ok"},
        {"id": "x", "channel_id": 555, "date": "2024-11-27T10:00:00Z", "text": "bad id"},
        ["not", "an", "object"],
    ]
    path.write_text(json.dumps(records), encoding="utf-8")
    report = await import_paths(store, [path])
    assert report.counts.inserted == 1
    assert [r.where for r in report.rejected] == [f"{path}[1]", f"{path}[2]"]


async def test_an_edit_in_a_later_export_is_kept(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    record = {
        "message_id": 9,
        "username": "noel_reports",
        "date": 1732700000,
        "text": "Взрывы в Минске",
    }
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    await import_paths(store, [path])
    record["text"] = "Взрывы в Минске: версия уточнена"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    report = await import_paths(store, [path])
    assert report.counts.edited == 1
    post = (await store.search(match_all_words("взрывы")))[0]
    assert await store.previous_texts([post.id]) == {post.id: ["Взрывы в Минске"]}


async def test_unknown_files_and_missing_paths_give_clear_errors(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "notes.json").write_text("hello", encoding="utf-8")
    report = await import_paths(store, [tmp_path / "notes.json"])
    assert "not JSON" in report.rejected[0].reason
    from bot.errors import ImportFormatError

    with pytest.raises(ImportFormatError, match="no such file"):
        await import_paths(store, [tmp_path / "missing.json"])


async def test_folders_are_searched_recursively(
    store: Store, corpus_dir: Path, tmp_path: Path
) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    shutil.copy(corpus_dir / "1001101170442_messages.json", nested)
    report = await import_paths(store, [tmp_path / "a"])
    assert report.files == 1 and report.counts.inserted == 1000


async def test_username_option_joins_an_export_to_its_web_preview_channel(
    store: Store, tme_dir: Path
) -> None:
    await store.upsert_posts(
        [IncomingPost(ChannelRef(username="guzel_reuploads"), 1, datetime.now(UTC), "web post")]
    )
    report = await import_paths(
        store, [tme_dir / "desktop_export_public_channel.json"], username="guzel_reuploads"
    )
    assert report.ok
    [channel] = await store.channels()
    assert (channel.peer_id, channel.username) == (2447843635, "guzel_reuploads")
