"""The store tests run against both backends: SQLite and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.store import Store, open_store


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The same tests, once on a SQLite file and once on a PostgreSQL database."""
    if request.param == "sqlite":
        target: str | Path = tmp_path / "test.db"
    else:
        target = request.getfixturevalue("postgres_url")
    s = await open_store(target)
    try:
        yield s
    finally:
        await s.close()
