"""The CLI as a new user meets it: no silent new databases, no merged channels, no tracebacks,
dates and words that mean what they say. Every test runs the real `wirebrief` process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.digest.topics import default_topics_path
from tests.cli_helpers import run


def write_posts(path: Path, posts: list[dict[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8"
    )
    return path


def one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], result.stderr


GEORGIA = [
    {"id": 1, "username": "geo_news", "date": "2024-12-04T09:00:00Z",
     "text": "**~~Протесты~~** в Грузии продолжаются третью ночь"},
    {"id": 2, "username": "geo_news", "date": "2024-12-04T21:00:00Z",
     "text": "Премьер Грузии заявил о переговорах. [👉 Подписаться](https://t.me/geo_news)"},
    {"id": 3, "username": "geo_news", "date": "2024-12-01T10:00:00Z",
     "text": "Грузия: оппозиция объявила марш"},
    {"id": 4, "username": "cargo_ua", "date": "2024-12-04T10:00:00Z",
     "text": "Польща пропустила 300 вантажівок, грузовое движение восстановлено"},
]  # fmt: skip


def test_read_only_commands_never_create_a_database(tmp_path: Path) -> None:
    typo = tmp_path / "dta" / "wirebrief.db"  # the folder does not exist
    for args in (
        ("digest", "belarus"), ("search", "Минск"), ("export",), ("sources",),
        ("digest", "--all"),
    ):  # fmt: skip
        result = run("--db", str(typo), *args)
        one_line_error(result, 2, f"no database at {typo}")
        assert not typo.parent.exists(), args
    health = run("--db", str(typo), "health")
    assert health.returncode == 1 and "unhealthy: no database" in health.stdout
    assert not typo.parent.exists()
    # Positive control: an import creates it, and then the same commands work.
    posts = write_posts(tmp_path / "p.jsonl", GEORGIA)
    assert run("--db", str(typo), "import", str(posts)).returncode == 0
    assert run("--db", str(typo), "search", "Грузии").returncode == 0


def test_a_folder_as_the_database_is_one_line_for_every_command(tmp_path: Path) -> None:
    for args in (("digest", "belarus"), ("import", str(tmp_path)), ("search", "x"), ("run",)):
        result = run("--db", str(tmp_path), *args, env={"BOT_TOKEN": "1:x"})
        one_line_error(result, 2, "is a folder, not a database file")


def test_db_after_the_command_and_a_span_that_is_too_long(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    run("import", str(write_posts(tmp_path / "p.jsonl", GEORGIA)), "--db", str(db))
    after = run("search", "Грузия", "--db", str(db))
    assert after.returncode == 0 and "geo_news" in after.stdout, after.stderr
    assert after.stdout == run("--db", str(db), "search", "Грузия").stdout
    one_line_error(
        run("digest", "--all", "--since", "99999d", "--db", str(db)), 2, "at most a year (366d)"
    )
    one_line_error(run("digest", "--all", "--since=-5h", "--db", str(db)), 2, "longer than zero")
    one_line_error(run("digest", "", "--db", str(db)), 2, "give a topic")


def test_search_finds_every_inflected_form_shows_plain_text_and_names_an_earlier_match(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "w.db")
    run("--db", db, "import", str(write_posts(tmp_path / "p.jsonl", GEORGIA)))
    found = run("--db", db, "search", "Грузия")
    assert found.returncode == 0, found.stderr
    # Грузия finds Грузии too, and not the freight (груз-) post.
    assert found.stdout.count("https://t.me/geo_news/") == 3
    assert "cargo_ua" not in found.stdout
    assert "Протесты в Грузии продолжаются" in found.stdout  # no ** or ~~
    assert "**" not in found.stdout and "[👉" not in found.stdout and "](" not in found.stdout
    assert "Премьер Грузии заявил о переговорах. Подписаться" in found.stdout
    exact_plural = run("--db", db, "search", "Грузии")
    assert exact_plural.stdout.count("https://t.me/geo_news/") == 3
    earlier = run("--db", db, "search", "оппозиция", "--since", "2024-12-02")
    assert "No post since then matches; the latest earlier one:" in earlier.stdout
    assert "https://t.me/geo_news/3" in earlier.stdout
    query = run(
        "--db", db, "digest", "--query", "Грузия", "--since", "2024-12-04", "--until",
        "2024-12-04", "--format", "json",
    )  # fmt: skip
    data = json.loads(query.stdout)
    # A date-only --until includes that day: both posts of 4 Dec, 09:00 and 21:00.
    assert data["posts_considered"] == 2, data
    exported = run("--db", db, "export", "--since", "2024-12-04", "--until", "2024-12-04")
    assert len(exported.stdout.splitlines()) == 3  # the 4th's three posts, all day


def test_username_over_several_channels_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    for peer in (1101170442, 1309123456):
        write_posts(folder / f"{peer}.jsonl", [
            {"id": n, "channel_id": peer, "date": 1732700000 + n, "text": f"пост {n} {peer}"}
            for n in range(1, 4)
        ])  # fmt: skip
    db = tmp_path / "w.db"
    refused = run("--db", str(db), "import", str(folder), "--username", "rian_ru")
    one_line_error(refused, 2, "--username @rian_ru names one channel, but the input holds several")
    assert not db.exists()
    # Positive control: one export with its username is imported under that name.
    one = run("--db", str(db), "import", str(folder / "1101170442.jsonl"), "--username", "rian_ru")
    assert one.returncode == 0 and "imported 3," in one.stdout, one.stderr
    exported = run("--db", str(db), "export")
    assert {json.loads(line)["username"] for line in exported.stdout.splitlines()} == {"rian_ru"}


def test_export_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    posts = [
        {"id": n, "username": "noel_reports", "date": 1732700000 + n, "text": "слово " * 60}
        for n in range(1, 1500)
    ]  # about 700 KB of JSON Lines: far more than a pipe holds
    run("--db", str(db), "import", str(write_posts(tmp_path / "p.jsonl", posts)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(db), "export"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert json.loads(first)["message_id"] == 1
    assert err == ""


def test_backup_to_a_missing_folder_written_as_a_folder(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    run("--db", str(db), "import", str(write_posts(tmp_path / "p.jsonl", GEORGIA)))
    result = run("--db", str(db), "backup", f"{tmp_path}/backups/daily/")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "backups" / "daily"
    [copy] = folder.iterdir()  # a folder holding a time-stamped file, not a file "daily"
    assert copy.name.startswith("wirebrief-") and copy.suffix == ".db"
    assert f"to {copy}" in result.stdout


def test_topics_file_extends_the_shipped_topics(tmp_path: Path) -> None:
    own = tmp_path / "topics.toml"
    own.write_text(
        '[[topic]]\nname = "georgia"\ntitle = "Georgia"\nterms = ["Грузи*", "Tbilisi"]\n\n'
        '[[topic]]\nname = "belarus"\ntitle = "Belarus (ours)"\nterms = ["Минск*"]\n',
        encoding="utf-8",
    )
    listed = run("topics", env={"TOPICS_FILE": str(own)}).stdout
    assert "/georgia  Georgia" in listed and "/border  " in listed  # both kinds
    assert "/belarus  Belarus (ours)" in listed and "Лукашенк*" not in listed  # overridden
    own.write_text("include_shipped = false\n" + own.read_text(encoding="utf-8"), encoding="utf-8")
    only = run("topics", env={"TOPICS_FILE": str(own)}).stdout
    assert "/georgia" in only and "/border" not in only
    dump = run("topics", "--dump")
    assert dump.returncode == 0
    assert dump.stdout == default_topics_path().read_text(encoding="utf-8")


def test_sources_lists_the_stored_channels_and_how_they_arrive(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    run("--db", db, "import", str(write_posts(tmp_path / "p.jsonl", GEORGIA)))
    result = run("--db", db, "sources")
    assert result.returncode == 0, result.stderr
    assert "No polled sources." in result.stdout
    assert "Stored channels (2):" in result.stdout
    assert "@geo_news (@geo_news): 3 posts, 01 Dec 2024 – 04 Dec 2024; import" in result.stdout
