"""Case 7: peak memory against hostile input, each ≤ 200 MB.

- `wirebrief ingest --once` against a local t.me that serves a 100 MB page (no
  Content-Length) and one whose 1 MB gzip body inflates to 1 GB, beside a normal page as the
  baseline (the server is the tests' `HostileTme`, run on a thread of this process);
- `wirebrief import` of a 200 MB JSON array and of a 200 MB Telegram Desktop export (both
  streamed), against the same posts as JSON Lines (read line by line) and against what
  loading the array whole costs (`json.load`).

Each command runs as its own process and reports its own VmHWM as it exits (the
`_MEASURED_MAIN` of case 6), so the figure is the process's peak resident memory.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.case_memory import _MEASURED_MAIN, _env
from bench.common import Context, Row, remove_db
from bench.data import REPO, load_corpus

TARGET_MB = 200
MB = 1024 * 1024


@contextmanager
def hostile_server(huge: int, bomb: int) -> Iterator[str]:
    """The misbehaving t.me on a thread with its own event loop; yields its origin."""
    sys.path.insert(0, str(REPO))
    from tests.fakes.hostile_tme import HostileTme, gzip_bomb

    gzip_bomb(bomb)  # built before any measurement
    ready = threading.Event()
    stopping: dict[str, Any] = {}

    async def serve() -> None:
        server = HostileTme()
        server.huge_bytes, server.bomb_bytes = huge, bomb
        server.misbehave("huge_page", "huge")
        server.misbehave("gzip_bomb", "bomb")
        server.channel("normal_page", posts=20)
        stop = asyncio.Event()
        stopping["stop"], stopping["loop"] = stop, asyncio.get_running_loop()
        async with server:
            stopping["origin"] = server.origin
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    if not ready.wait(30):
        raise SystemExit("bench: the hostile t.me did not start")
    try:
        yield str(stopping["origin"])
    finally:
        stopping["loop"].call_soon_threadsafe(stopping["stop"].set)
        thread.join(30)


def measured(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """`wirebrief ARGS` in its own process: exit code, seconds, peak RSS, last output line."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURED_MAIN, *args],
        env=env, cwd=str(cwd), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if "VmHWM_KB=" not in proc.stderr:
        raise SystemExit(f"bench: wirebrief {' '.join(args)} failed: {proc.stderr[-1500:]}")
    hwm = int(proc.stderr.rsplit("VmHWM_KB=", 1)[1].split()[0])
    lines = proc.stdout.strip().splitlines()
    return {
        "command": " ".join(["wirebrief", *args]),
        "exit": proc.returncode,
        "seconds": round(time.perf_counter() - start, 2),
        "vm_hwm_kb": hwm,
        "output": lines[-1] if lines else "",
    }


def ingest_peaks(out: Path, huge: int, bomb: int) -> dict[str, dict[str, Any]]:
    peaks = {}
    with hostile_server(huge, bomb) as origin:
        for name in ("normal_page", "huge_page", "gzip_bomb"):
            db = out / f"hostile-{name}.db"
            remove_db(db)
            env = _env(db, SOURCES=name, TME_URL=origin, BACKFILL_POSTS="20")
            peaks[name] = measured(["ingest", "--once"], env, out)
            remove_db(db)
    return peaks


def big_array(out: Path, size: int) -> tuple[Path, Path, int]:
    """A JSON array of corpus posts (new ids per copy) of about `size` bytes, and the same
    posts as JSON Lines; reused when already built."""
    array, lines = (
        out / f"hostile-array-{size // MB}mb.json",
        out / f"hostile-lines-{size // MB}mb.jsonl",
    )
    stamp = out / f"hostile-array-{size // MB}mb.count"
    if array.exists() and lines.exists() and stamp.exists():
        return array, lines, int(stamp.read_text())
    corpus = load_corpus()
    written = count = 0
    with array.open("w", encoding="utf-8") as a, lines.open("w", encoding="utf-8") as jl:
        a.write("[\n")
        copy = 0
        while written < size:
            for post in corpus:
                record = {**post, "message_id": post["message_id"] + copy * 1_000_000}
                text = json.dumps(record, ensure_ascii=False)
                a.write(("" if count == 0 else ",\n") + text)
                jl.write(text + "\n")
                written += len(text.encode()) + 2
                count += 1
                if written >= size:
                    break
            copy += 1
        a.write("\n]\n")
    stamp.write_text(str(count))
    return array, lines, count


def big_export(out: Path, size: int) -> tuple[Path, int]:
    """A Telegram Desktop export of one channel (corpus texts) of about `size` bytes."""
    path = out / f"hostile-desktop-{size // MB}mb.json"
    stamp = out / f"hostile-desktop-{size // MB}mb.count"
    if path.exists() and stamp.exists():
        return path, int(stamp.read_text())
    corpus = load_corpus()
    written = count = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write(
            '{\n "name": "Big", "type": "public_channel", "id": 1234567,\n "messages": [\n'
        )
        while written < size:
            for post in corpus:
                message = {
                    "id": count + 1, "type": "message", "date": "2024-11-27T10:00:00",
                    "date_unixtime": "1732700000", "text": post.get("text") or "",
                }  # fmt: skip
                text = (
                    ("" if count == 0 else ",\n") + "  " + json.dumps(message, ensure_ascii=False)
                )
                handle.write(text)
                written += len(text.encode())
                count += 1
                if written >= size:
                    break
        handle.write("\n ]\n}\n")
    stamp.write_text(str(count))
    return path, count


_LOAD_WHOLE = (
    "import json, sys\n"
    "data = json.load(open(sys.argv[1], encoding='utf-8'))\n"
    "print(len(data))\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith('VmHWM:'):\n"
    "        print('VmHWM_KB=' + line.split()[1], file=sys.stderr)\n"
)


def import_peaks(out: Path, size: int) -> dict[str, dict[str, Any]]:
    array, lines, count = big_array(out, size)
    peaks: dict[str, dict[str, Any]] = {}
    for name, path in (("array", array), ("lines", lines)):
        db = out / f"hostile-import-{name}.db"
        remove_db(db)
        peaks[name] = measured(["import", "--quiet", "--no-embed", str(path)], _env(db), out)
        peaks[name]["file_bytes"] = path.stat().st_size
        peaks[name]["records"] = count
        remove_db(db)
    export, messages = big_export(out, size)
    db = out / "hostile-import-desktop.db"
    remove_db(db)
    peaks["desktop"] = measured(["import", "--quiet", "--no-embed", str(export)], _env(db), out)
    peaks["desktop"]["file_bytes"] = export.stat().st_size
    peaks["desktop"]["records"] = messages
    remove_db(db)
    proc = subprocess.run(
        [sys.executable, "-c", _LOAD_WHOLE, str(array)], capture_output=True, text=True, check=True
    )
    peaks["json_load_whole"] = {"vm_hwm_kb": int(proc.stderr.rsplit("VmHWM_KB=", 1)[1].split()[0])}
    return peaks


def run(ctx: Context) -> dict[str, Any]:
    huge, bomb, array = (
        (10 * MB, 100 * MB, 20 * MB) if ctx.quick else (100 * MB, 1024 * MB, 200 * MB)
    )
    ingest = ingest_peaks(ctx.out, huge, bomb)
    imports = import_peaks(ctx.out, array)
    normal_mb = ingest["normal_page"]["vm_hwm_kb"] / 1024
    rows = []
    for name, label in (
        ("huge_page", f"{huge // MB} MB page"),
        ("gzip_bomb", f"gzip → {bomb // MB} MB"),
    ):
        peak = ingest[name]["vm_hwm_kb"] / 1024
        rows.append(
            Row("7 hostile", label, "`ingest --once` peak RSS", f"{peak:.0f} MB",
                f"{normal_mb:.0f} MB (normal page)", peak / normal_mb, f"≤ {TARGET_MB} MB",
                peak <= TARGET_MB and "larger than" in ingest[name]["output"])
        )  # fmt: skip
    array_mb = imports["array"]["vm_hwm_kb"] / 1024
    lines_mb = imports["lines"]["vm_hwm_kb"] / 1024
    whole_mb = imports["json_load_whole"]["vm_hwm_kb"] / 1024
    records = imports["array"]["records"]
    array_ok = f"imported {records}," in imports["array"]["output"]
    rows.append(
        Row("7 hostile", f"{array // MB} MB array", "`import` peak RSS (streamed)",
            f"{array_mb:.0f} MB", f"{lines_mb:.0f} MB (JSON Lines)", array_mb / lines_mb,
            f"≤ {TARGET_MB} MB", array_mb <= TARGET_MB and array_ok)
    )  # fmt: skip
    desktop_mb = imports["desktop"]["vm_hwm_kb"] / 1024
    desktop_ok = f"imported {imports['desktop']['records']}," in imports["desktop"]["output"]
    rows.append(
        Row("7 hostile", f"{array // MB} MB export", "`import` of a Desktop export, peak RSS",
            f"{desktop_mb:.0f} MB", f"{lines_mb:.0f} MB (JSON Lines)", desktop_mb / lines_mb,
            f"≤ {TARGET_MB} MB", desktop_mb <= TARGET_MB and desktop_ok)
    )  # fmt: skip
    rows.append(
        Row("7 hostile", f"{array // MB} MB array", "`json.load` of the whole array",
            f"{whole_mb:.0f} MB", "", None, "(the old way)")
    )  # fmt: skip
    return {"rows": rows, "details": {"ingest": ingest, "import": imports}}
