"""One tracker task per live job, kept alive: it follows the job (`PollLoop`) to its end.

A tracker that fails unexpectedly (the database away, a failover, a full disk) tries
again from the row, with a backoff; past TRACKER_RETRIES it tells the operator and
lets go, and the job is taken up again (`Leases`: the sweep, or the lapsed lease).
`held` is what this process works on: the jobs tracked, being sent or being posted,
the only ones whose lease it renews.
"""

from __future__ import annotations

import asyncio
import logging
import random

from bot.domain import Job
from bot.jobs.poll_loop import PollLoop
from bot.polling import HazardPolicy

log = logging.getLogger(__name__)

# Tries after a tracker's first unexpected failure, the waits doubling from the
# shortest poll interval up to TRACKER_BACKOFF_CAP of the longest, half of them jittered.
TRACKER_RETRIES = 6
TRACKER_BACKOFF_CAP = 4


class Trackers:
    """The tracker tasks of this process's live jobs, by job id."""

    def __init__(self, loop: PollLoop) -> None:
        self.loop = loop
        self.transitions = loop.transitions
        self.policy = loop.policy
        self.deliveries = loop.deliveries
        self._rng = random.Random()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        # Rows written by this process and not yet tracked (being sent to RunComfy).
        self._reserved: set[int] = set()
        self._closing = False

    @property
    def hazard_policy(self) -> HazardPolicy:
        return self.loop.hazard_policy

    @property
    def live(self) -> int:
        """How many jobs are tracked now."""
        return len(self._tasks)

    def job_ids(self) -> list[int]:
        return list(self._tasks)

    def held(self) -> set[int]:
        """The jobs this process works on: tracked, being sent, or having their video posted."""
        return set(self._tasks) | self._reserved | self.deliveries.posting_ids()

    def reserve(self, job_id: int) -> None:
        """A row this process just wrote: held until it is tracked or `unreserve`d."""
        self._reserved.add(job_id)

    def unreserve(self, job_id: int) -> None:
        self._reserved.discard(job_id)

    def track(self, job: Job, *, resumed_after: float | None = None) -> None:
        """Poll `job` until it ends: just submitted, or resumed after `resumed_after` s."""
        assert job.id is not None
        self._reserved.discard(job.id)
        if self._closing or job.id in self._tasks:
            return
        task = asyncio.create_task(self._run(job, resumed_after), name=f"job:{job.id}")
        self._tasks[job.id] = task
        job_id = job.id
        task.add_done_callback(lambda _task: self._tasks.pop(job_id, None))

    def stop(self, job_id: int) -> None:
        """Stop tracking `job_id` (it ended elsewhere, or another process has it)."""
        task = self._tasks.get(job_id)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def stop_taking(self) -> None:
        """A stop has begun: no job starts being tracked from now on."""
        self._closing = True

    async def close(self) -> None:
        """Stop every tracker (the rows stay; the next start resumes them)."""
        self.stop_taking()
        trackers = list(self._tasks.values())
        for task in trackers:
            task.cancel()
        await asyncio.gather(*trackers, return_exceptions=True)

    async def _run(self, job: Job, resumed_after: float | None) -> None:
        """Follow the job; after an unexpected failure, again from its row, a few times."""
        assert job.id is not None
        for failures in range(TRACKER_RETRIES + 1):
            try:
                if failures:
                    fresh = await self.transitions.store.get(job.id)
                    if fresh is None or fresh.status.is_final:
                        return
                    job, resumed_after = fresh, 0.0  # polled at once: it may have moved on
                await self.loop.follow(job, resumed_after)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if failures == TRACKER_RETRIES:
                    log.exception(
                        "Tracker for job %d failed %d times; let go", job.id, failures + 1
                    )
                    await self.transitions.alert(
                        f"Job {job.id}: its tracker failed {failures + 1} times in a row "
                        f"({type(exc).__name__}); it is taken up again within LEASE_SECONDS",
                        kind="tracker",
                    )
                    return
                delay = self._backoff(failures)
                log.warning(
                    "Tracker for job %d failed (%s); again from its row in %.1f s",
                    job.id,
                    type(exc).__name__,
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)

    def _backoff(self, failures: int) -> float:
        """The wait after the `failures`+1-th failure in a row: doubling, capped, jittered."""
        cap = self.policy.max_delay * TRACKER_BACKOFF_CAP
        base = min(cap, self.policy.min_delay * 2**failures)
        return base * self._rng.uniform(0.5, 1.0)
