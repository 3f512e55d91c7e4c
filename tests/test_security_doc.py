"""docs/security.md names the test that holds each defence: every one it names exists."""

from __future__ import annotations

import re

from tests.conftest import REPO

REFERENCE_RE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`")


def test_every_test_the_threat_model_names_exists() -> None:
    text = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    current = None
    missing = []
    checked = 0
    for match in REFERENCE_RE.finditer(text):
        path, name, bare = match.groups()
        if path:
            current = REPO / path
            if not current.exists():
                missing.append(path)
                continue
        if name or bare:
            assert current is not None, f"::{bare} before any file"
            if not re.search(rf"^(?:async )?def {name or bare}\(", current.read_text(), re.M):
                missing.append(f"{current.relative_to(REPO)}::{name or bare}")
            checked += 1
    assert checked > 40 and not missing, missing
