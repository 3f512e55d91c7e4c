"""The benchmark harness runs end to end in its quick mode (about 1.5 minutes: cases 6 and 8
embed a few dozen posts with the model) and reports every case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CASES = {
    "import", "digest", "grouping", "llm", "parse", "memory", "hostile",
    "embed", "semantic_digest", "semantic_grouping", "postgres",
}  # fmt: skip


@pytest.mark.timeout(300)
def test_quick_bench_reports_every_case(corpus_dir: Path, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "WIREBRIEF_SHARED": str(corpus_dir.parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path / "out"),
         "--results", str(results)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(results.read_text())
    assert set(report["cases"]) == CASES
    for name, case in report["cases"].items():
        # A case either measured something or says why it could not (bs4 is optional).
        assert case.get("rows") or case.get("skipped"), name
    assert report["machine"]["sqlite"] and report["machine"]["nproc"]
    assert "1 import" in proc.stdout and "met" in proc.stdout
