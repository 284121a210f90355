"""Opening the store: migrations from empty or an old version, refused or failed, run once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.store import LATEST_MIGRATION, JobStore, NewerDatabase, migrations
from tests.bot.store.helpers import new_job, raw
from tests.stores import schema_version


async def test_migrations_from_empty_and_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "bot.db"  # parent directories are created
    async with await JobStore.open(path) as first:
        assert await schema_version(first) == LATEST_MIGRATION
        await first.create(new_job())
    async with await JobStore.open(path) as again:
        assert await schema_version(again) == LATEST_MIGRATION
        assert await again.count_for_user(1) == 1
    assert await raw(path, "PRAGMA journal_mode") == [("wal",)]
    tables = await raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    assert ("jobs",) in tables


async def test_upgrade_from_version_1_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with aiosqlite.connect(path) as db:
        for statement in migrations.steps("sqlite")[0].statements:
            await db.execute(statement)
        await db.execute("PRAGMA user_version = 1")
        await db.commit()
    async with await JobStore.open(path) as upgraded:
        assert await schema_version(upgraded) == LATEST_MIGRATION
        assert (await upgraded.create(new_job())).id == 1
    for name in ("jobs_by_kind_started", "jobs_by_kind_submitted"):
        [(index_sql,)] = await raw(path, f"SELECT sql FROM sqlite_master WHERE name = '{name}'")
        assert "'completed', 'delivered'" in str(index_sql)


async def test_a_failing_migration_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.db"
    statements = ("CREATE TABLE half_done (id INTEGER PRIMARY KEY)", "NOT SQL AT ALL")
    broken = migrations.Migration(LATEST_MIGRATION + 1, "broken", statements)
    shipped = migrations.steps("sqlite")
    monkeypatch.setattr(migrations, "steps", lambda dialect: (*shipped, broken))
    with pytest.raises(sqlite3.OperationalError):
        await JobStore.open(path)
    # Every real migration committed, the broken one not.
    assert await raw(path, "PRAGMA user_version") == [(LATEST_MIGRATION,)]
    assert await raw(path, "SELECT name FROM sqlite_master WHERE name = 'half_done'") == []


async def test_a_database_newer_than_the_bot_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await JobStore.open(path) as current:
        await current.create(new_job())
    newer = LATEST_MIGRATION + 3
    async with aiosqlite.connect(path) as db:
        await db.execute(f"PRAGMA user_version = {newer}")
        await db.commit()
    with pytest.raises(NewerDatabase) as refused:
        await JobStore.open(path)
    assert f"version {newer}" in refused.value.reason
    assert f"knows up to {LATEST_MIGRATION}" in refused.value.reason
    assert refused.value.setting == "DATABASE_PATH"  # SQLite's file, not a URL never set
    assert await raw(path, "PRAGMA user_version") == [(newer,)]
    assert await raw(path, "SELECT COUNT(*) FROM jobs") == [(1,)]


async def test_two_processes_opening_a_new_file_together_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    stores = await asyncio.gather(*(JobStore.open(path) for _ in range(4)))
    try:
        assert {await schema_version(s) for s in stores} == {LATEST_MIGRATION}
    finally:
        for opened in stores:
            await opened.close()


async def test_close_is_idempotent(tmp_path: Path) -> None:
    opened = await JobStore.open(tmp_path / "bot.db")
    await opened.close()
    await opened.close()


def test_both_dialects_have_the_same_migrations() -> None:
    """A migration added to one dialect only fails here: same numbers and names on both."""
    sqlite, postgres = migrations.steps("sqlite"), migrations.steps("postgres")
    assert [(s.number, s.name) for s in sqlite] == [(s.number, s.name) for s in postgres]
    assert len(sqlite) == LATEST_MIGRATION
    assert all(step.statements for step in (*sqlite, *postgres))


def test_migration_files_split_into_their_statements() -> None:
    text = "-- why; in a comment\nCREATE TABLE a (x TEXT);\n\n-- and\nCREATE INDEX i\n  ON a (x);\n"
    assert migrations.statements(text) == ("CREATE TABLE a (x TEXT)", "CREATE INDEX i\n  ON a (x)")


async def test_postgres_migrates_once_when_processes_start_together(pg_url: str) -> None:
    stores = await asyncio.gather(*(JobStore.open(pg_url, max_size=2) for _ in range(4)))
    try:
        assert {await schema_version(s) for s in stores} == {LATEST_MIGRATION}
        job = await stores[0].create(new_job())
        assert job.id is not None and await stores[3].get(job.id) == job
    finally:
        for opened in stores:
            await opened.close()
    async with await JobStore.open(pg_url) as again:
        assert await schema_version(again) == LATEST_MIGRATION
        assert await again.count_for_user(1) == 1
