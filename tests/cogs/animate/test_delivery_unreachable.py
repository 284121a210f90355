"""A RunComfy that cannot be reached is visible to the operator (issue 12, item 11)."""

from __future__ import annotations

import logging

import pytest

from bot.domain import JobStatus
from tests.bot.jobs.harness import Harness
from tests.cogs.animate.helpers import FAST, jobs_log
from tests.fakes.runcomfy import Timeline


async def test_an_unreachable_runcomfy_warns_per_call_and_alerts_once(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h: Harness = await harness_factory()
    await h.fake.close()  # connection refused from now on
    jobs = [await h.start_job(user_id=uid) for uid in (1, 2, 3)]

    assert [j.status for j in jobs] == [JobStatus.FAILED] * 3
    warnings = [
        r
        for r in caplog.records
        if r.name == "bot.runcomfy.client" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 3  # once per failed call, not once per retry
    errors = jobs_log(caplog, "bot.jobs", logging.ERROR)
    assert errors and all("reach" in line for line in errors)
    assert len(h.observer.alerts) == 1  # not one per job
    assert "RunComfy" in h.observer.alerts[0]
    assert all("not answering" in (j.error or "") for j in jobs)


async def test_a_render_whose_result_never_answers_ends_soon_after_it_is_done(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    # /result (polled while rendering) down, /status fine: the end is seen on /status
    # and the bounded result fetch fails the job loudly, instead of /result being
    # polled until the job timeout (30 minutes in production) with the user told nothing.
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(queue_positions=(1,), queue_seconds=0.1, run_seconds=1.0))
    job = await h.start_job()
    assert job.id is not None
    await h.wait_status(job.id, JobStatus.IN_PROGRESS)
    h.fake.inject("result", "503", times=10_000)
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=15)
    assert failed.error and "not answering" in failed.error
    assert len(h.observer.alerts) == 1


async def test_an_unreachable_result_fails_the_job_loudly(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(**FAST))
    h.fake.inject("result", "503", times=1000)
    job = await h.start_job()
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=10)  # type: ignore[arg-type]
    assert failed.error and "not answering" in failed.error
    assert jobs_log(caplog, "bot.jobs", logging.ERROR)
    assert len(h.observer.alerts) == 1
