"""Two bot processes started on one SQLite file: the second refuses, the first goes on.

SQLite serves one process (docs/postgresql.md): a second one would claim every live
job the first tracks and both would poll and post them. Real processes, loopback fakes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.store import LATEST_MIGRATION, DatabaseInUse, StoreUnavailable, only_process_on
from tests.app.test_signals import bot_settings
from tests.bot.test_config import assert_readable, bot_command
from tests.fakes.discord import FakeDiscord
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy

SECOND_BOT_SECONDS = 20.0


async def second_bot(
    tmp_path: Path, discord_url: str, runcomfy_url: str, database: Path
) -> tuple[int | None, str]:
    """Start another bot on `database`; its exit code (None: it kept running) and output."""
    return await second_bot_with(
        tmp_path, discord_url, runcomfy_url, {"DATABASE_PATH": str(database)}
    )


async def second_bot_with(
    tmp_path: Path, discord_url: str, runcomfy_url: str, env: dict[str, str]
) -> tuple[int | None, str]:
    """Start another bot with `env`, in `tmp_path`; its exit code (None: it kept running)
    and output."""
    tmp_path.mkdir(exist_ok=True)
    command = bot_command(tmp_path, discord_url, {"RUNCOMFY_BASE_URL": runcomfy_url, **env})
    proc = await asyncio.create_subprocess_exec(
        *command["args"],
        cwd=command["cwd"],
        env=command["env"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), SECOND_BOT_SECONDS)
    except TimeoutError:
        proc.kill()
        output, _ = await proc.communicate()
        return None, output.decode()
    return proc.returncode, output.decode()


async def test_a_second_bot_on_the_same_sqlite_file_refuses_to_start_and_the_first_goes_on(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    first_dir = tmp_path / "first"
    first_dir.mkdir()
    settings = bot_settings(discord_fake, runcomfy_fake, first_dir)
    first = BotProcess(settings, discord_fake, first_dir / "bot.log")
    await first.start()
    try:
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        code, output = await second_bot(
            second_dir, discord_fake.base_url, runcomfy_fake.base_url, settings.database_path
        )
        assert code is not None, "the second bot ran on the first one's database:\n" + output
        assert_readable(
            code, output, str(settings.database_path), "another bot process", "PostgreSQL"
        )
        assert code == 2
        assert first.proc is not None and first.proc.returncode is None  # untouched
    finally:
        await first.stop()
    with sqlite3.connect(settings.database_path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (LATEST_MIGRATION,)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # Once the first has stopped, the file is free again: a restart is never locked out.
    again = BotProcess(settings, discord_fake, second_dir / "bot.log")
    await again.start()
    await again.stop()


@pytest.mark.parametrize(
    ("make_path", "reason"),
    [
        (lambda tmp: tmp / "a-file" / "bot.db", "its folder cannot be created"),
        (lambda tmp: tmp, "it is a folder, not a database file"),
        (lambda tmp: Path("/sys/animate-bot.db"), "cannot be opened or created there"),
    ],
    ids=["file-as-folder", "a-folder", "read-only-place"],
)
def test_the_lock_names_what_is_wrong_with_an_unusable_path(
    tmp_path: Path, make_path: Callable[[Path], Path], reason: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    path = make_path(tmp_path)
    with pytest.raises(StoreUnavailable) as caught, only_process_on(path):
        pass
    assert reason in caught.value.reason


def test_the_same_file_under_another_name_is_the_same_database(tmp_path: Path) -> None:
    """A second bot pointed at a symbolic link to the file, or a path spelled otherwise."""
    real = tmp_path / "data" / "bot.db"
    real.parent.mkdir()
    (tmp_path / "current.db").symlink_to(real)
    with only_process_on(real):
        for other in (tmp_path / "current.db", tmp_path / "data" / ".." / "data" / "bot.db"):
            with pytest.raises(DatabaseInUse), only_process_on(other):
                pass
