"""Two bot processes on one PostgreSQL database, started as an operator might.

With one PROCESS_ID each would renew the other's leases and both would post the same
videos: the second refuses to start in one line, the first goes on. On the same shards
with their own PROCESS_IDs (docs/postgresql.md's deploy without downtime) both receive
every command and press: each is answered once, and the one that comes second is no
error. Real processes, loopback fakes, a schema of the test server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.store import ProcessClash, only_process_named
from tests.app.test_two_bots_one_sqlite_file import second_bot_with
from tests.bot.test_config import assert_readable
from tests.cogs.animate.helpers import png
from tests.cogs.test_history import press
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.stores import pg_url  # noqa: F401  (fixture)

SHARDS = 3


def ready_videos(fake: FakeDiscord) -> list[FakeMessage]:
    return [m for m in fake.messages.values() if "your video is ready" in m.content]


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


async def test_two_processes_on_the_same_shards_answer_each_command_and_press_once_quietly(
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    pg_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    common = settings_for_fakes(
        discord_fake, runcomfy_fake, tmp_path / "unused.db", database_url=pg_url
    )
    old, new = (
        BotProcess(common.model_copy(update={"process_id": name}), discord_fake, tmp_path / name)
        for name in ("old", "new")
    )
    for process in (old, new):
        await process.start()
    try:
        await discord_fake.wait_for(
            lambda: all("Ready as" in p.log.read_text() for p in (old, new)), within=30
        )
        runcomfy_fake.script(Timeline(queue_seconds=0.2, run_seconds=0.2))
        await discord_fake.invoke("animate", image=png(), prompt="p")
        videos = await discord_fake.wait_for(lambda: ready_videos(discord_fake), within=15)
        runcomfy_fake.script(Timeline(queue_seconds=0.2, run_seconds=0.2))
        await press(discord_fake, videos[0], "Again")
        await discord_fake.wait_for(lambda: len(ready_videos(discord_fake)) == 2, within=15)
        assert runcomfy_fake.count("submit") == 2
        logs = old.log.read_text() + new.log.read_text()
        assert " ERROR " not in logs and "Traceback" not in logs, logs
    finally:
        for process in (old, new):
            await process.stop()
