"""A stop that interrupts a command after its job's row is written but before anything
was sent to RunComfy: the job ends as never started (nothing charged, nothing counted),
not "lost" at the next start, which counted it at its estimate against the budgets and
the member's day, and told the channel the bot had lost track of a video that never was.

The bot runs as its own process and gets a real SIGTERM.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.domain import JobStatus
from bot.store import JobStore
from tests.app.test_signals import STOP_WITHIN, bot_settings, jobs_in, log_of
from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeDiscord
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy


async def test_a_job_stopped_before_it_was_sent_ends_unstarted_and_costs_nothing(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    settings = bot_settings(discord_fake, runcomfy_fake, tmp_path, shutdown_grace_seconds=0.5)
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    # Every Discord call slow: the row is written while its status message is posted.
    discord_fake.latency = 2.0
    await discord_fake.invoke("animate", image=png(), prompt="a slow channel")
    for _ in range(200):
        if await jobs_in(settings, discord_fake.author):
            break
        await asyncio.sleep(0.05)
    assert await jobs_in(settings, discord_fake.author), "the row was never written"

    code, _ = await bot.terminate(within=STOP_WITHIN)
    discord_fake.latency = 0.0
    assert code == 0, log_of(tmp_path)
    await bot.start()
    try:
        (job,) = await jobs_in(settings, discord_fake.author)
        assert runcomfy_fake.submits == []
        assert job.status is JobStatus.FAILED and job.request_id is None, job
        async with await JobStore.open(settings.database_path) as store:
            assert await store.spend_since(0.0) == 0.0
            usage = await store.quota_usage(discord_fake.author.id, since=0.0)
        assert usage.user_since == 0  # the member's day is untouched
        said = " ".join(m.content for m in discord_fake.visible_to(discord_fake.author))
        assert "lost track" not in said, said
    finally:
        await bot.stop()
