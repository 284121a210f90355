"""Finished jobs leave nothing behind: no per-job state, no scratch files (issue 12, item 9)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import pytest

from bot.domain import JobStatus
from tests.bot.jobs.harness import Harness
from tests.cogs.animate.helpers import FAST, jobs_log, png, scratch_files, status_message
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_finished_jobs_leave_no_per_job_state(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(quota_user_concurrent=20, quota_user_daily=50)
    runcomfy_fake.script(
        *[Timeline(queue_seconds=0.05, run_seconds=0.05) for _ in range(4)],
        Timeline(queue_seconds=0.05, run_seconds=0.05, outcome="failed"),
        Timeline(queue_seconds=0.05, run_seconds=0.05, video_status=404),
        Timeline(manual=True),  # cancelled at the video service
        Timeline(manual=True),  # its status message deleted: the edit fails
    )
    interactions = [
        await discord_fake.invoke("animate", image=png(), prompt=f"job {i}") for i in range(8)
    ]
    await discord_fake.wait_for(lambda: len(runcomfy_fake.jobs) == 8, within=15)
    *_, cancelled, deleted = list(runcomfy_fake.jobs)
    runcomfy_fake.set_state(cancelled, "cancelled")
    discord_fake.delete(status_message(discord_fake, interactions[-1]))
    runcomfy_fake.set_state(deleted, "completed")

    async def all_final() -> bool:
        jobs = await bot.jobs.store.list_for_user(discord_fake.author.id)
        return len(jobs) == 8 and all(j.status.is_final for j in jobs)

    for _ in range(300):  # bounded: 15 s
        if await all_final():
            break
        await asyncio.sleep(0.05)
    assert await all_final()
    board = bot.get_cog("Animate").board  # type: ignore[union-attr]
    await discord_fake.wait_for(lambda: board.live_entries() == 0, within=5)
    assert board.sessions == {} and board.unreachable == set()
    # Nor files: the videos posted (and the one that could not be fetched) are gone.
    scratch = bot.jobs.poster.scratch.current
    assert scratch is not None and scratch_files(scratch) == []


async def scratch_after_one_video(h: Harness, more: int = 0) -> Path:
    """The poster's scratch directory once a first video is delivered (`more` scripted after)."""
    h.fake.script(*[Timeline(**FAST) for _ in range(1 + more)])
    first = await h.start_job()
    await h.wait_status(first.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    scratch = h.service.poster.scratch.current
    assert scratch is not None
    return scratch


async def test_a_stop_removes_the_scratch_directory_of_the_videos(harness_factory) -> None:
    h: Harness = await harness_factory()
    scratch = await scratch_after_one_video(h)
    assert scratch.is_dir() and scratch_files(scratch) == []
    await h.service.close()
    assert not scratch.exists()


async def test_a_video_that_cannot_be_written_here_is_posted_as_a_link(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    # The bot's own disk fails the write (full, gone, read-only): the author still gets
    # the video, as its link, and the operator reads why in the log; the job does not
    # sit "completed" until a restart that would fail the same way.
    caplog.set_level(logging.ERROR)
    h: Harness = await harness_factory()
    scratch = await scratch_after_one_video(h, more=1)
    # Where the next video would be written: a link into a folder that does not exist.
    (scratch / "job-2-2.mp4").symlink_to(scratch / "gone" / "video.mp4")
    second = await h.start_job()
    assert second.id == 2
    await h.wait_status(second.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    job, video = h.observer.delivered[1]
    assert video is None and job.id == 2  # a link, not nothing
    assert any(
        "could not be written" in line for line in jobs_log(caplog, "bot.jobs", logging.ERROR)
    )


async def test_a_scratch_directory_removed_under_the_bot_is_made_again(harness_factory) -> None:
    # systemd-tmpfiles and the like clear old directories in /tmp: a bot idle for days
    # must not fail its next video for it.
    h: Harness = await harness_factory()
    scratch = await scratch_after_one_video(h, more=1)
    shutil.rmtree(scratch)  # as /tmp cleaners do
    second = await h.start_job()
    await h.wait_status(second.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert len(h.observer.delivered) == 2 and h.observer.delivered[1][1]  # the file itself
