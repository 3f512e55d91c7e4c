"""Case 6: peak RSS of `wirebrief run` idle over the largest store, and of a 7 d digest.

`run` is a subprocess talking to the tests' fake Bot API (served from this process) with
no sources; once it has made its first getUpdates call and sat idle, VmHWM is read from
/proc. The digest is `wirebrief digest belarus --since … --until …` (a 7-day window in the
middle of the store, as ISO times, because the data's dates are fixed, not relative to
now); it reports its own VmHWM as it exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.case_digest import windows
from bench.common import Context, Row, human
from bench.data import REPO

RUN_TARGET_MB = 150
DIGEST_TARGET_MB = 400
SETTLE_SECONDS = 5.0


def _status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            values[name] = int(rest.split()[0])
    return values


def _env(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SOURCES"))}
    env.update({"DATABASE_PATH": str(db), "LOG_LEVEL": "WARNING", **extra})
    env["PYTHONPATH"] = str(REPO)
    return env


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


def _digest_peak(db: Path, since: str, until: str) -> dict[str, Any]:
    args = ["digest", "belarus", "--since", since, "--until", until]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURED_MAIN, *args],
        env=_env(db), cwd=str(db.parent), capture_output=True, text=True, check=False,
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
    window = windows(ctx.datasets[size], timedelta(days=7))[2]
    since = window.since.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    until = window.until.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    digest = _digest_peak(db, since, until)
    run_mb, digest_mb = idle["vm_hwm_kb"] / 1024, digest["vm_hwm_kb"] / 1024
    return {
        "rows": [
            Row(
                "6 memory",
                human(size),
                "`wirebrief run` idle, peak RSS",
                f"{run_mb:.0f} MB",
                "",
                None,
                f"≤ {RUN_TARGET_MB} MB",
                run_mb <= RUN_TARGET_MB,
            ),
            Row(
                "6 memory",
                human(size),
                "`wirebrief digest belarus` 7 d, peak RSS",
                f"{digest_mb:.0f} MB",
                "",
                None,
                f"≤ {DIGEST_TARGET_MB} MB",
                digest_mb <= DIGEST_TARGET_MB,
            ),
        ],
        "details": {"size": size, "db_bytes": db.stat().st_size, "run": idle, "digest": digest},
    }
