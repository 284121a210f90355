"""JobService's rows and RunComfy's runs parted: a submit outliving its row, a restart."""

from __future__ import annotations

import asyncio

from bot.domain import JobStatus
from bot.jobs import JobService
from tests.bot.jobs.harness import Harness
from tests.fakes.runcomfy import Timeline
from tests.stores import count_created_since


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
    orphan = await h.new_job(user_id=7)
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
