"""When a live job should be done, recomputed on every change. Discord-free.

Queued: the places ahead times how fast this job's queue has moved (seen since it
was queued; one render per place until it has moved), plus one render. Rendering:
the render start plus the expected render. A live job is never shown an end in the
past: past the estimate it is "taking longer than usual" (`overdue`). The progress
(elapsed against expected) never moves backwards, even when the estimate grows.

`expected` says how long a job of these options takes from submit to finish, `render`
how long its render alone takes (both `PastJobs`: past jobs of the same resolution,
duration and audio); each is one awaitable so a better model can replace it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.domain import Job, JobStatus

# A live job never shows 100 %: the bar fills only when the video is there.
LIVE_PROGRESS_CAP = 0.95
LIVE = frozenset({JobStatus.SUBMITTING, JobStatus.IN_QUEUE, JobStatus.IN_PROGRESS})


@dataclass(frozen=True)
class Estimate:
    """What the status message says about time. `expected_end` is Unix seconds."""

    expected_end: float | None = None
    overdue: bool = False
    progress: float | None = None  # 0..1; None when nothing is known yet


NO_ESTIMATE = Estimate()


@dataclass
class _Watch:
    """What this process saw of one job while it was queued."""

    first_at: float
    first_position: int
    progress: float = 0.0


def queue_seconds_per_place(
    first_at: float, first_position: int, now: float, position: int, default: float
) -> float:
    """Seconds one place of the queue has taken so far; `default` until it moved."""
    moved = first_position - position
    if moved <= 0:
        return default
    return max(0.0, now - first_at) / moved


def expected_end(job: Job, *, render_seconds: float, place_seconds: float, now: float) -> float:
    """The raw estimate (may lie in the past); `estimate` decides what to show."""
    if job.status is JobStatus.IN_PROGRESS:
        return (job.started_at or now) + render_seconds
    if job.status is JobStatus.IN_QUEUE and job.queue_position:
        # Position 1 is next: the places ahead are position - 1.
        return now + (job.queue_position - 1) * place_seconds + render_seconds
    return (job.submitted_at or job.created_at) + render_seconds


Expected = Callable[[str], Awaitable[float]]  # a job kind -> seconds


class EtaBoard:
    """Estimates per live job; remembers queue movement and the progress already shown."""

    def __init__(
        self,
        expected: Expected,
        render: Expected | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._expected = expected
        self._render = render or expected
        self._clock = clock
        self._watches: dict[int, _Watch] = {}

    async def estimate(self, job: Job) -> Estimate:
        if job.status not in LIVE:
            if job.id is not None:
                self.forget(job.id)
            return NO_ESTIMATE
        now = self._clock()
        if job.status is JobStatus.SUBMITTING or (
            job.status is JobStatus.IN_QUEUE and not job.queue_position
        ):
            render = await self._expected(job.kind)  # queue and render together
        else:
            render = await self._render(job.kind)
        watch = self._watch(job, now)
        place = render
        if watch is not None and job.queue_position is not None:
            place = queue_seconds_per_place(
                watch.first_at, watch.first_position, now, job.queue_position, render
            )
        end = expected_end(job, render_seconds=render, place_seconds=place, now=now)
        begun = job.submitted_at or job.created_at
        progress = _fraction(now - begun, end - begun)
        if watch is not None:
            progress = watch.progress = max(watch.progress, progress)
        if end <= now:
            return Estimate(expected_end=None, overdue=True, progress=progress)
        return Estimate(expected_end=end, overdue=False, progress=progress)

    def forget(self, job_id: int) -> None:
        self._watches.pop(job_id, None)

    def live_jobs(self) -> set[int]:
        """The jobs watched now (a finished job must not stay here)."""
        return set(self._watches)

    def _watch(self, job: Job, now: float) -> _Watch | None:
        if job.id is None:
            return None
        watch = self._watches.get(job.id)
        if watch is None:
            position = job.queue_position if job.status is JobStatus.IN_QUEUE else None
            watch = _Watch(first_at=now, first_position=position or 0)
            self._watches[job.id] = watch
        elif watch.first_position == 0 and job.queue_position:
            # First seen before it had a position (still being sent).
            watch.first_at, watch.first_position = now, job.queue_position
        return watch


def _fraction(elapsed: float, expected: float) -> float:
    if expected <= 0:
        return LIVE_PROGRESS_CAP
    return min(LIVE_PROGRESS_CAP, max(0.0, elapsed / expected))
