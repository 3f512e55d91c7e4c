"""The package ships every file it reads at run time, and setuptools has nothing to warn about."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _config() -> dict[str, object]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = data["tool"]["setuptools"]
    assert isinstance(setuptools, dict)
    return setuptools


def test_every_folder_under_bot_is_a_listed_package() -> None:
    """setuptools warns ("Package 'bot.store.migrations' is absent from the `packages`
    configuration", some 40 lines on `make demo`) for a data folder that is not listed."""
    packages = set(_config()["packages"])  # type: ignore[arg-type]
    folders = {
        ".".join(path.relative_to(REPO).parts)
        for path in [REPO / "bot", *(REPO / "bot").rglob("*")]
        if path.is_dir() and path.name != "__pycache__" and any(path.iterdir())
    }
    assert folders <= packages, sorted(folders - packages)


def test_every_data_file_is_shipped_by_a_package_data_pattern() -> None:
    config = _config()
    package_dir: dict[str, str] = config["package-dir"]  # type: ignore[assignment]
    patterns: dict[str, list[str]] = config["package-data"]  # type: ignore[assignment]
    for package in config["packages"]:  # type: ignore[attr-defined]
        folder = REPO / package_dir.get(package, package.replace(".", "/"))
        for path in folder.iterdir():
            if path.is_file() and path.suffix != ".py":
                assert any(fnmatch(path.name, p) for p in patterns.get(package, [])), path


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`make test`'s pytest (same addopts) on one test that needs the shared captures."""
    full = {k: v for k, v in os.environ.items() if k != "WIREBRIEF_REQUIRE_SHARED"}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/ingest/test_webpreview.py::test_truncated_last_post_is_reported"],
        cwd=REPO, env=full, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_make_test_says_what_it_skipped_and_why(tmp_path: Path) -> None:
    result = _pytest({"WIREBRIEF_SHARED": str(tmp_path / "absent")})
    assert result.returncode == 0, result.stdout[-2000:]
    assert "SKIPPED [1] " in result.stdout and "shared test data not found at" in result.stdout
    assert "1 skipped" in result.stdout


def test_ci_fails_when_the_shared_data_is_missing(tmp_path: Path) -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "WIREBRIEF_REQUIRE_SHARED=1" in ci
    result = _pytest(
        {"WIREBRIEF_SHARED": str(tmp_path / "absent"), "WIREBRIEF_REQUIRE_SHARED": "1"}
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "WIREBRIEF_REQUIRE_SHARED=1 requires it" in result.stdout
