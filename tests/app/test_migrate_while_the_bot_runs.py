"""`python -m bot migrate-to-postgres` while the bot still runs on the SQLite file.

The copy is one moment of a database the bot goes on writing: a video started after
it would be left behind, and billed where nobody tracks it. The command refuses.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app import cli
from bot.store import JobStore
from tests.app.test_signals import bot_settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy


async def test_migrate_refuses_while_a_bot_runs_on_the_sqlite_file_and_copies_nothing(
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = bot_settings(discord_fake, runcomfy_fake, tmp_path)
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    monkeypatch.chdir(tmp_path)  # no .env here
    for name, value in (
        ("DISCORD_TOKEN", "x"),
        ("RUNCOMFY_API_TOKEN", "y"),
        ("DATABASE_PATH", str(settings.database_path)),
        ("DATABASE_URL", pg_url),
    ):
        monkeypatch.setenv(name, value)
    try:
        code = await asyncio.to_thread(cli.main, ["migrate-to-postgres"])
        err = capsys.readouterr().err
        assert code == 1, err
        assert "running" in err and "stop it first" in err
        assert pg_url not in err
    finally:
        await bot.stop()
    async with await JobStore.open(pg_url) as target:
        assert await target.is_empty()

    # Stopped, the bot lets go of the file and the copy goes ahead.
    assert await asyncio.to_thread(cli.main, ["migrate-to-postgres"]) == 0
