"""JobService from submit to delivery: tracked, delivered or linked, failed, within quotas."""

from __future__ import annotations

import asyncio
import itertools
import logging
import statistics

import pytest

from bot.domain import JobStatus
from bot.quotas import QuotaExceeded, QuotaKind
from tests.bot.jobs.harness import Harness
from tests.fakes.runcomfy import Timeline


async def test_happy_path_submits_once_tracks_and_delivers(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(queue_positions=(2, 1), queue_seconds=0.2, run_seconds=0.2, cost=0.12))
    job = await h.start_job(resolution="720p", ratio="16:9", duration=8, generate_audio=False)
    assert job.status is JobStatus.IN_QUEUE and job.request_id

    done = await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]

    assert h.fake.submits == [
        {
            "prompt": "the cat blinks",
            "first_frame_image_url": "https://cdn.example/cat.png",
            "resolution": "720p",
            "ratio": "16:9",
            "duration": 8,
            "generate_audio": False,
            "camera_fixed": True,
        }
    ]
    assert len(h.observer.delivered) == 1
    _, video = h.observer.delivered[0]
    assert video is not None and len(video) == Timeline().video_size
    assert done.delivered_message_id == 9001
    assert done.cost == pytest.approx(0.12)
    assert done.submitted_at and done.started_at and done.finished_at and done.delivered_at
    seen = [u.status for u in h.observer.updates]
    assert JobStatus.IN_QUEUE in seen and JobStatus.IN_PROGRESS in seen
    assert seen[-1] is JobStatus.DELIVERED
    assert h.observer.ended == []


async def test_too_large_video_is_linked_not_downloaded_whole(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.observer.limit = 1000
    h.fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05, video_size=50_000))
    job = await h.start_job()
    await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    ((_, video),) = h.observer.delivered
    assert video is None


async def test_failed_job_ends_with_reason(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.script(
        Timeline(queue_seconds=0.05, run_seconds=0.05, outcome="failed", error="content policy")
    )
    job = await h.start_job()
    failed = await h.wait_status(job.id, JobStatus.FAILED)  # type: ignore[arg-type]
    assert "content policy" in (failed.error or "")
    assert [j.status for j in h.observer.ended] == [JobStatus.FAILED]
    assert h.observer.delivered == []


async def test_a_status_message_finds_its_job_while_the_burst_holds_the_submit(
    harness_factory,
) -> None:
    # A ❌ finds its job by the status message. In a burst the submit waits for the
    # others' messages (up to 8 s), and the row learnt its message only after that wait:
    # a ❌ meanwhile found nothing. Written before the wait, the burst's rows are also not
    # written at once when its submits go (the last messages would wait behind them).
    h: Harness = await harness_factory()
    h.fake.script(Timeline(manual=True))
    arriving = [f"other-{i}" for i in range(h.service.arrivals.burst)]
    for key in arriving:
        h.service.arrivals.arrive(key)
    job = await h.new_job()
    assert job.id is not None
    submitting = asyncio.create_task(
        h.service.submit(
            job.id, image_url="https://cdn.example/cat.png", status_message_id=77, hosted_url=None
        )
    )
    for _ in range(100):  # bounded: 1 s
        if await h.service.store.find_by_status_message(77) is not None:
            break
        await asyncio.sleep(0.01)
    found = await h.service.store.find_by_status_message(77)
    assert found is not None and found.id == job.id
    assert not h.fake.submits  # still held
    for key in arriving:
        h.service.arrivals.arrived(key)
    submitted = await asyncio.wait_for(submitting, 5)
    assert submitted.status is JobStatus.IN_QUEUE and len(h.fake.submits) == 1


async def test_quotas(harness_factory) -> None:
    h: Harness = await harness_factory(
        quota_user_concurrent=2, quota_user_daily=3, quota_global_concurrent=3
    )
    h.fake.script(*(Timeline(manual=True) for _ in range(5)))
    first = await h.start_job(user_id=1)
    await h.start_job(user_id=1)
    with pytest.raises(QuotaExceeded) as concurrent:
        await h.start_job(user_id=1)
    assert concurrent.value.kind is QuotaKind.USER_CONCURRENT

    await h.start_job(user_id=2)
    with pytest.raises(QuotaExceeded) as global_cap:
        await h.start_job(user_id=3)
    assert global_cap.value.kind is QuotaKind.GLOBAL_CONCURRENT

    # A job cancelled while queued frees its slot and is not charged: no daily use.
    await h.service.cancel(first.id, actor_id=1, actor_is_moderator=False)  # type: ignore[arg-type]
    third = await h.start_job(user_id=1)
    # A delivered job frees its slot but was charged: it uses a daily one.
    h.fake.set_state(third.request_id, "completed")  # type: ignore[arg-type]
    await h.wait_status(third.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    fourth = await h.start_job(user_id=1)
    h.fake.set_state(fourth.request_id, "completed")  # type: ignore[arg-type]
    await h.wait_status(fourth.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    with pytest.raises(QuotaExceeded) as daily:
        await h.start_job(user_id=1)
    assert daily.value.kind is QuotaKind.USER_DAILY
    second = (await h.service.store.list_for_user(1))[-2]
    assert daily.value.frees_at == pytest.approx(second.created_at + 86400)
    assert len(h.fake.submits) == 5


async def test_jobs_never_sent_leave_the_daily_quota_alone(harness_factory) -> None:
    h: Harness = await harness_factory(quota_user_daily=1)
    # Abandoned before the submit (the status message failed): not charged.
    abandoned = await h.new_job()
    await h.service.abandon(abandoned.id, "The status message could not be posted.")  # type: ignore[arg-type]
    # Refused at submit (the service rejected the token): not charged.
    h.fake.inject("submit", "token")
    refused = await h.start_job()
    assert refused.status is JobStatus.FAILED and refused.request_id is None
    h.fake.script(Timeline(manual=True))
    accepted = await h.start_job()  # the one daily slot
    assert accepted.status is JobStatus.IN_QUEUE
    await h.service.cancel(accepted.id, actor_id=1, actor_is_moderator=False)  # type: ignore[arg-type]
    # An ambiguous submit might have been charged: it takes the slot the cancel freed.
    h.fake.inject("submit", "submit_500_after_create")
    lost = await h.start_job()
    assert lost.status is JobStatus.LOST
    with pytest.raises(QuotaExceeded) as daily:
        await h.start_job()
    assert daily.value.kind is QuotaKind.USER_DAILY
    assert daily.value.frees_at == pytest.approx(lost.created_at + 86400)


async def test_a_slow_answer_does_not_stretch_the_time_between_polls(harness_factory) -> None:
    # The delay spaces what RunComfy is asked: a poll answered in 0.3 s is followed by
    # the next one a delay after it was asked, not a delay after the answer came.
    # The job's time limit is far past the 10 polls, so a loaded machine cannot end it first.
    h: Harness = await harness_factory(
        poll_min_seconds=0.5, poll_max_seconds=0.5, job_timeout_seconds=60.0
    )
    # Next in line: dense polling, whose jitter is +/- 10 %, not the sparse +/- 50 %.
    h.fake.script(Timeline(queue_positions=(1,), manual=True))
    h.fake.inject("status", "slow", delay=0.3, times=10)
    await h.start_job()
    for _ in range(400):  # bounded: 20 s
        if h.fake.count("status") >= 10:
            break
        await asyncio.sleep(0.05)
    asked = [r.at for r in h.fake.requests if r.endpoint == "status"][:10]
    gaps = [b - a for a, b in itertools.pairwise(asked)]
    assert len(gaps) == 9
    # A delay of 0.45-0.55 s from the ask, but at least half of it after the answer:
    # gaps of 0.53-0.58 s. Stretched by each answer: 0.75-0.85 s. The threshold leaves
    # a loaded machine 0.1 s a poll.
    assert statistics.fmean(gaps) < 0.68, gaps


async def test_a_delivery_that_fails_unexpectedly_ends_the_job_not_its_tracker(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    # Whatever breaks on the way to Discord, the job must not sit "completed" (its
    # status message at Rendering) until a restart that would trip on it again.
    caplog.set_level(logging.ERROR)
    h: Harness = await harness_factory()
    h.fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05))
    h.observer.deliveries_failing = 1
    job = await h.start_job()
    done = await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    # Not "delivered" with nothing posted (issue 27 #12): its link went instead.
    assert done.delivered_message_id is not None and done.video_url
    for _ in range(40):  # bounded: its tracker ends once the row is final
        if h.service.live_trackers == 0:
            break
        await asyncio.sleep(0.05)
    assert h.service.live_trackers == 0
    assert any("posting its link" in r.getMessage() for r in caplog.records)
