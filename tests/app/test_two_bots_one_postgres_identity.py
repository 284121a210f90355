"""Two bot processes on one PostgreSQL database with one PROCESS_ID: the second refuses
to start in one line, the first goes on.

Each would renew the other's leases and both would post the same videos. Real
processes, loopback fakes, a schema of the test server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.store import ProcessClash, only_process_named
from tests.app.test_two_bots_one_sqlite_file import second_bot_with
from tests.bot.test_config import assert_readable
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy
from tests.stores import pg_url  # noqa: F401  (fixture)

SHARDS = 3


def first_settings(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, url: str, tmp_path: Path
) -> Settings:
    return settings_for_fakes(
        discord_fake,
        runcomfy_fake,
        tmp_path / "unused.db",
        database_url=url,
        process_id="bot-a",
        shard_count=SHARDS,
        shard_ids=[0, 1],
    )


async def test_a_second_bot_with_a_process_id_in_use_refuses_and_the_first_goes_on(
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    pg_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = first_settings(discord_fake, runcomfy_fake, pg_url, tmp_path)
    first = BotProcess(settings, discord_fake, tmp_path / "first.log")
    await first.start()
    try:
        # Other shards: only the PROCESS_ID is the first one's.
        env = {
            "DATABASE_URL": pg_url,
            "PROCESS_ID": "bot-a",
            "SHARD_COUNT": str(SHARDS),
            "SHARD_IDS": "2",
        }
        code, output = await second_bot_with(
            tmp_path / "second", discord_fake.base_url, runcomfy_fake.base_url, env
        )
        assert code is not None, "the second bot started beside the first:\n" + output
        assert_readable(code, output, "another bot process", "PROCESS_ID bot-a")
        assert code == 2
        assert first.proc is not None and first.proc.returncode is None  # untouched
    finally:
        await first.stop()


async def test_a_process_id_is_free_again_once_its_process_stops(pg_url: str) -> None:  # noqa: F811
    async with only_process_named(pg_url, "bot-a"):
        async with only_process_named(pg_url, "bot-b"):  # another name starts beside it
            pass
        with pytest.raises(ProcessClash):
            async with only_process_named(pg_url, "bot-a"):
                pass
    # Stopped, it holds nothing: a restart under the same PROCESS_ID is never locked out.
    async with only_process_named(pg_url, "bot-a"):
        pass
