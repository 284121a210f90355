"""Tracking against the fake RunComfy: which call sees what, and when jobs are polled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bot.domain import JobStatus
from bot.jobs import JobService
from bot.models.registry import Models
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore
from tests.bot.jobs.harness import TOKEN, Harness, RecordingObserver, make_settings
from tests.fakes.runcomfy import FakeRunComfy, Timeline


@pytest.fixture
async def tracking(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """Like test_jobs' harness, with a request budget when asked for one."""
    stack: list[tuple[JobService, JobStore, httpx.AsyncClient]] = []
    fakes: list[FakeRunComfy] = []

    async def build(
        fake: FakeRunComfy | None = None, rate: float | None = None, **overrides: object
    ) -> Harness:
        if fake is None:
            fake = FakeRunComfy(token=TOKEN)
            await fake.start()
            fakes.append(fake)
        settings = make_settings(tmp_path, fake.base_url, **overrides)
        http = make_http_client(fake.base_url, settings.runcomfy_api_token, 2.0)
        store = await JobStore.open(settings.database_path)
        client = RunComfyClient(http, backoff_base=0.01, requests_per_second=rate)
        models = Models(client, store, settings.model_ids)
        await models.load()
        service = JobService(settings=settings, store=store, runcomfy=client, models=models)
        service.observer = RecordingObserver()
        stack.append((service, store, http))
        return Harness(service, service.observer, fake)

    yield build
    for service, store, http in reversed(stack):
        await service.close()
        await store.close()
        await http.aclose()
    for fake in fakes:
        await fake.close()


def requests_after(fake: FakeRunComfy, endpoint: str, moment: float) -> int:
    return sum(1 for r in fake.requests if r.endpoint == endpoint and r.at > moment)


async def test_fake_result_answers_the_current_state_before_the_end(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    assert job.request_id is not None
    client = h.service.runcomfy
    queued = await client.result(job.request_id)
    assert (queued.status, queued.output, queued.video_url) == ("in_queue", None, None)
    h.fake.set_state(job.request_id, "in_progress")
    running = await client.result(job.request_id)
    assert (running.status, running.output) == ("in_progress", None)
    await h.service.close()


async def test_rendering_is_polled_on_result_and_the_video_needs_no_extra_call(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(Timeline(queue_positions=(1,), queue_seconds=0.15, run_seconds=0.4))
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    await h.wait_status(job.id, JobStatus.DELIVERED)
    fake_job = h.fake.jobs[job.request_id]
    render_start = fake_job.created + fake_job.timeline.queue_seconds
    render_end = render_start + fake_job.timeline.run_seconds
    # /status only while queued: at most the one poll that saw the render start...
    assert requests_after(h.fake, "status", render_start) <= 1
    assert requests_after(h.fake, "result", render_start) >= 2
    # ...and the /result that found the video was the last call: straight to delivery.
    assert requests_after(h.fake, "result", render_end) == 1
    done = await h.service.store.get(job.id)
    assert done is not None and done.cost == pytest.approx(0.12)


async def test_done_without_a_video_is_handed_to_the_result_fetch(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(
        Timeline(queue_positions=(1,), queue_seconds=0.1, run_seconds=0.2, result_empty_answers=2)
    )
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    done = await h.wait_status(job.id, JobStatus.DELIVERED)
    assert done.video_url == h.fake.video_url(job.request_id)
    assert len(h.observer.delivered) == 1
    fake_job = h.fake.jobs[job.request_id]
    assert fake_job.empty_results == 2  # asked again until the video came


async def test_failure_seen_on_result_carries_its_reason(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(
        Timeline(
            queue_positions=(1,),
            queue_seconds=0.05,
            run_seconds=0.2,
            outcome="failed",
            error="content policy",
        )
    )
    job = await h.start_job()
    assert job.id is not None
    failed = await h.wait_status(job.id, JobStatus.FAILED)
    assert "content policy" in (failed.error or "")


async def test_the_render_start_is_put_between_the_polls_around_it(tracking) -> None:
    # Seen first by a poll up to POLL_MAX_SECONDS after it happened, a start recorded
    # as "when we saw it" runs the render clock late: the hazard schedule then waits
    # sparsely through the renders that end soonest. Halfway is the unbiased guess.
    h: Harness = await tracking(poll_min_seconds=0.3, poll_max_seconds=0.3)
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    await asyncio.sleep(0.5)
    flipped = time.monotonic()
    h.fake.set_state(job.request_id, "in_progress")
    running = await h.wait_status(job.id, JobStatus.IN_PROGRESS)
    polls = [q.at for q in h.fake.requests if q.endpoint in ("status", "result")]
    last_queued = max(at for at in polls if at < flipped)
    first_running = min(at for at in polls if at > flipped)
    (submit,) = [q.at for q in h.fake.requests if q.endpoint == "submit"]
    assert running.started_at is not None and running.submitted_at is not None
    seen = running.started_at - running.submitted_at
    assert seen == pytest.approx((last_queued + first_running) / 2 - submit, abs=0.05)
    await h.service.close()


async def test_the_submit_answer_is_the_first_queued_poll(tracking) -> None:
    # RunComfy took the job, so it is queued: a /status at once only told its place in
    # line (one call of each job's 14), which the next poll tells as well.
    h: Harness = await tracking(poll_min_seconds=0.3, poll_max_seconds=0.6)
    h.fake.script(Timeline(queue_positions=(2, 1), queue_seconds=1.2, run_seconds=0.2))
    job = await h.start_job()
    assert job.id is not None
    (submit,) = [q.at for q in h.fake.requests if q.endpoint == "submit"]
    await h.wait_status(job.id, JobStatus.DELIVERED)
    first = min(q.at for q in h.fake.requests if q.endpoint in ("status", "result"))
    assert first - submit >= 0.3 * 0.9  # min_delay, less its jitter
    shown = {u.queue_position for u in h.observer.updates if u.status is JobStatus.IN_QUEUE}
    assert shown & {2, 1}  # the place in line still shows


async def test_a_resumed_queued_job_is_polled_at_once(tracking) -> None:
    # Unlike a submit, a restart knows nothing of a job's state: its first poll is due.
    first: Harness = await tracking(poll_min_seconds=2.0, poll_max_seconds=4.0)
    first.fake.script(Timeline(manual=True))
    job = await first.start_job()
    await first.service.close()
    h: Harness = await tracking(fake=first.fake, poll_min_seconds=2.0, poll_max_seconds=4.0)
    resumed = time.monotonic()
    assert await h.service.resume() == 1
    for _ in range(100):  # bounded: 1 s
        if requests_after(h.fake, "status", resumed):
            break
        await asyncio.sleep(0.01)
    assert requests_after(h.fake, "status", resumed) == 1, job
    await h.service.close()


async def test_queue_moves_are_shown_but_not_written(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(Timeline(queue_positions=(3, 2, 1), queue_seconds=0.6, run_seconds=0.1))
    statements: list[str] = []
    await h.service.store.db.trace(statements.append)
    job = await h.start_job()
    assert job.id is not None
    await h.wait_status(job.id, JobStatus.DELIVERED)
    await h.service.store.db.trace(None)
    shown = [u.queue_position for u in h.observer.updates if u.status is JobStatus.IN_QUEUE]
    assert {3, 2, 1} <= set(shown)
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    # Submit (three writes: its message, the body as sent, queued), rendering, completed,
    # delivered: no write per queue move.
    assert sum("status = 'in_queue'" in s for s in updates) == 1, updates
    assert len(updates) <= 6, updates


async def test_a_restart_spreads_its_polls_and_new_jobs_do_not_wait_behind_them(
    tracking, tmp_path: Path
) -> None:
    quotas = {"quota_user_concurrent": 99, "quota_user_daily": 99, "quota_global_concurrent": 99}
    quotas["job_timeout_seconds"] = 60
    first: Harness = await tracking(rate=None, **quotas)
    first.fake.script(*(Timeline(manual=True) for _ in range(60)))
    for _ in range(60):
        await first.start_job()
    await first.service.close()  # the bot stops; 60 queued jobs stay in the database
    await asyncio.sleep(0)
    # Restart with a budget of 30 requests/s: 60 first polls take ~2 s of budget.
    h: Harness = await tracking(fake=first.fake, rate=30.0, **quotas)
    assert await h.service.resume() == 60
    began = time.monotonic()
    h.fake.script(Timeline(queue_positions=(1,), queue_seconds=0.1, run_seconds=0.1))
    job = await h.start_job()
    assert job.id is not None
    await h.wait_status(job.id, JobStatus.DELIVERED, within=10)
    # The new job's submit, polls and result went before the restart's sparse polls.
    assert time.monotonic() - began < 1.5
    restart_polls = [r.at for r in h.fake.requests if r.endpoint == "status" and r.at >= began]
    assert len(restart_polls) >= 1
