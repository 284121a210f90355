"""A bot killed mid-way leaves its scratch directory; the next one on the machine removes it."""

from __future__ import annotations

from pathlib import Path

from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_anywhere import videos_in
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy


def scratch_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("animate-*"))


async def test_the_scratch_directory_of_a_killed_bot_goes_with_the_next_video(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    settings = settings_for_fakes(discord_fake, runcomfy_fake, tmp_path / "bot.db")
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    try:
        await discord_fake.invoke("animate", image=png(), prompt="first")
        await discord_fake.wait_for(
            lambda: len(videos_in(discord_fake, discord_fake.general)) == 1, within=20
        )
        [left] = scratch_dirs(bot.tmp)
        await bot.kill()  # no cleanup: the directory stays, its lock held by nobody
        assert scratch_dirs(bot.tmp) == [left]

        await bot.start()
        await discord_fake.invoke("animate", image=png(), prompt="second")
        await discord_fake.wait_for(
            lambda: len(videos_in(discord_fake, discord_fake.general)) == 2, within=20
        )
        [live] = scratch_dirs(bot.tmp)
        assert live != left
        await bot.stop()
        assert scratch_dirs(bot.tmp) == []  # a clean stop removes its own
    finally:
        await bot.kill()
