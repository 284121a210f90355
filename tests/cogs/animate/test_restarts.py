"""/animate across a stop or a restart: a job goes on, is delivered once, or is lost."""

from __future__ import annotations

import asyncio

from bot.domain import JobStatus
from tests.cogs.animate.helpers import posted_videos, request_id_of, start_queued, wait_state
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy
from tests.models import job_fields


async def test_a_stop_while_the_video_is_being_posted_lets_it_land_and_not_twice(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # A followup has no nonce for Discord to drop a second post by: cut off mid-post,
    # the video would land unrecorded and the next start would post it again.
    bot = await runner.start()
    await start_queued(discord_fake, runcomfy_fake)
    discord_fake.latency = 0.4
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await discord_fake.wait_for(
        lambda: any(r.method == "POST" and "/webhooks/" in r.path for r in discord_fake.requests),
        within=10,
    )
    await runner.stop()
    discord_fake.latency = 0.0
    await asyncio.sleep(0.5)  # at Discord, a post cut off once its body was sent may land
    assert len(posted_videos(discord_fake)) == 1
    bot = await runner.start()
    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    assert job.status is JobStatus.DELIVERED
    await discord_fake.wait_for(lambda: True)
    assert len(posted_videos(discord_fake)) == 1


async def test_restart_mid_job_delivers_exactly_once_with_one_submit(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start()
    _, status = await start_queued(discord_fake, runcomfy_fake)
    rid = request_id_of(runcomfy_fake)
    runcomfy_fake.set_state(rid, "in_progress")
    await wait_state(discord_fake, status, "Rendering")
    await runner.stop()
    runcomfy_fake.set_state(rid, "completed")  # finishes while the bot is down
    bot = await runner.start()
    await wait_state(discord_fake, status, "Done")
    videos = [
        m
        for m in discord_fake.channel_messages()
        if m.attachments and m.attachments[0].filename.endswith(".mp4")
    ]
    assert len(videos) == 1 and len(runcomfy_fake.submits) == 1
    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    assert job.status is JobStatus.DELIVERED
    await runner.restart()  # a further restart does not deliver again
    assert (
        len(
            [
                m
                for m in discord_fake.channel_messages()
                if m.attachments and m.attachments[0].filename.endswith(".mp4")
            ]
        )
        == 1
    )


async def test_a_row_without_request_id_becomes_lost_at_start(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    from bot.domain import ImageFacts, Job
    from bot.store import JobStore

    store = await JobStore.open(runner.settings.database_path)
    await store.create(
        Job(
            user_id=discord_fake.author.id,
            guild_id=discord_fake.guild_id,
            channel_id=discord_fake.general,
            prompt="p",
            created_at=1.0,
            image=ImageFacts(filename="a.png", format="PNG", width=400, height=400, size_bytes=9),
            **job_fields(),
        )
    )
    await store.close()
    bot = await runner.start()
    told = await discord_fake.wait_for(
        lambda: [
            m for m in discord_fake.channel_messages() if "did not ask for it again" in m.content
        ]
    )
    assert told[0].pinged_users == {discord_fake.author.id}
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.status is JobStatus.LOST and runcomfy_fake.submits == []
