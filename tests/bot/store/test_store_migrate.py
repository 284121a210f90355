"""`python -m bot migrate-to-postgres`: an SQLite database copied whole into PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app import cli
from bot.domain import GuildSettings, JobStatus
from bot.store import COPIED_TABLES, LATEST_MIGRATION, JobStore
from tests.bot.store.helpers import new_job
from tests.fakes.schemas import SEEDANCE_15
from tests.models import job_fields, options, seedance
from tests.stores import save_guild_settings

S = JobStatus


async def test_every_sqlite_table_is_in_the_copy_list(tmp_path: Path) -> None:
    """A table added by a migration but not to COPIED_TABLES would be left behind."""
    async with await JobStore.open(tmp_path / "bot.db") as store:
        assert await store.tables() == sorted(COPIED_TABLES)


async def migrate() -> int:
    """The real command line, in a thread: it runs its own event loop."""
    return await asyncio.to_thread(cli.main, ["migrate-to-postgres"])


def env_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **values: str) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DISCORD_TOKEN", "x")
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", "y")
    for name, value in values.items():
        monkeypatch.setenv(name, value)


async def test_migrate_copies_every_row_and_new_ids_follow(
    tmp_path: Path,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bot.db"
    async with await JobStore.open(path, owner="old-proc") as old:
        jobs = []
        for i in range(30):
            status = list(JobStatus)[i % len(JobStatus)]
            jobs.append(
                await old.create(
                    new_job(
                        user_id=2**62 + i % 3,
                        guild_id=9,
                        created_at=1000.0 + i,
                        status=status,
                        request_id=f"r-{i}",
                        cost=0.12 if i % 2 else None,
                        **job_fields(resolution="1080p", duration=4 + i % 9),
                        body=seedance().body(
                            "waves", f"https://cdn.example/{i}.png", options(resolution="1080p")
                        ),
                        estimate_usd=0.1 * i,
                    )
                )
            )
        await old.purge_finished_before(1015.0)  # gaps in the ids
        await old.clear_for_user(2**62, now=2000.0)  # cleared rows keep their marks
        settings = GuildSettings(
            guild_id=9,
            paused=True,
            allowed_channel_ids=(1, 2),
            user_daily=4,
            default_model_id=SEEDANCE_15,
            allowed_model_ids=(SEEDANCE_15,),
        )
        await save_guild_settings(old, settings)
        kept = [j for j in [await old.get(job.id or 0) for job in jobs] if j is not None]
        usage = await old.usage_report(9, since=0)
        history = await old.list_for_user(2**62 + 1, limit=50)
    assert 0 < len(kept) < len(jobs)

    env_for(monkeypatch, tmp_path, DATABASE_PATH=str(path), DATABASE_URL=pg_url)
    assert await migrate() == 0
    out = capsys.readouterr().out
    assert f"jobs: {len(kept)} rows" in out and "guild_settings: 1 rows" in out
    assert pg_url not in out

    async with await JobStore.open(pg_url, owner="new-proc") as new:
        assert [await new.get(j.id or 0) for j in kept] == kept
        assert await new.guild_settings(9) == settings
        assert await new.usage_report(9, since=0) == usage
        assert await new.list_for_user(2**62 + 1, limit=50) == history
        # Leases of the old process are dropped: the new one claims at once.
        claimed = await new.claim(now=1000.0, until=1020.0, own=False)
        assert {j.id for j in claimed} == {j.id for j in kept if not j.status.is_final}
        fresh = await new.create(new_job())
        assert fresh.id == max(j.id or 0 for j in jobs) + 1

    # Twice: refused, nothing copied again.
    assert await migrate() == 1
    assert "already has rows" in capsys.readouterr().err


async def test_migrate_needs_a_postgres_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env_for(monkeypatch, tmp_path, DATABASE_PATH=str(tmp_path / "bot.db"))
    assert await migrate() == 1
    assert "DATABASE_URL" in capsys.readouterr().err


async def test_check_reads_the_postgres_version_without_changing_it(pg_url: str) -> None:
    from bot.check import check_postgres

    empty = await check_postgres(pg_url)
    assert empty.ok and "migration 0" in empty.detail
    async with await JobStore.open(pg_url):
        pass
    migrated = await check_postgres(pg_url)
    assert migrated.ok and f"migration {LATEST_MIGRATION}" in migrated.detail


async def test_check_says_postgres_is_unreachable_without_the_password() -> None:
    from bot.check import check_postgres

    url = "postgresql://animate:s3cret-Canary@127.0.0.1:1/animate"
    result = await check_postgres(url)
    assert not result.ok and "s3cret-Canary" not in f"{result.detail} {result.fix}"


async def test_backup_is_refused_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env_for(monkeypatch, tmp_path, DATABASE_URL="postgresql://a:b@127.0.0.1:1/c")
    assert await asyncio.to_thread(cli.main, ["backup", str(tmp_path / "copy.db")]) == 1
    assert "pg_dump" in capsys.readouterr().err
