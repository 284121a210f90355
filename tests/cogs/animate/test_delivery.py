"""Work is never lost at the edges of delivery (issue 12, items 5 and 7): a finished job
without a video ends quickly, downloads have a deadline and failures are told truthfully.

JobService runs against the loopback RunComfy fake (the observer is the recorder of
tests/bot/jobs/harness.py); the end-to-end ones run the real bot.
"""

from __future__ import annotations

import logging
import time

import pytest

from bot.domain import JobStatus
from bot.jobs import RESULT_ATTEMPTS, LinkReason
from tests.bot.jobs.harness import Harness
from tests.cogs.animate.helpers import (
    FAST,
    jobs_log,
    png,
    request_id_of,
    status_message,
    wait_state,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline


@pytest.mark.parametrize(
    "timeline",
    [
        Timeline(result_output={}, **FAST),
        Timeline(result_output={"video": ""}, **FAST),
        Timeline(result_output={"video": 42}, **FAST),
        Timeline(result_output={"videos": []}, **FAST),
        Timeline(result_output="not an object", **FAST),
        Timeline(result_output={}, result_status_word="¿garbage?", **FAST),
    ],
    ids=["empty", "empty-string", "not-a-string", "empty-list", "output-not-object", "garbage"],
)
async def test_a_result_without_a_video_fails_quickly_and_is_logged(
    harness_factory, caplog: pytest.LogCaptureFixture, timeline: Timeline
) -> None:
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(timeline)
    job = await h.start_job()
    began = time.monotonic()
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=8)  # type: ignore[arg-type]

    assert time.monotonic() - began < 8  # not the 10 minutes of the job's timeout
    assert [j.status for j in h.observer.ended] == [JobStatus.FAILED]
    assert failed.error and "no video" in failed.error
    assert "garbage" not in failed.error and "42" not in failed.error  # no upstream words
    assert h.observer.delivered == []
    assert h.fake.count("result") <= RESULT_ATTEMPTS
    assert any(f"Job {job.id}" in line for line in jobs_log(caplog, "bot.jobs", logging.WARNING))


@pytest.mark.parametrize(
    ("output", "ends"),
    [({}, JobStatus.FAILED), (None, JobStatus.DELIVERED)],
    ids=["no-video", "video"],
)
async def test_a_rendering_job_whose_result_says_nonsense_is_checked_on_status(
    harness_factory, caplog: pytest.LogCaptureFixture, output: dict | None, ends: JobStatus
) -> None:
    # Rendering jobs poll /result. An unknown word there is "still running" by the
    # contract, so a job done at RunComfy stayed "Rendering" till its timeout (CI saw it
    # when the poll landed mid-render): /status, which says "completed", settles it.
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(manual=True, result_output=output, result_status_word="¿garbage?"))
    job = await h.start_job()
    request_id = next(iter(h.fake.jobs))
    h.fake.set_state(request_id, "in_progress")
    await h.wait_status(job.id, JobStatus.IN_PROGRESS, within=8)  # type: ignore[arg-type]
    h.fake.set_state(request_id, "completed")
    began = time.monotonic()
    await h.wait_status(job.id, ends, within=8)  # type: ignore[arg-type]

    assert time.monotonic() - began < 8  # not the 10 minutes of the job's timeout
    shown = [j.status for j in h.observer.ended] + [JobStatus.DELIVERED] * len(h.observer.delivered)
    assert shown == [ends]
    assert h.fake.count("result") <= RESULT_ATTEMPTS  # the unclear poll was the first try
    warned = jobs_log(caplog, "bot.runcomfy.client", logging.WARNING)
    assert sum("garbage" in line for line in warned) == 1  # logged once, not per poll


async def test_a_result_expired_after_completion_says_so(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(**FAST))
    h.fake.inject("result", "expired", times=50)
    job = await h.start_job()
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=8)  # type: ignore[arg-type]
    assert failed.error and "no longer" in failed.error
    assert "404001" not in failed.error and "Request not found" not in failed.error
    assert any("expired" in line for line in jobs_log(caplog, "bot.jobs", logging.WARNING))


async def test_a_render_whose_result_is_gone_when_polled_says_so(harness_factory) -> None:
    # Rendering jobs are polled on /result: its 404 (expired) is that, not a refusal.
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    request_id = next(iter(h.fake.jobs))
    h.fake.set_state(request_id, "in_progress")
    await h.wait_status(job.id, JobStatus.IN_PROGRESS, within=8)  # type: ignore[arg-type]
    h.fake.inject("result", "expired", times=50)
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=8)  # type: ignore[arg-type]
    assert failed.error and "no longer" in failed.error


async def test_a_trickling_cdn_cannot_hold_a_delivery(harness_factory) -> None:
    h: Harness = await harness_factory(video_download_timeout_seconds=0.5)
    h.fake.script(Timeline(video_size=2_000_000, video_trickle_seconds=0.01, **FAST))
    job = await h.start_job()
    began = time.monotonic()
    await h.wait_status(job.id, JobStatus.DELIVERED, within=6)  # type: ignore[arg-type]
    assert time.monotonic() - began < 4
    assert [video for _, video in h.observer.delivered] == [None]  # the link instead
    assert h.observer.reasons == [LinkReason.UNAVAILABLE]


async def test_a_video_the_cdn_cannot_serve_is_linked_as_unavailable(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(video_status=404, **FAST))
    job = await h.start_job()
    await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert h.observer.reasons == [LinkReason.UNAVAILABLE]


async def test_a_video_too_large_is_linked_as_too_large(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.observer.limit = 1000
    h.fake.script(Timeline(video_size=50_000, **FAST))
    job = await h.start_job()
    await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert h.observer.reasons == [LinkReason.TOO_LARGE]


async def test_the_link_says_the_file_could_not_be_fetched_not_too_large(
    bot: object, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(video_status=404, queue_seconds=0.1, run_seconds=0.1))
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    link = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "/videos/" in m.content],
        within=10,
    )
    assert runcomfy_fake.video_url(request_id_of(runcomfy_fake)) in link[0].content
    assert "could not fetch" in link[0].content
    assert "upload limit" not in link[0].content and "larger" not in link[0].content
    assert link[0].pinged_users == {discord_fake.author.id}
    await wait_state(discord_fake, status_message(discord_fake, ix), "Done")
