"""JobService against the loopback RunComfy fake and a real SQLite store.

The observer here is the Discord boundary (the animate cog in production): a
recorder of what the service asked to show, so these tests need no Discord.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import statistics
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.domain import ImageFacts, Job, JobStatus
from bot.jobs import CancelOutcome, Delivery, JobService, LinkReason, ProgressNote
from bot.models.registry import Models
from bot.quotas import QuotaExceeded, QuotaKind
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.models import options, seedance
from tests.stores import count_created_since

TOKEN = "rc-test-token-0123456789"
IMAGE = ImageFacts(filename="cat.png", format="PNG", width=800, height=600, size_bytes=12345)


class RecordingObserver:
    """Stands in for the animate cog: records what users would be shown."""

    def __init__(self, upload_limit: int = 10 * 1024 * 1024) -> None:
        self.updates: list[Job] = []
        self.ended: list[Job] = []
        self.delivered: list[tuple[Job, bytes | None]] = []
        self.alerts: list[str] = []
        self.notes: list[ProgressNote] = []
        self.reasons: list[LinkReason | None] = []
        self.limit = upload_limit
        self.changed = asyncio.Event()
        self.deliveries_failing = 0  # the next N deliveries raise, as a bug in the cog would
        self.nowhere = False  # no place reaches the author: deliveries return None

    async def job_updated(self, job: Job) -> None:
        self.updates.append(job)
        self.changed.set()

    async def job_ended(self, job: Job) -> None:
        self.ended.append(job)
        self.changed.set()

    def upload_limit(self, job: Job) -> int:
        return self.limit

    async def job_progress(self, job: Job, note: ProgressNote) -> None:
        self.notes.append(note)

    async def deliver(
        self, job: Job, video: Path | None, *, why: LinkReason | None = None
    ) -> Delivery | None:
        if self.deliveries_failing:
            self.deliveries_failing -= 1
            raise RuntimeError("a bug on the way to Discord")
        if self.nowhere:
            return None
        self.delivered.append((job, video.read_bytes() if video else None))
        self.reasons.append(why)
        self.changed.set()
        return Delivery(channel_id=job.channel_id, message_id=9000 + len(self.delivered))

    async def alert_operator(self, text: str) -> None:
        self.alerts.append(text)


def make_settings(tmp_path: Path, base_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "discord_token": SecretStr("discord-test-token"),
        "runcomfy_api_token": SecretStr(TOKEN),
        "runcomfy_base_url": base_url,
        "database_path": tmp_path / "jobs.db",
        "poll_min_seconds": 0.02,
        "poll_max_seconds": 0.1,
        "default_eta_seconds": 0.3,
        "job_timeout_seconds": 5.0,
        "allow_private_urls": True,  # the fake's videos live on 127.0.0.1
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class Harness:
    def __init__(self, service: JobService, observer: RecordingObserver, fake: FakeRunComfy):
        self.service = service
        self.observer = observer
        self.fake = fake

    async def start_job(self, user_id: int = 1, **picked: object) -> Job:
        job = await self.service.create(
            user_id=user_id,
            guild_id=10,
            channel_id=20,
            prompt="the cat blinks",
            model=seedance(),
            options=options(**picked),
            image=IMAGE,
        )
        assert job.id is not None
        return await self.service.submit(
            job.id,
            image_url="https://cdn.example/cat.png",
            status_message_id=30 + job.id,
            hosted_url=None,
        )

    async def wait_status(self, job_id: int, *statuses: JobStatus, within: float = 5) -> Job:
        async def poll() -> Job:
            while True:
                # Wait until users were told, not just until the row changed.
                if any(u.id == job_id and u.status in statuses for u in self.observer.updates):
                    job = await self.service.store.get(job_id)
                    assert job is not None
                    return job
                self.observer.changed.clear()
                with _suppress_timeout():
                    await asyncio.wait_for(self.observer.changed.wait(), 0.05)

        return await asyncio.wait_for(poll(), within)


class _suppress_timeout:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return exc_type is TimeoutError


@pytest.fixture
async def harness_factory(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., object]]:
    """Builds service + store + fake; everything is closed at teardown."""
    stack: list[object] = []

    async def build(**overrides: object) -> Harness:
        fake = FakeRunComfy(token=TOKEN)
        await fake.start()
        settings = make_settings(tmp_path, fake.base_url, **overrides)
        http = make_http_client(fake.base_url, settings.runcomfy_api_token, 2.0)
        store = await JobStore.open(settings.database_path)
        client = RunComfyClient(http, backoff_base=0.01)
        models = Models(client, store, settings.model_ids)
        await models.load()
        service = JobService(settings=settings, store=store, runcomfy=client, models=models)
        observer = RecordingObserver()
        service.observer = observer
        stack.append((service, store, http, fake))
        return Harness(service, observer, fake)

    yield build
    for service, store, http, fake in reversed(stack):  # type: ignore[misc]
        await service.close()
        await store.close()
        await http.aclose()
        await fake.close()


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
    job = await h.service.create(
        user_id=1,
        guild_id=10,
        channel_id=20,
        prompt="p",
        model=seedance(),
        options=options(),
        image=IMAGE,
    )
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


async def test_cancel_while_queued_and_refused_while_running(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(manual=True), Timeline(manual=True))
    queued = await h.start_job(user_id=1)
    running = await h.start_job(user_id=2)
    h.fake.set_state(running.request_id, "in_progress")  # type: ignore[arg-type]

    assert await h.service.cancel(queued.id, actor_id=99, actor_is_moderator=False) is (  # type: ignore[arg-type]
        CancelOutcome.NOT_ALLOWED
    )
    assert await h.service.cancel(queued.id, actor_id=1, actor_is_moderator=False) is (  # type: ignore[arg-type]
        CancelOutcome.CANCELLED
    )
    assert await h.service.cancel(running.id, actor_id=5, actor_is_moderator=True) is (  # type: ignore[arg-type]
        CancelOutcome.RENDERING
    )
    cancelled = await h.service.store.get(queued.id)  # type: ignore[arg-type]
    assert cancelled is not None and cancelled.status is JobStatus.CANCELLED
    # The running one is still tracked (its next poll sees it rendering) and delivered.
    await h.wait_status(running.id, JobStatus.IN_PROGRESS)  # type: ignore[arg-type]
    h.fake.set_state(running.request_id, "completed")  # type: ignore[arg-type]
    await h.wait_status(running.id, JobStatus.DELIVERED)  # type: ignore[arg-type]


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


async def test_a_submit_that_outlived_its_row_cancels_instead_of_reviving_it(
    harness_factory,
) -> None:
    # A stalled process: its lease ran out mid-submit and another process marked the
    # row lost (its author was told). The late answer must not revive the row (two
    # processes would then speak for one job); the job RunComfy made is cancelled
    # while still queued, so nobody pays for a video nobody will deliver.
    h: Harness = await harness_factory()
    h.fake.script(Timeline(queue_positions=(1,), queue_seconds=30, run_seconds=1))
    h.fake.inject("submit", "slow", delay=0.5)
    sending = asyncio.create_task(h.start_job())
    await asyncio.sleep(0.2)
    (row,) = await h.service.store.active_jobs()
    assert row.id is not None and row.status is JobStatus.SUBMITTING
    taken = await h.service.store.transition(
        row.id, from_statuses=[JobStatus.SUBMITTING], to=JobStatus.LOST, error="lost"
    )
    assert taken is not None
    job = await sending
    # RunComfy dropped it while queued: nothing is charged, so it no longer counts
    # against its author's day (a lost row does: it may have been accepted).
    assert job.status is JobStatus.CANCELLED
    stored = await h.service.store.get(row.id)
    assert stored is not None and stored.status is JobStatus.CANCELLED
    # Recorded all the same: the operator can see what RunComfy holds.
    assert stored.request_id == next(iter(h.fake.jobs))
    assert h.fake.count("cancel") == 1
    assert await count_created_since(h.service.store, row.user_id, 0) == 0
    await asyncio.sleep(0.3)
    assert h.fake.count("status") == h.fake.count("result") == 0  # nobody tracks it


async def test_a_submit_that_outlived_its_row_and_already_runs_stays_lost_and_counts(
    harness_factory,
) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(queue_positions=(), queue_seconds=0, run_seconds=30))
    h.fake.inject("submit", "slow", delay=0.5)
    sending = asyncio.create_task(h.start_job())
    await asyncio.sleep(0.2)
    (row,) = await h.service.store.active_jobs()
    assert row.id is not None
    await h.service.store.transition(
        row.id, from_statuses=[JobStatus.SUBMITTING], to=JobStatus.LOST, error="lost"
    )
    job = await sending
    # Rendering: the cancel cannot stop it and RunComfy bills it.
    assert job.status is JobStatus.LOST and h.fake.count("cancel") == 1
    assert await count_created_since(h.service.store, row.user_id, 0) == 1


async def test_resume_after_restart_tracks_and_marks_unsent_rows_lost(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    orphan = await h.service.create(
        user_id=7,
        guild_id=10,
        channel_id=20,
        prompt="p",
        model=seedance(),
        options=options(),
        image=IMAGE,
    )
    await h.service.close()  # the process goes away; rows stay

    again = JobService(
        settings=h.service.settings,
        store=h.service.store,
        runcomfy=h.service.runcomfy,
        models=h.service.models,
    )
    again.observer = h.observer
    try:
        assert await again.resume() == 1
        lost = await again.store.get(orphan.id)  # type: ignore[arg-type]
        assert lost is not None and lost.status is JobStatus.LOST
        h.fake.set_state(job.request_id, "completed")  # type: ignore[arg-type]
        h.service = again
        await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    finally:
        await again.close()
    assert h.fake.count("submit") == 1
    assert len(h.observer.delivered) == 1


async def test_concurrent_cancels_share_one_runcomfy_call(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    # Slow the cancel so that all three calls overlap it.
    h.fake.inject("cancel", "slow", delay=0.2)
    outcomes = await asyncio.gather(
        *(
            h.service.cancel(job.id, actor_id=actor, actor_is_moderator=actor != 1)  # type: ignore[arg-type]
            for actor in (1, 5, 1)
        )
    )
    assert sorted(outcomes) == sorted(
        [CancelOutcome.CANCELLED, CancelOutcome.ALREADY_CANCELLED, CancelOutcome.ALREADY_CANCELLED]
    )
    assert h.fake.count("cancel") == 1
    assert [j.status for j in h.observer.ended] == [JobStatus.CANCELLED]
    # Later calls read the row: already cancelled, no call; a stranger is still refused.
    assert await h.service.cancel(job.id, actor_id=1, actor_is_moderator=False) is (  # type: ignore[arg-type]
        CancelOutcome.ALREADY_CANCELLED
    )
    assert await h.service.cancel(job.id, actor_id=99, actor_is_moderator=False) is (  # type: ignore[arg-type]
        CancelOutcome.NOT_ALLOWED
    )
    assert h.fake.count("cancel") == 1


async def test_a_cancel_runcomfy_does_not_answer_is_unreachable_and_changes_nothing(
    harness_factory,
) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    h.fake.inject("cancel", "reset", times=6)  # every attempt the client makes
    outcome = await h.service.cancel(job.id, actor_id=1, actor_is_moderator=False)  # type: ignore[arg-type]
    assert outcome is CancelOutcome.UNREACHABLE
    still = await h.service.store.get(job.id)  # type: ignore[arg-type]
    assert still is not None and still.status is JobStatus.IN_QUEUE
    assert h.service.live_trackers == 1  # still tracked
    assert h.fake.count("cancel") == 6
    # Once RunComfy answers again, the next press works.
    assert await h.service.cancel(job.id, actor_id=1, actor_is_moderator=False) is (  # type: ignore[arg-type]
        CancelOutcome.CANCELLED
    )


async def test_cancel_while_submitting_or_after_completion(harness_factory) -> None:
    h: Harness = await harness_factory()
    pending = await h.service.create(
        user_id=1,
        guild_id=10,
        channel_id=20,
        prompt="p",
        model=seedance(),
        options=options(),
        image=IMAGE,
    )
    # No request id yet: nothing to cancel at RunComfy; the author is asked to retry.
    assert await h.service.cancel(pending.id, actor_id=1, actor_is_moderator=False) is (  # type: ignore[arg-type]
        CancelOutcome.NOT_YET
    )
    await h.service.abandon(pending.id, "test")  # type: ignore[arg-type]
    h.fake.script(Timeline(queue_seconds=0.01, run_seconds=0.01))
    done = await h.start_job()
    await h.wait_status(done.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert await h.service.cancel(done.id, actor_id=1, actor_is_moderator=False) is (  # type: ignore[arg-type]
        CancelOutcome.FINISHED
    )
    assert h.fake.count("cancel") == 0


async def test_jobs_never_sent_leave_the_daily_quota_alone(harness_factory) -> None:
    h: Harness = await harness_factory(quota_user_daily=1)
    # Abandoned before the submit (the status message failed): not charged.
    abandoned = await h.service.create(
        user_id=1,
        guild_id=10,
        channel_id=20,
        prompt="p",
        model=seedance(),
        options=options(),
        image=IMAGE,
    )
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
    # The delay spaces what RunComfy is asked: a poll answered in 0.2 s is followed by
    # the next one a delay after it was asked, not a delay after the answer came.
    h: Harness = await harness_factory(poll_min_seconds=0.4, poll_max_seconds=0.4)
    h.fake.script(Timeline(queue_positions=(5,), manual=True))
    h.fake.inject("status", "slow", delay=0.2, times=10)
    await h.start_job()
    for _ in range(200):  # bounded: 10 s
        if h.fake.count("status") >= 10:
            break
        await asyncio.sleep(0.05)
    asked = [r.at for r in h.fake.requests if r.endpoint == "status"][:10]
    gaps = [b - a for a, b in itertools.pairwise(asked)]
    assert len(gaps) == 9
    # A sparse poll waits 0.4 s +/- 50 % (SPARSE_JITTER): over 9 gaps the mean is
    # 0.4 +/- 0.04; stretched by each answer, 0.6.
    assert statistics.fmean(gaps) < 0.52, gaps


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
