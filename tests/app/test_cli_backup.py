"""`python -m bot backup`: a copy of everything committed, while the bot writes."""

from __future__ import annotations

import time
from pathlib import Path

from bot.config import Settings
from bot.domain import ImageFacts, Job
from bot.store import LATEST_MIGRATION, JobStore
from tests.app.cli_helpers import run_child
from tests.fakes.process import settings_env
from tests.models import job_fields
from tests.stores import schema_version


def a_job(user_id: int) -> Job:
    return Job(
        user_id=user_id,
        guild_id=1,
        channel_id=2,
        prompt="a backup survives",
        **job_fields(),
        image=ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1000),
        created_at=time.time(),
    )


async def test_backup_while_the_bot_writes_copies_everything_committed(
    settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "backups" / "bot-copy.db"
    env = settings_env(settings)
    async with await JobStore.open(settings.database_path) as live:
        # The bot's connection stays open and its last writes sit in the WAL file.
        jobs = [await live.create(a_job(user_id)) for user_id in range(1, 51)]
        assert Path(f"{settings.database_path}-wal").stat().st_size > 0
        code, out, err = await run_child("backup", str(target), env=env, cwd=tmp_path)
        assert code == 0, out + err
        assert "✓ backed up" in out
        await live.create(a_job(99))  # the bot goes on writing after the copy

        code, _, err = await run_child("backup", str(target), env=env, cwd=tmp_path)
        assert code == 1 and "exists" in err  # never overwrites a backup

    async with await JobStore.open(target) as copy:
        assert await schema_version(copy) == LATEST_MIGRATION
        for job in jobs:
            assert job.id is not None
            restored = await copy.get(job.id)
            assert restored is not None and restored.prompt == "a backup survives"
        assert await copy.list_for_user(99) == []
    assert [p.name for p in target.parent.iterdir()] == ["bot-copy.db"]  # no temp file left


async def test_backup_without_a_database_says_so(settings: Settings, tmp_path: Path) -> None:
    code, _, err = await run_child(
        "backup", str(tmp_path / "copy.db"), env=settings_env(settings), cwd=tmp_path
    )
    assert code == 1 and "no database" in err
    assert not (tmp_path / "copy.db").exists()
