"""JobService's cancels: while queued, running, submitting or done; shared; unanswered."""

from __future__ import annotations

import asyncio

from bot.domain import JobStatus
from bot.jobs import CancelOutcome
from tests.bot.jobs.harness import Harness
from tests.fakes.runcomfy import Timeline


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
    pending = await h.new_job()
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
