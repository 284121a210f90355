"""Both store backends for the tests: SQLite on a temp file, PostgreSQL on a temp schema.

The PostgreSQL variants need a server: TEST_DATABASE_URL (`.ci/run` and `make test-pg`
start a throwaway cluster and set it). Without it they are skipped with the reason,
except under CI=true, where a missing server fails them: CI must run them.

Import the fixtures into a test module: `from tests.stores import backend, open_store_at`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from bot.store import JobStore

BACKENDS = ("sqlite", "postgres")


def server_url() -> str:
    """The PostgreSQL server of the tests, or skip (fail in CI) with the reason."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the PostgreSQL tests, but TEST_DATABASE_URL is not set")
    pytest.skip("PostgreSQL tests skipped: TEST_DATABASE_URL is not set (try `make test-pg`)")


def with_search_path(url: str, schema: str) -> str:
    """`url` whose connections use `schema` (asyncpg passes unknown query keys as settings)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("search_path", schema)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@contextlib.asynccontextmanager
async def temp_schema() -> AsyncIterator[str]:
    """A URL to an empty schema of its own on the test server; dropped afterwards."""
    import asyncpg

    base = server_url()
    schema = f"t_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        yield with_search_path(base, schema)
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with temp_schema() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_store_at(backend: str, tmp_path: Path) -> AsyncIterator[StoreOpener]:
    """Opens stores on one database of `backend`; all are closed after the test."""
    opened: list[JobStore] = []
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(temp_schema()) if backend == "postgres" else ""
        yield StoreOpener(backend, url, tmp_path, opened)
        for store in opened:
            await store.close()


class StoreOpener:
    """Opens stores on one database; `settings` points a bot's Settings at it."""

    def __init__(self, backend: str, url: str, tmp_path: Path, opened: list[JobStore]) -> None:
        self.backend = backend
        self._url = url
        self._path = tmp_path / "sub" / "bot.db"
        self._opened = opened
        self.settings: dict[str, object] = (
            {"database_url": url} if backend == "postgres" else {"database_path": self._path}
        )

    async def __call__(self, **options: Any) -> JobStore:
        store: JobStore
        if self.backend == "postgres":
            from bot.store.postgres import PostgresJobStore

            store = await PostgresJobStore.open(self._url, max_size=4, **options)
        else:
            store = await JobStore.open(self._path, **options)
        self._opened.append(store)
        return store


OpenStore = StoreOpener  # the fixture's type, for annotations
