"""Where PostgreSQL is required (CI: WIREBRIEF_REQUIRE_POSTGRES=1), a test that needs it
and cannot start it fails; elsewhere it is skipped with the reason."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

ONE_TEST = "tests/store/test_leases.py::test_a_source_not_due_is_not_claimed"


def _run(require: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PG_BINDIR": "/nonexistent/postgresql/bin"}
    env.pop("WIREBRIEF_REQUIRE_POSTGRES", None)
    if require:
        env["WIREBRIEF_REQUIRE_POSTGRES"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rsE", ONE_TEST],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_without_a_server_the_postgres_tests_fail_where_required_and_skip_elsewhere() -> None:
    required = _run(require=True)
    assert required.returncode == 1, required.stdout[-1500:]
    assert "1 passed, 1 error" in required.stdout  # SQLite ran; PostgreSQL failed
    assert "WIREBRIEF_REQUIRE_POSTGRES=1 requires it" in required.stdout
    optional = _run(require=False)
    assert optional.returncode == 0, optional.stdout[-1500:]
    assert "1 passed, 1 skipped" in optional.stdout
    assert "PG_BINDIR=/nonexistent/postgresql/bin has no initdb" in optional.stdout
