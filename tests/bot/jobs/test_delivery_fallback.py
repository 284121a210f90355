"""No silent "Done" (issue 27, item 12).

An unexpected error on the way to Discord marked the job delivered with nothing
posted. Now the link goes instead (the followup, the channel, then a DM), and if that
fails too the job ends failed, saying so in its status and in /history, with the link.
The service against the recorder of what Discord is asked; then the real bot against
a fake Discord whose posts answer garbage (discord.py raises no HTTP error for it).
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from app.client import AnimateBot
from bot.domain import JobStatus
from bot.jobs import LinkReason
from tests.bot.jobs.harness import Harness
from tests.bot.jobs.harness import harness_factory as _harness_factory
from tests.cogs.animate.helpers import request_id_of, start_queued, state_of, wait_state
from tests.cogs.test_history import reply
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline

harness_factory = _harness_factory  # the JobService + fake RunComfy fixture, shared

FAST = Timeline(queue_seconds=0.05, run_seconds=0.05)


async def test_an_error_posting_the_video_posts_its_link_instead(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    h: Harness = await harness_factory()
    h.fake.script(FAST)
    h.observer.deliveries_failing = 1
    job = await h.start_job()
    assert job.id is not None
    done = await h.wait_status(job.id, JobStatus.DELIVERED)
    # The link was posted, and the delivery says where.
    assert [video for _, video in h.observer.delivered] == [None]
    assert h.observer.reasons == [LinkReason.NOT_UPLOADED]
    assert done.delivered_message_id == 9001 and done.video_url
    assert h.observer.ended == []
    assert any("posting the video failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("link", ["raises", "reaches_nobody"])
async def test_a_video_that_cannot_be_posted_at_all_ends_failed_with_its_link(
    harness_factory, link: str
) -> None:
    h: Harness = await harness_factory()
    h.fake.script(FAST)
    h.observer.deliveries_failing = 2 if link == "raises" else 1
    h.observer.nowhere = link == "reaches_nobody"
    job = await h.start_job()
    assert job.id is not None
    failed = await h.wait_status(job.id, JobStatus.FAILED)
    assert failed.delivered_message_id is None
    assert failed.video_url and failed.error
    assert "could not be posted" in failed.error and failed.video_url in failed.error
    assert [j.status for j in h.observer.ended] == [JobStatus.FAILED]
    assert h.observer.delivered == []
    for _ in range(40):  # bounded: its tracker ends once the row is final
        if h.service.live_trackers == 0:
            break
        await asyncio.sleep(0.05)
    assert h.service.live_trackers == 0


# -- the real bot: what the author reads -------------------------------------------------


async def test_a_video_post_that_breaks_becomes_a_link_in_the_channel(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot: AnimateBot = await runner.start()
    _, status = await start_queued(discord_fake, runcomfy_fake)
    discord_fake.garble_next_posts = 1
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, status, "Done")
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.status is JobStatus.DELIVERED and job.video_url
    linked = [m for m in discord_fake.channel_messages() if job.video_url in m.content]
    assert [m.id for m in linked] == [job.delivered_message_id]
    assert "Uploading it here failed" in linked[0].content


async def test_a_video_that_cannot_be_posted_says_so_in_its_status_and_history(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot: AnimateBot = await runner.start()
    _, status = await start_queued(discord_fake, runcomfy_fake)
    discord_fake.garble_next_posts = 2  # the video, then its link
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, status, "Failed")
    assert "could not post it here" in state_of(status)
    assert "could not be made" not in state_of(status)
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.status is JobStatus.FAILED and job.video_url
    # The author is told, with the link, in the one message that got through.
    told = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if job.video_url in m.content]
    )
    assert "was made" in told[0].content and "could not be made" not in told[0].content
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    shown = json.dumps(detail.embeds)
    assert "Failed" in shown and "could not be posted" in shown and job.video_url in shown
