"""A video is posted once: a dropped connection, a lost answer or a crash never posts it twice."""

from __future__ import annotations

import asyncio

from app.client import AnimateBot
from bot.domain import Job, JobStatus
from tests.cogs.animate.helpers import posted_videos, request_id_of, start_queued, wait_state
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy


async def finished_with_one_video(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> tuple[Job, FakeMessage]:
    """A queued job finishes: its row once delivered, and the one video posted."""
    _, status = await start_queued(discord_fake, runcomfy_fake)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, status, "Done")
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.status is JobStatus.DELIVERED
    (video,) = posted_videos(discord_fake)
    return job, video


async def test_a_post_whose_connection_drops_goes_to_the_next_place_once(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Discord resets the connection of the followup (no answer, nothing posted): the
    # video still reaches the author, once, instead of the job sitting "completed".
    discord_fake.drop_next_posts = 1
    job, video = await finished_with_one_video(bot, discord_fake, runcomfy_fake)
    assert discord_fake.drop_next_posts == 0
    assert job.delivered_message_id == video.id
    assert video.pinged_users == {discord_fake.author.id}


async def test_a_post_whose_answer_is_lost_is_found_not_posted_again(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The followup was posted but its answer never came back: the bot looks before
    # posting in the channel, finds it, and records it.
    discord_fake.lose_next_answers = 1
    job, video = await finished_with_one_video(bot, discord_fake, runcomfy_fake)
    assert discord_fake.lose_next_answers == 0
    assert video.interaction_token is not None  # the followup itself
    assert job.delivered_message_id == video.id


async def crash_before_recording(runner: BotRunner, bot: AnimateBot, job: Job) -> Job:
    """As if the process died after Discord took the post but before the row said so:
    the row back to `completed`, a restart, and the job as the new process left it."""
    await bot.jobs.store.update(job.id, status=JobStatus.COMPLETED, delivered_message_id=None)  # type: ignore[arg-type]
    bot = await runner.restart()
    for _ in range(100):  # bounded: until the restarted bot has dealt with it
        again = await bot.jobs.store.get(job.id)  # type: ignore[arg-type]
        if again is not None and again.status is JobStatus.DELIVERED:
            return again
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job.id} not delivered again after the restart")


async def test_a_crash_between_posting_and_recording_does_not_post_twice(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start()
    _, status = await start_queued(discord_fake, runcomfy_fake)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, status, "Done")
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    # As if the process died after Discord took the video but before the row said so:
    # it came as a followup, which has no nonce for Discord to drop a second post by.
    (video,) = posted_videos(discord_fake)
    assert video.interaction_token is not None
    again = await crash_before_recording(runner, bot, job)
    assert again.delivered_message_id == video.id
    assert posted_videos(discord_fake) == [video]


async def test_a_crash_after_posting_only_the_link_does_not_post_it_twice(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(max_video_bytes=1000)  # every fake video is larger: a link
    _, status = await start_queued(discord_fake, runcomfy_fake)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, status, "Done")
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.video_url is not None

    def links() -> list[FakeMessage]:
        return [m for m in discord_fake.channel_messages() if job.video_url in m.content]

    (link,) = links()
    assert link.interaction_token is not None and not link.attachments  # a followup, no file
    again = await crash_before_recording(runner, bot, job)
    assert again.delivered_message_id == link.id
    assert links() == [link]
