"""Shared fixtures: temporary stores, the shared corpus and captures, time helpers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.embeddings.local import LocalEmbedder
from bot.store import Store, open_store
from tests.pgserver import PostgresServer, PostgresUnavailable

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WIREBRIEF_SHARED", REPO.parent / "shared"))
CORPUS_POSTS = 17_244
CORPUS_CHANNELS = 19
REQUIRE_SHARED = os.environ.get("WIREBRIEF_REQUIRE_SHARED") == "1"
"""Set by .ci/run: missing shared data fails the tests that need it instead of skipping
them, so a green CI means those tests ran."""


REQUIRE_POSTGRES = os.environ.get("WIREBRIEF_REQUIRE_POSTGRES") == "1"
"""Set by .ci/run (which installs PostgreSQL): a test that needs the server fails when it
cannot be started, instead of skipping."""


def skip_without_shared(reason: str) -> None:
    """Skip with the reason, or fail with it where the shared data is required."""
    if REQUIRE_SHARED:
        pytest.fail(f"{reason}; WIREBRIEF_REQUIRE_SHARED=1 requires it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read a developer's .env or environment settings."""
    for name in list(os.environ):
        if name in {
            "BOT_TOKEN", "BOT_API_URL", "DATABASE_PATH", "DATABASE_URL", "SOURCES", "TME_URL",
            "LEASE_SECONDS", "WORKER_NAME",
            "ALLOWED_CHAT_IDS", "ADMIN_USER_IDS", "DIGEST_CHAT_IDS", "DIGEST_TIME", "TIMEZONE",
            "TOPICS_FILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_MODEL", "DIGEST_LANGUAGE",
            "EMBEDDINGS_BASE_URL", "EMBEDDINGS_MODEL", "EMBEDDINGS_API_KEY",
            "TELEGRAPH", "TELEGRAPH_URL", "TELEGRAPH_AUTHOR",
        }:  # fmt: skip
            monkeypatch.delenv(name)
    # Embedding a whole corpus takes minutes: tests group by words unless they are about
    # embeddings, and those switch them on themselves (tests/embeddings, tests/digest).
    monkeypatch.setenv("EMBEDDINGS", "off")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        skip_without_shared(f"shared test data not found at {SHARED} (set WIREBRIEF_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    path = shared_dir / "corpus" / "ru-news-2024"
    if not path.is_dir():
        skip_without_shared(f"the ru-news-2024 corpus is not at {path}")
    return path


@pytest.fixture(scope="session")
def tme_dir(shared_dir: Path) -> Path:
    path = shared_dir / "fixtures" / "tme"
    if not path.is_dir():
        skip_without_shared(f"the t.me captures are not at {path}")
    return path


@pytest.fixture(scope="session")
def corpus_db(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file holding the whole corpus, imported once per session.

    Tests that use it only read; a test that writes must copy it first.
    """
    from bot.ingest.importer import import_paths

    path = tmp_path_factory.mktemp("corpus") / "corpus.db"

    async def build() -> None:
        store = await open_store(path)
        try:
            report = await import_paths(store, [corpus_dir])
            assert report.ok, report.rejected[:3]
        finally:
            await store.close()

    asyncio.run(build())
    return path


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(tmp_path / "test.db")
    try:
        yield s
    finally:
        await s.close()


@pytest_asyncio.fixture
async def corpus_store(corpus_db: Path) -> AsyncIterator[Store]:
    s = await open_store(corpus_db)
    try:
        yield s
    finally:
        await s.close()


# ----- PostgreSQL --------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real server for the session (initdb + pg_ctl on a temp folder), stopped at
    the end. Missing PostgreSQL skips, or fails where WIREBRIEF_REQUIRE_POSTGRES=1."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{exc}; WIREBRIEF_REQUIRE_POSTGRES=1 requires it", pytrace=False)
        pytest.skip(f"no PostgreSQL for the tests: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A migrated database that every test's database is copied from (fast: no DDL)."""
    postgres_server.sql("CREATE DATABASE wb_template")

    async def migrate() -> None:
        store = await open_store(postgres_server.url("wb_template"))
        await store.close()

    # In a thread of its own: this fixture may be first asked for inside a running loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    return "wb_template"


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_template: str) -> str:
    """A fresh, migrated, empty PostgreSQL database for one test."""
    name = f"wb_test_{next(_databases)}"
    postgres_server.sql(f"CREATE DATABASE {name} TEMPLATE {postgres_template}")
    return postgres_server.url(name)


# ----- embeddings --------------------------------------------------------------------


@pytest.fixture(scope="session")
def varta_dir(shared_dir: Path) -> Path:
    path = shared_dir / "corpus" / "varta-2026-spring"
    if not path.is_dir():
        pytest.skip(f"the varta-2026-spring corpus is not at {path}")
    return path


@pytest.fixture(scope="session")
def local_embedder() -> Iterator[LocalEmbedder]:
    """The bundled multilingual model, loaded once per session (a real one, not a stub)."""
    embedder = LocalEmbedder()
    yield embedder


@pytest.fixture(scope="session")
def varta_db(
    varta_dir: Path, local_embedder: LocalEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The varta corpus imported and embedded (every post), once per session: about a
    minute and a half of the bundled model. Tests read it; a test that writes copies it."""
    from bot.embeddings.service import backfill
    from bot.ingest.importer import import_paths

    path = tmp_path_factory.mktemp("varta") / "varta.db"

    async def build() -> None:
        store = await open_store(path)
        try:
            report = await import_paths(store, [varta_dir])
            assert report.ok, report.rejected[:3]
            done = await backfill(store, local_embedder)
            assert done.problem is None and done.embedded == await store.count_posts(), done
        finally:
            await store.close()

    asyncio.run(build())
    return path


@pytest_asyncio.fixture
async def varta_store(varta_db: Path) -> AsyncIterator[Store]:
    s = await open_store(varta_db)
    try:
        yield s
    finally:
        await s.close()
