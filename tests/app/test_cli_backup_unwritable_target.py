"""`python -m bot backup PATH` where PATH cannot be written: one readable line, exit 1."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.store import JobStore
from tests.app.cli_helpers import run_child
from tests.fakes.process import settings_env


async def test_a_backup_into_a_folder_that_cannot_be_made_says_so_without_a_traceback(
    settings: Settings, tmp_path: Path
) -> None:
    async with await JobStore.open(settings.database_path):
        pass
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup's folder should be")
    code, out, err = await run_child(
        "backup", str(blocker / "copy.db"), env=settings_env(settings), cwd=tmp_path
    )
    assert code == 1, out + err
    assert "Traceback" not in err
    assert "✗ backup to" in err and "failed" in err and str(blocker / "copy.db") in err
    assert blocker.read_text() == "a file where the backup's folder should be"
