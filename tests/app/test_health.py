"""`python -m bot health` follows the bot process that runs now, not a file another run left.

The Docker HEALTHCHECK runs it in the container, whose /tmp outlives a restart of the bot
(a crash, the OOM killer, `docker restart`): the bots here are real processes, killed
without cleanup, and the check is the real command line in its own process.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bot.config import Settings
from tests.app.cli_helpers import run_child
from tests.app.conftest import DiscordWithOutages
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess, settings_env
from tests.fakes.runcomfy import FakeRunComfy


async def health(settings: Settings, cwd: Path) -> tuple[int, str]:
    code, out, err = await run_child("health", env=settings_env(settings), cwd=cwd)
    return code, out + err


async def test_a_heartbeat_left_by_the_previous_run_fails_health_until_the_new_one_connects(
    discord_with_outages: DiscordWithOutages, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake = discord_with_outages
    heartbeat = tmp_path / "run" / "heartbeat"
    settings = settings_for_fakes(
        fake, runcomfy_fake, tmp_path / "bot.db", heartbeat_path=heartbeat
    )
    bot = BotProcess(settings, fake, tmp_path / "bot.log")
    await bot.start()
    try:
        await fake.wait_for(heartbeat.exists, within=10)
        assert await health(settings, tmp_path) == (
            0,
            "✓ the bot is connected and its event loop is alive\n",
        )
        await bot.kill()  # the previous run ends without a chance to remove its heartbeat
        assert heartbeat.exists()

        fake.login_hangs = True
        await bot.start(until_connected=False)
        await fake.wait_for(lambda: fake.count("GET", "/users/@me") == 2, within=30)
        os.utime(heartbeat)  # as fresh as a heartbeat can be
        code, said = await health(settings, tmp_path)
        assert code == 1 and "not connected" in said, said

        fake.end_outages()  # the new run logs in and connects: healthy again
        await fake.identified.wait()
        # Ready once its guilds arrive, then a beat within BEAT_EVERY_SECONDS: on a loaded
        # machine that takes seconds, so the deadline is time, not a count of tries.
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            code, said = await health(settings, tmp_path)
            if code == 0 or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
        assert code == 0, said
    finally:
        await bot.kill()
