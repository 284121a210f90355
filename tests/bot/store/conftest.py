"""The store under test on both backends: a temporary SQLite file, and a PostgreSQL schema.

Tests taking `store` (or `open_store_at`) run once per backend; the PostgreSQL run
is skipped without TEST_DATABASE_URL (and fails under CI). The file, WAL and query
plan tests are SQLite's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import JobStore
from tests.stores import OpenStore


@pytest.fixture
async def store(open_store_at: OpenStore) -> JobStore:
    return await open_store_at()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[JobStore]:
    async with await JobStore.open(tmp_path / "sub" / "bot.db") as opened:
        yield opened
