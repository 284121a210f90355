"""Both store backends for the tests: SQLite on a temp file, PostgreSQL on a temp schema.

The PostgreSQL variants need a server: TEST_DATABASE_URL (`.ci/run` and `make test-pg`
start a throwaway cluster and set it). Without it they are skipped with the reason,
except under CI=true, where a missing server fails them: CI must run them.

Import the fixtures into a test module: `from tests.stores import backend, open_store_at`.
The helpers below read what only tests ask of a store (no code of the bot needs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from bot.domain import GuildSettings, Job
from bot.store import JobStore
from bot.store.rows import from_row
from bot.store.schema import CHARGED_SQL
from bot.store.sqlite import SqliteDatabase

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
        if self.backend == "postgres":
            store = await JobStore.open(self._url, max_size=4, **options)
        else:
            store = await JobStore.open(self._path, **options)
        self._opened.append(store)
        return store


OpenStore = StoreOpener  # the fixture's type, for annotations


# --- What only tests ask of a store ---------------------------------------------------------


async def schema_version(store: JobStore) -> int:
    return await store.db.schema_version()


async def find_by_request_id(store: JobStore, request_id: str) -> Job | None:
    row = await store.db.fetchrow("SELECT * FROM jobs WHERE request_id = $1", request_id)
    return None if row is None else from_row(row)


async def count_created_since(store: JobStore, user_id: int, since: float) -> int:
    """The user's charged jobs created since `since` (what the daily quota counts)."""
    return int(
        await store.db.fetchval(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = $1 AND created_at >= $2 AND {CHARGED_SQL}",
            user_id,
            since,
        )
    )


async def oldest_created_since(store: JobStore, user_id: int, since: float) -> float | None:
    """When the user's oldest charged job in the window was made: a slot frees after it."""
    value = await store.db.fetchval(
        "SELECT MIN(created_at) FROM jobs "
        f"WHERE user_id = $1 AND created_at >= $2 AND {CHARGED_SQL}",
        user_id,
        since,
    )
    return None if value is None else float(value)


async def save_guild_settings(store: JobStore, settings: GuildSettings) -> GuildSettings:
    """Every setting of a server at once, as given (the bot changes one at a time)."""
    await store.db.execute(
        "INSERT INTO guild_settings (guild_id, paused, pause_reason, allowed_channels, "
        "user_concurrent, user_daily, daily_spend_cap_usd, language, default_model_id, "
        "allowed_models, updated_by, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
        "ON CONFLICT (guild_id) DO UPDATE SET paused = excluded.paused, "
        "pause_reason = excluded.pause_reason, allowed_channels = excluded.allowed_channels, "
        "user_concurrent = excluded.user_concurrent, user_daily = excluded.user_daily, "
        "daily_spend_cap_usd = excluded.daily_spend_cap_usd, language = excluded.language, "
        "default_model_id = excluded.default_model_id, allowed_models = excluded.allowed_models, "
        "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        settings.guild_id,
        int(settings.paused),
        settings.pause_reason,
        json.dumps(list(settings.allowed_channel_ids)),
        settings.user_concurrent,
        settings.user_daily,
        settings.daily_spend_cap_usd,
        settings.language,
        settings.default_model_id,
        json.dumps(list(settings.allowed_model_ids)),
        settings.updated_by,
        settings.updated_at,
    )
    return store._keep_guild_settings(settings)  # as the store's own changes do


@contextlib.asynccontextmanager
async def statements_run(store: JobStore) -> AsyncIterator[Sequence[str]]:
    """Every statement the store runs in the block, values inlined (SQLite only)."""
    assert isinstance(store.db, SqliteDatabase), "statement tracing is SQLite's"
    statements: list[str] = []
    await store.db.trace(statements.append)
    try:
        yield statements
    finally:
        await store.db.trace(None)
