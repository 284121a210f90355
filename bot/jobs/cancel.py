"""Cancel a queued job at RunComfy: one call however many people ask at once.

RunComfy drops a queued job (nothing is charged) and refuses a running one, which
is then delivered and billed; either way the caller gets an outcome to word.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.domain import JobStatus
from bot.jobs.contract import CancelOutcome
from bot.jobs.tracking import Trackers
from bot.jobs.transitions import Transitions
from bot.runcomfy import RunComfyClient, RunComfyError

log = logging.getLogger(__name__)


class Cancels:
    """The cancels in flight, one per job: concurrent presses share it."""

    def __init__(
        self,
        *,
        transitions: Transitions,
        runcomfy: RunComfyClient,
        trackers: Trackers,
        sent: Callable[[int], Awaitable[None]],
    ) -> None:
        self.transitions = transitions
        self.runcomfy = runcomfy
        self.trackers = trackers
        # Waits for a job's send under way, if any (`Submits.sent`): a cancel asked while
        # it is being sent is for the job RunComfy is about to queue, so it waits for it.
        self.sent = sent
        self._in_flight: dict[int, asyncio.Future[CancelOutcome]] = {}

    async def cancel(
        self, job_id: int, *, actor_id: int, actor_is_moderator: bool
    ) -> CancelOutcome:
        """Cancel a queued job at RunComfy, once however many people ask at once.

        Calls that overlap share the first one's RunComfy call; they get
        ALREADY_CANCELLED when it cancelled the job, else its outcome.
        """
        job = await self.transitions.store.get(job_id)
        if job is None:
            return CancelOutcome.UNKNOWN
        if actor_id != job.user_id and not actor_is_moderator:
            return CancelOutcome.NOT_ALLOWED
        in_flight = self._in_flight.get(job_id)
        if in_flight is not None:
            outcome = await asyncio.shield(in_flight)
            return (
                CancelOutcome.ALREADY_CANCELLED if outcome is CancelOutcome.CANCELLED else outcome
            )
        future: asyncio.Future[CancelOutcome] = asyncio.get_running_loop().create_future()
        self._in_flight[job_id] = future
        try:
            outcome = await self._cancel_once(job_id)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning if nobody waits
            raise
        else:
            future.set_result(outcome)
            return outcome
        finally:
            del self._in_flight[job_id]

    async def _cancel_once(self, job_id: int) -> CancelOutcome:
        await self.sent(job_id)
        # Read again under the guard: an earlier cancel may have just ended the job.
        job = await self.transitions.store.get(job_id)
        if job is None:
            return CancelOutcome.UNKNOWN
        if job.status is JobStatus.CANCELLED:
            return CancelOutcome.ALREADY_CANCELLED
        if job.status.is_final or job.status is JobStatus.COMPLETED:
            return CancelOutcome.FINISHED
        if job.request_id is None:
            return CancelOutcome.NOT_YET
        try:
            answer = await self.runcomfy.cancel(job.request_id)
        except RunComfyError as exc:
            # The client already retried what is safe to retry; the job is unchanged.
            log.warning("Job %d: cancel failed (%s)", job_id, exc)
            return CancelOutcome.UNREACHABLE
        if not answer.cancelled:
            return CancelOutcome.RENDERING
        self.trackers.stop(job_id)
        ended = await self.transitions.end(job, JobStatus.CANCELLED, error=None)
        if ended.status is not JobStatus.CANCELLED:
            # Lost the race to the tracker (say, a completion seen just before).
            log.warning("Job %d: cancelled at RunComfy but already %s", job_id, ended.status)
            return CancelOutcome.FINISHED
        return CancelOutcome.CANCELLED
