"""A 429 from Discord whose retry_after is an hour (a shared limit, an edit cap on old
messages): discord.py sleeps it out, on the webhook routes without any cap. The job's end
must not wait an hour behind it: the author is told, and the video posted, elsewhere."""

from __future__ import annotations

import time

from tests.cogs.animate.helpers import (
    png,
    posted_videos,
    request_id_of,
    start_queued,
    state_of,
    status_message,
    wait_state,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy

AN_HOUR = 3600.0
# Small, so that the test waits seconds for what production waits its default for.
DEADLINES = {"http_timeout_seconds": 1.0, "video_download_timeout_seconds": 2.0}


async def test_an_hour_long_429_on_the_final_status_edit_does_not_hold_the_failure_notice(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start(**DEADLINES)
    _, status = await start_queued(discord_fake, runcomfy_fake)
    discord_fake.rate_limit_once("/messages/@original", retry_after=AN_HOUR)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "failed")
    began = time.monotonic()
    await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "could not be made" in m.content],
        within=10,
    )
    # The status itself shows it too, through the bot's own channel route.
    await wait_state(discord_fake, status, "Failed")
    assert time.monotonic() - began < 10


async def test_an_hour_long_429_on_the_video_followup_posts_it_in_the_channel(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start(**DEADLINES)
    _, status = await start_queued(discord_fake, runcomfy_fake)
    discord_fake.rate_limit_once("/webhooks/", retry_after=AN_HOUR)  # the followup's route
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    (video,) = await discord_fake.wait_for(lambda: posted_videos(discord_fake), within=10)
    assert video.channel_id == discord_fake.general
    await discord_fake.wait_for(lambda: "Done" in state_of(status), within=10)


async def test_an_hour_long_429_on_the_admin_channel_does_not_hold_the_job_it_alerts_about(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start(admin_channel_id=discord_fake.art, **DEADLINES)
    discord_fake.rate_limit_once(f"/channels/{discord_fake.art}/messages", retry_after=AN_HOUR)
    runcomfy_fake.inject("submit", "balance")  # an operator problem: the admin channel hears
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await discord_fake.wait_for(lambda: ix.original_id)
    await wait_state(discord_fake, status_message(discord_fake, ix), "Failed")
    await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "unavailable" in m.content],
        within=10,
    )


async def test_an_hour_long_429_on_the_status_message_starts_nothing_and_says_so(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(**DEADLINES)
    discord_fake.rate_limit_once("/messages/@original", retry_after=AN_HOUR)
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    (told,) = await discord_fake.wait_for(lambda: ix.followup_ids, within=10)
    assert "did not start the video" in discord_fake.messages[told].content
    assert runcomfy_fake.submits == []
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.status.is_final  # its place in the member's limits is free again
