"""Post to channel fetches the video into the process's scratch directory, which a
crash leaves for the next bot to sweep (bot/scratch.py), not into /tmp at large."""

from __future__ import annotations

from app.client import AnimateBot
from tests.cogs.animate.helpers import scratch_files
from tests.cogs.animate.test_private import private_video, public_videos, share_id
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy


async def test_post_to_channel_works_inside_the_scratch_directory(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, _, video = await private_video(discord_fake, runcomfy_fake, private=True)
    discord_fake.cdn_latency = 10.0  # the posted file is slow to fetch again
    await discord_fake.click(video, share_id(video))
    await discord_fake.wait_for(lambda: discord_fake.cdn_in_flight == 1, within=10)
    scratch = bot.jobs.scratch()
    assert [p.name.split("-")[0] for p in scratch_files(scratch)] == ["share"]
    discord_fake.release_cdn()
    await discord_fake.wait_for(lambda: public_videos(discord_fake), within=10)
    await discord_fake.wait_for(lambda: scratch_files(scratch) == [], within=5)
