"""Extend reads the video it goes on from (for its last frame): each press read the whole
file into memory (discord.py's Attachment.save), where Post to channel and the spoiler
already stream theirs to disk. Anyone may press Extend, once per video."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_private import public_videos
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy, Timeline

BIG = 60 * 1024 * 1024
PRESSES = 5


def extend_button(message) -> str:  # type: ignore[no-untyped-def]
    return next(c for c in message.custom_ids if c.startswith("animate:extend:"))


async def test_extend_presses_on_big_videos_by_several_members_hold_little_memory(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    discord_fake.upload_limit = 100 * 1024 * 1024  # a boosted server: the videos fit
    pressers = [discord_fake.add_user(f"presser{i}") for i in range(PRESSES)]
    settings = settings_for_fakes(
        discord_fake, runcomfy_fake, tmp_path / "bot.db", quota_user_concurrent=PRESSES
    )
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    try:
        runcomfy_fake.script(
            *[Timeline(queue_seconds=0.1, run_seconds=0.1, video_size=BIG)] * PRESSES
        )
        for i in range(PRESSES):
            await discord_fake.invoke(
                "animate", image=png(), prompt=f"clip {i}", attachment_size_limit=BIG * 2
            )
        videos = await discord_fake.wait_for(
            lambda: len(public_videos(discord_fake)) == PRESSES and public_videos(discord_fake),
            within=60,
        )
        await discord_fake.wait_for(lambda: bot.memory()["VmRSS"] < 300_000_000, within=10)
        before = bot.memory()["VmHWM"]
        presses = await asyncio.gather(
            *(
                discord_fake.click(
                    video, extend_button(video), user=presser, attachment_size_limit=BIG * 2
                )
                for video, presser in zip(videos, pressers, strict=True)
            )
        )
        # The fake's videos are no MP4: each press ends "no last frame", after its read.
        await discord_fake.wait_for(lambda: all(ix.followup_ids for ix in presses), within=60)
        peak = bot.memory()["VmHWM"]
    finally:
        await bot.stop()
    assert runcomfy_fake.count("submit") == PRESSES  # no extension was sent
    assert peak - before < 100_000_000, f"{(peak - before) / 1e6:.0f} MB more at the peak"
