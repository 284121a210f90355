"""The estimator: recomputed on every change, never in the past, never backwards."""

from __future__ import annotations

from bot.domain import ImageFacts, Job, JobStatus
from bot.eta import EtaBoard, queue_seconds_per_place
from tests.models import job_fields

FACTS = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1000)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def job(**fields: object) -> Job:
    values: dict[str, object] = {
        "id": 1,
        "user_id": 5,
        "prompt": "p",
        "image": FACTS,
        "created_at": 1000.0,
        "submitted_at": 1000.0,
        **job_fields(),
        **fields,
    }
    return Job.model_validate(values)


def board(clock: Clock, render: float = 60.0) -> EtaBoard:
    async def expected(kind: str) -> float:
        return render

    return EtaBoard(expected, clock=clock)


def test_a_queue_that_has_not_moved_counts_one_render_per_place() -> None:
    assert queue_seconds_per_place(0.0, 3, 50.0, 3, default=60.0) == 60.0
    assert queue_seconds_per_place(0.0, 3, 50.0, 1, default=60.0) == 25.0


async def test_the_estimate_follows_the_queue_as_it_moves() -> None:
    clock = Clock()
    eta = board(clock)
    first = await eta.estimate(job(status=JobStatus.IN_QUEUE, queue_position=4))
    # Three places ahead at one render each, then its own render.
    assert first.expected_end == 1000.0 + 3 * 60 + 60
    clock.now += 10  # the queue moved two places in 10 s: 5 s a place
    moved = await eta.estimate(job(status=JobStatus.IN_QUEUE, queue_position=2))
    assert moved.expected_end == clock.now + 1 * 5 + 60
    assert moved.expected_end < first.expected_end


async def test_rendering_counts_from_the_render_start() -> None:
    clock = Clock(1100.0)
    eta = board(clock)
    shown = await eta.estimate(job(status=JobStatus.IN_PROGRESS, started_at=1090.0))
    assert shown.expected_end == 1150.0 and not shown.overdue


async def test_a_live_job_past_its_estimate_is_overdue_not_in_the_past() -> None:
    clock = Clock(1200.0)
    shown = await board(clock).estimate(job(status=JobStatus.IN_PROGRESS, started_at=1010.0))
    assert shown.overdue and shown.expected_end is None
    assert shown.progress is not None and shown.progress < 1.0


async def test_progress_never_moves_backwards_when_the_estimate_grows() -> None:
    clock = Clock(1030.0)
    eta = board(clock, render=60.0)
    early = await eta.estimate(job(status=JobStatus.IN_PROGRESS, started_at=1000.0))
    assert early.progress == 0.5
    clock.now += 1
    # Queued again with many places ahead (the service re-queued it): a later end.
    later = await eta.estimate(job(status=JobStatus.IN_QUEUE, queue_position=9))
    assert later.expected_end is not None and later.expected_end > early.expected_end  # type: ignore[operator]
    assert later.progress == early.progress


async def test_final_jobs_have_no_estimate_and_are_forgotten() -> None:
    clock = Clock(1030.0)
    eta = board(clock)
    await eta.estimate(job(status=JobStatus.IN_PROGRESS, started_at=1000.0))
    done = await eta.estimate(job(status=JobStatus.DELIVERED))
    assert done.expected_end is None and done.progress is None and not done.overdue
    clock.now = 1000.0
    again = await eta.estimate(job(status=JobStatus.IN_PROGRESS, started_at=1000.0))
    assert again.progress == 0.0  # nothing remembered from before


async def test_rendering_uses_the_render_estimate_and_sending_the_whole() -> None:
    clock = Clock(1010.0)

    async def whole(kind: str) -> float:
        return 100.0

    async def render(kind: str) -> float:
        return 20.0

    eta = EtaBoard(whole, render=render, clock=clock)
    rendering = await eta.estimate(job(status=JobStatus.IN_PROGRESS, started_at=1005.0))
    assert rendering.expected_end == 1025.0
    sending = await eta.estimate(job(id=2, status=JobStatus.SUBMITTING, submitted_at=None))
    assert sending.expected_end == 1100.0
