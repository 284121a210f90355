"""JobService when RunComfy fails it: no retried submit, operator alerts, faults, timeouts."""

from __future__ import annotations

from bot.domain import JobStatus
from tests.bot.jobs.harness import Harness
from tests.fakes.runcomfy import Timeline


async def test_ambiguous_submit_is_never_retried(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.inject("submit", "submit_500_after_create")
    job = await h.start_job()
    assert job.status is JobStatus.LOST
    assert h.fake.count("submit") == 1
    assert [j.status for j in h.observer.ended] == [JobStatus.LOST]


async def test_operator_problems_say_unavailable_and_alert(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.inject("submit", "balance")
    job = await h.start_job()
    assert job.status is JobStatus.FAILED
    assert "unavailable" in (job.error or "")
    assert "balance" not in (job.error or "").lower()
    assert len(h.observer.alerts) == 1


async def test_status_faults_are_survived(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    for fault in ("429", "500", "502", "503", "malformed", "error_200", "reset"):
        h.fake.inject("status", fault, retry_after=0.01 if fault == "429" else None)
    h.fake.inject("result", "503")
    job = await h.start_job()
    await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert h.fake.count("submit") == 1
    assert len(h.observer.delivered) == 1


async def test_timeout_cancels_at_runcomfy_and_tells_the_author(harness_factory) -> None:
    h: Harness = await harness_factory(job_timeout_seconds=0.3)
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    ended = await h.wait_status(job.id, JobStatus.TIMED_OUT)  # type: ignore[arg-type]
    assert ended.error
    assert h.fake.count("cancel") == 1
    assert [j.status for j in h.observer.ended] == [JobStatus.TIMED_OUT]
