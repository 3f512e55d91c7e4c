"""The `wirebrief` command as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import run
from tests.conftest import CORPUS_POSTS


def test_demo_prints_a_cited_belarus_digest_without_network(tmp_path: Path) -> None:
    result = run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Belarus: ")
    assert "1. " in out and "6 channels" in out
    assert "https://t.me/demo_" in out
    assert "Sources: " in out
    assert not (tmp_path / "data").exists()  # the demo uses a temporary database


def test_import_then_digest_json_on_the_corpus(tmp_path: Path, corpus_dir: Path) -> None:
    db = tmp_path / "w.db"
    imported = run("--db", str(db), "import", str(corpus_dir))
    assert imported.returncode == 0, imported.stderr
    assert f"imported {CORPUS_POSTS}," in imported.stdout and "rejected 0" in imported.stdout
    digest = run(
        "--db", str(db), "digest", "belarus", "--since", "2024-11-26", "--until", "2024-12-05",
        "--format", "json",
    )  # fmt: skip
    assert digest.returncode == 0, digest.stderr
    data = json.loads(digest.stdout)
    assert data["items"] and data["topic"] == "belarus"
    search = run("--db", str(db), "search", "Орешник", "Лукашенко")
    assert "https://t.me/c/1101170442/270917" in search.stdout


def test_import_exit_status_is_nonzero_when_a_record_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(
        '{"id": 1, "username": "uniannet", "date": 1732700000, "text": "ok"}\n{broken\n',
        encoding="utf-8",
    )
    result = run("--db", str(tmp_path / "w.db"), "import", str(path))
    assert result.returncode == 1
    assert f"rejected: {path}:2: not JSON" in result.stderr
    assert "imported 1," in result.stdout and "rejected 1" in result.stdout


def test_export_writes_json_lines_that_import_back_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "a.jsonl"
    source.write_text(
        json.dumps({"id": 7, "username": "noel_reports", "channel": "Noel", "date": 1732700000,
                    "text": "Минск\nвторая строка", "views": 1200}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    db = tmp_path / "w.db"
    run("--db", str(db), "import", str(source))
    exported = run("--db", str(db), "export", "--channel", "@noel_reports")
    record = json.loads(exported.stdout)
    assert record["url"] == "https://t.me/noel_reports/7" and record["views"] == 1200
    assert record["text"] == "Минск\nвторая строка" and record["edited"] is False
    (tmp_path / "b.jsonl").write_text(exported.stdout, encoding="utf-8")
    again = run("--db", str(db), "import", str(tmp_path / "b.jsonl"))
    assert "imported 0, updated 0 (0 edited), unchanged 1" in again.stdout


def test_a_wrong_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = run("topics", env={"DIGEST_TIME": "25:00", "TIMEZONE": "Mars/Olympus"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "DIGEST_TIME: expected HH:MM" in lines[0] and "TIMEZONE:" in lines[0]


def test_unknown_topic_and_bad_span_are_clear_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    unknown = run("--db", db, "digest", "atlantis")
    assert unknown.returncode == 2 and "no topic 'atlantis'" in unknown.stderr
    bad = run("--db", db, "digest", "belarus", "--since", "yesterday")
    assert bad.returncode == 2 and "neither a span" in bad.stderr


@pytest.mark.slow
def test_killing_an_import_leaves_a_consistent_database_and_rerun_completes(
    tmp_path: Path, corpus_dir: Path
) -> None:
    db = tmp_path / "w.db"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_PATH"}
    for attempt in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--db", str(db), "import", "--quiet", str(corpus_dir)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.8 + 0.2 * attempt)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        # Raises if the full-text index disagrees with the posts table.
        conn.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM posts GROUP BY channel_id, message_id HAVING count(*) > 1)"
        ).fetchone()[0]
        conn.close()
        assert dupes == 0
        if 0 < count < CORPUS_POSTS:
            break
    else:
        pytest.fail("could not kill the import midway in 5 attempts")
    finished = run("--db", str(db), "import", "--quiet", str(corpus_dir))
    assert finished.returncode == 0
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == CORPUS_POSTS
    conn.close()


def test_odd_input_gets_one_line_not_a_traceback(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000, encoding="utf-8")
    bad_topics = tmp_path / "topics.toml"
    bad_topics.write_bytes(b"\xff\xfe[[topic]]")
    cases = [
        (
            ("--db", db, "digest", "belarus", "--since", "0001-01-01T00:00+01:00"),
            {},
            "too far in the past",
        ),
        (
            ("--db", db, "search", "x", "--limit", "999999999999999999999"),
            {},
            "must be from 1 to 1000",
        ),
        (("--db", db, "import", str(deep)), {}, "nested too deeply"),
        (("topics",), {"TOPICS_FILE": str(bad_topics)}, "is not UTF-8 text"),
        (("--db", db, "import", "--username", "a b", str(deep)), {}, "--username: 'a b'"),
        (("--db", str(tmp_path), "topics"), {}, ""),  # a folder as the database: topics needs none
    ]
    for args, env, expected in cases:
        result = run(*args, env=env)
        assert "Traceback" not in result.stderr, (args, result.stderr[-500:])
        assert expected in result.stderr, (args, result.stderr)
    searched = run("--db", db, "search", "Минск", "--since", "2020-01-01")
    assert searched.returncode == 0 and "at most a year" not in searched.stderr


def test_digest_brief_prints_the_sections_with_only_stored_links(corpus_db: Path) -> None:
    brief = run(
        "--db", str(corpus_db), "digest", "belarus", "--since", "2024-11-26", "--until",
        "2024-12-05", "--brief",
    )  # fmt: skip
    assert brief.returncode == 0, brief.stderr
    out = brief.stdout
    assert out.startswith("Belarus brief: 26 Nov 2024 00:00 – 06 Dec 2024 00:00 (UTC)\n\n")
    for section in ("Confirmed by several channels", "Claimed by one channel", "Sources"):
        assert f"\n{section}\n" in out
    conn = sqlite3.connect(corpus_db)
    stored = {
        f"https://t.me/c/{peer}/{message}"
        for peer, message in conn.execute(
            "SELECT c.peer_id, p.message_id FROM posts p JOIN channels c ON c.id = p.channel_id"
        )
    }
    conn.close()
    links = {line.split()[1] for line in out.splitlines() if line.startswith("  [")}
    assert links and links <= stored
    as_json = run(
        "--db", str(corpus_db), "digest", "belarus", "--since", "2024-11-26", "--until",
        "2024-12-05", "--brief", "--format", "json",
    )  # fmt: skip
    data = json.loads(as_json.stdout)
    assert {r["url"] for r in data["references"]} == links
    assert data["confirmed"] and data["claimed"]
