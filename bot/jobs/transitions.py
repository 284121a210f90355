"""What every part of the job service does to a job: end it, tell, count, alert.

The bottom layer of `bot.jobs`: submit, tracking, delivery, cancel and leases all
stand on it and it knows none of them. A final state is reached by a compare-and-set
on the row, so whichever part gets there first ends the job and the others see it
ended; every change is stored before the observer hears of it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from bot.domain import ACTIVE_STATUSES, Job, JobStatus, is_charged
from bot.jobs.contract import SERVICE_UNAVAILABLE, JobObserver, guarded
from bot.metrics import Metrics
from bot.runcomfy import RunComfyError
from bot.store import JobStore

log = logging.getLogger(__name__)

# One operator alert per kind of trouble in this window, not one per failing job.
ALERT_INTERVAL_SECONDS = 10 * 60.0


class Transitions:
    def __init__(self, *, store: JobStore, clock: Callable[[], float], metrics: Metrics) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        # The animate cog, once it is loaded; until then nobody is told.
        self.observer: JobObserver | None = None
        # Operator alerts by kind: when the last one went out, and how many were held since.
        self._alerted: dict[str, float] = {}
        self._alerts_held: dict[str, int] = {}

    async def end(
        self, job: Job, status: JobStatus, *, error: str | None, **changes: object
    ) -> Job:
        """Move an active job to a final state once; tell the author.

        `changes`: other fields stored with it (say, the cost RunComfy reported).
        Returns the row as it is: ended by this call, or by whoever got there first.
        """
        assert job.id is not None
        ended = await self.store.transition(
            job.id,
            from_statuses=ACTIVE_STATUSES,
            to=status,
            error=error,
            queue_position=None,
            finished_at=self.clock(),
            **changes,
        )
        if ended is None:
            return await self.reload(job)
        log.info("Job %d ended %s", job.id, status)
        await self.ended(ended)
        return ended

    async def ended(self, job: Job) -> None:
        """Count a job that just reached its final state and tell its author."""
        self.metrics.job_ended(job.status, job.model_id, cost=job.cost)
        await self.release_extended(job)
        await self.notify_updated(job)
        await self.notify_ended(job)

    async def release_extended(self, job: Job) -> None:
        """An extension that ended uncharged gives the video it continues its Extend back,
        so nobody can use up another's Extend by cancelling theirs while it is queued."""
        if job.extends_job_id is not None and not is_charged(job.status, job.request_id):
            await self.store.release_extend(job.extends_job_id)

    async def fail(self, job: Job, exc: RunComfyError) -> None:
        """RunComfy refused the job or could not be reached: end it failed, alert if need be."""
        if exc.operator_problem:
            await self.alert(
                f"RunComfy refused job {job.id} ({exc.error_code}): {exc.message}",
                kind=f"refused:{exc.error_code or exc.status_code}",
            )
            await self.end(job, JobStatus.FAILED, error=SERVICE_UNAVAILABLE)
        else:
            if exc.retryable:
                await self.alert_unreachable(job, exc)
            await self.end(job, JobStatus.FAILED, error=exc.user_message)

    async def reload(self, job: Job) -> Job:
        """The row as stored now (it changed under us); `job` if it is gone."""
        assert job.id is not None
        fresh = await self.store.get(job.id)
        return fresh if fresh is not None else job

    async def notify_updated(self, job: Job) -> None:
        if self.observer is not None:
            await guarded(self.observer.job_updated(job), "job_updated", job)

    async def notify_ended(self, job: Job) -> None:
        if self.observer is not None:
            await guarded(self.observer.job_ended(job), "job_ended", job)

    async def alert_unreachable(self, job: Job, exc: RunComfyError) -> None:
        await self.alert(
            f"RunComfy cannot be reached; job {job.id} failed ({exc})", kind="unreachable"
        )

    async def alert(self, text: str, *, kind: str | None = None) -> None:
        """Log at ERROR; tell the admin channel at most once per kind per ALERT_INTERVAL."""
        log.error("%s", text)
        key = kind or text
        now = time.monotonic()
        last = self._alerted.get(key)
        if last is not None and now - last < ALERT_INTERVAL_SECONDS:
            self._alerts_held[key] = self._alerts_held.get(key, 0) + 1
            return
        self._alerted[key] = now
        held = self._alerts_held.pop(key, 0)
        if held:
            text = f"{text} (and {held} more like it since the last alert)"
        if self.observer is not None:
            with contextlib.suppress(Exception):
                await self.observer.alert_operator(text)
