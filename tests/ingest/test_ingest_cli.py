"""`wirebrief ingest --once` and `wirebrief sources` as a user runs them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fakes.tme_server import FakeTme


async def wirebrief(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_ingest_once_prints_a_line_per_source_and_sources_shows_health(
    tmp_path: Path,
) -> None:
    async with FakeTme() as tme:
        tme.channel("noel_reports", "Noel Reports", posts=30)
        tme.channel("uniannet", "УНІАН", posts=4)
        tme.channel("durov", "Pavel Durov").preview = False
        env = {
            "DATABASE_PATH": str(tmp_path / "w.db"),
            "TME_URL": tme.base_url,
            "SOURCES": "noel_reports,uniannet,durov",
            "BACKFILL_POSTS": "25",
        }
        code, out, err = await wirebrief("ingest", "--once", env=env)
        assert code == 1, err  # one source failed
        assert out.splitlines() == [
            "@durov: no_preview: @durov exists but has no public web preview",
            "@noel_reports: ok, 25 new (2 page(s))",
            "@uniannet: ok, 4 new (1 page(s))",
        ]
        code, out, err = await wirebrief("sources", env=env)
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].startswith("@durov: no_preview; 0 posts; last success never")
        assert lines[0].endswith("@durov exists but has no public web preview")
        assert lines[1].startswith("@noel_reports: ok; 25 posts; last success just now")
        assert "next poll in 4m" in lines[1] or "next poll in 5m" in lines[1]
