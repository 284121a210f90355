"""An alert posted at start (a model retired while the bot was down) that Discord holds
up with an hour's 429 must not hold the start: the bot gets ready and takes videos."""

from __future__ import annotations

import asyncio

from tests.cogs.animate.helpers import png, posted_videos
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import SEEDANCE_15, SEEDANCE_25, seedance_25


async def test_a_held_alert_about_a_retired_model_does_not_hold_the_start(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.host(SEEDANCE_25, seedance_25())
    await runner.start(
        runcomfy_model_ids=[SEEDANCE_15, SEEDANCE_25],
        admin_channel_id=discord_fake.art,
        http_timeout_seconds=1.0,
    )
    # Retired while the bot was down: the next start says so in the admin channel.
    await runner.stop()
    runcomfy_fake.models[SEEDANCE_25].retired = True
    discord_fake.rate_limit_once(f"/channels/{discord_fake.art}/messages", retry_after=3600.0)
    async with asyncio.timeout(15):  # the start held an hour behind its alert
        await runner.start()
    runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05))
    await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    await discord_fake.wait_for(lambda: posted_videos(discord_fake), within=10)
