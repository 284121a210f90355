"""One live job followed to its end: poll RunComfy, store each change, show it, deliver.

RunComfy has no webhooks, so the poll policy sets both the delivery lag and the cost
in requests: sparse while the job is far from its expected end, dense near it
(`bot.polling`, fed by `PastJobs`). Every real change is stored, then shown. The
queue and the render are timed apart: a queued job past QUEUE_TIMEOUT_SECONDS is
dropped at RunComfy (unbilled); a rendering one, billed anyway, is waited for up to
RENDER_HARD_CAP_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import random

from bot.arrivals import Arrivals
from bot.config import Settings
from bot.domain import Job, JobStatus
from bot.jobs.contract import CANCELLED_WHILE_RENDERING, QUEUE_TIMED_OUT, STILL_RENDERING
from bot.jobs.delivery import Deliveries
from bot.jobs.transitions import Transitions
from bot.past_jobs import PastJobs
from bot.polling import HazardPolicy, PollPolicy, RenderTimes
from bot.runcomfy import RequestResult, RequestStatus, RunComfyClient, RunComfyError

log = logging.getLogger(__name__)

# How many seconds of a user's wait one poll is worth, as a fraction of the shortest
# poll interval (HazardPolicy's c): the balance of lag against calls per job that
# benchmarks.live_jobs measures (docs/benchmarks.md).
POLL_COST_FRACTION = 0.125
FAILED_AT_RUNCOMFY = "The video service could not make this video."
_STATUS_BY_WIRE = {
    "in_queue": JobStatus.IN_QUEUE,
    "in_progress": JobStatus.IN_PROGRESS,
    "completed": JobStatus.COMPLETED,
    "cancelled": JobStatus.CANCELLED,
    "failed": JobStatus.FAILED,
}


class PollLoop:
    """How one job is followed; `Trackers` runs it as one task per job."""

    def __init__(
        self,
        *,
        transitions: Transitions,
        settings: Settings,
        runcomfy: RunComfyClient,
        policy: PollPolicy,
        past: PastJobs,
        arrivals: Arrivals,
        deliveries: Deliveries,
    ) -> None:
        self.transitions = transitions
        self.settings = settings
        self.runcomfy = runcomfy
        self.policy = policy
        self.hazard_policy = HazardPolicy(
            settings.poll_min_seconds,
            settings.poll_max_seconds,
            poll_cost=settings.poll_min_seconds * POLL_COST_FRACTION,
        )
        self.past = past
        self.arrivals = arrivals
        self.deliveries = deliveries
        self._rng = random.Random()

    async def follow(self, job: Job, resumed_after: float | None) -> None:
        """Until `job` ends: just submitted, resumed after `resumed_after` s, or completed."""
        if job.status is JobStatus.COMPLETED:
            await self.deliveries.deliver(job)
        else:
            await self._poll_until_done(job, resumed_after)

    async def _poll_until_done(self, job: Job, resumed_after: float | None) -> None:
        """Ask `/status` while queued and `/result` while rendering, until the job ends.

        `/result` answers with the current state until the job is done, then with
        the video: polling it while rendering saves the final round trip.
        """
        assert job.id is not None and job.request_id is not None
        clock = self.transitions.clock
        submitted = job.submitted_at or job.created_at
        expected_end = submitted + await self.past.expected_duration(job.kind)
        # When RunComfy last said "queued": the render started between then and the
        # poll that first sees it running.
        queued_at: float | None
        if resumed_after is None:
            # Just submitted, so queued when RunComfy answered: that answer is the first
            # "queued" poll, and the next comes an interval later (asked at once, it
            # would tell only the place in line, which the next poll tells too).
            queued_at = job.submitted_at
            times = await self.past.render_times(job.kind)
            first_delay, urgent = self._next_delay(job, expected_end, times, queued_at)
        else:
            # When it was last seen queued is unknown. The restart's first polls are due;
            # those it spread over the budget may wait, unless the job is rendering.
            queued_at, first_delay = None, resumed_after
            urgent = first_delay <= 0 or job.status is JobStatus.IN_PROGRESS
        if first_delay > 0:
            await asyncio.sleep(first_delay)
        failures = 0
        result_down = False  # the last /result failed: the next poll asks /status
        result_unclear = False  # /result spoke an unknown word: only /status is asked
        while True:
            if clock() >= self._deadline(job) and await self._time_is_up(job):
                return
            result: RequestResult | None = None
            on_result = job.status is JobStatus.IN_PROGRESS and not (result_down or result_unclear)
            if job.status is JobStatus.IN_QUEUE and (job.queue_position or 0) > 1:
                # A move down the queue can be shown a little later; the next in line's
                # start, which times every later poll, cannot.
                await self.arrivals.let_through()
            asked_at = clock()
            try:
                if on_result:
                    result = await self.runcomfy.result(job.request_id, urgent=urgent)
                    if not result.is_known:
                        # An unknown word is "still running" by the contract, so a job
                        # done at RunComfy stayed "Rendering" till its timeout: /status,
                        # which says "completed" there, decides now and from then on.
                        result, result_unclear = None, True
                if result is None:
                    status = await self.runcomfy.status(job.request_id, urgent=urgent)
                else:
                    status = RequestStatus(request_id=result.request_id, status=result.status)
                failures = 0
                result_down = False
            except RunComfyError as exc:
                if not exc.retryable:
                    # A 404 on /result: the job and its video are gone at RunComfy.
                    if on_result:
                        await self.deliveries.result_refused(job, exc)
                    else:
                        await self.transitions.fail(job, exc)
                    return
                # The client already retried; wait a poll and try again until the deadline.
                # /result down: ask /status next, which still sees the end (then the
                # bounded result fetch decides), instead of polling till the job timeout.
                result_down = on_result
                failures += 1
                log.warning("Job %d: status unavailable (%s), attempt %d", job.id, exc, failures)
                await asyncio.sleep(min(self.policy.max_delay, self.policy.min_delay * 2**failures))
                continue
            job = await self._apply_status(job, status, result, queued_at=queued_at)
            # Seen queued when asked (after any hold for a burst, before the answer).
            queued_at = asked_at if job.status is JobStatus.IN_QUEUE else queued_at
            if job.status is JobStatus.COMPLETED:
                # A /result asked on this poll (done without a video, or an unknown
                # word) was the first try already.
                await self.deliveries.deliver(job, results_tried=int(on_result))
                return
            if job.status.is_final:
                return
            # Looked up per poll (cached): a kind's first renders finish while others run.
            times = await self.past.render_times(job.kind)
            delay, urgent = self._next_delay(job, expected_end, times, queued_at)
            # The delay spaces what RunComfy is asked, so the time this answer took comes
            # off it (the next one should take as long), else slow answers stretch every
            # interval; at most half of it, so answers slow under load add no load.
            await asyncio.sleep(max(delay - (clock() - asked_at), delay / 2))

    def _next_delay(
        self, job: Job, expected_end: float, times: RenderTimes | None, queued_at: float | None
    ) -> tuple[float, bool]:
        """The wait before the next poll, and whether that poll is due when it comes.

        A sparse poll (at about the longest interval) is not: it may wait for others.
        """
        now = self.transitions.clock()
        sparse = self.policy.max_delay * (1 - self.policy.jitter)
        if job.status is JobStatus.IN_PROGRESS and job.started_at is not None and times:
            elapsed = now - job.started_at
            # It began after the last "queued" answer (after a restart: a poll's worth early).
            earliest = job.started_at - self.policy.max_delay if queued_at is None else queued_at
            delay = self.hazard_policy.next_delay(
                elapsed=elapsed, times=times, rng=self._rng, elapsed_at_most=now - earliest
            )
            return delay, delay < sparse
        if job.status is JobStatus.IN_QUEUE and times is not None:
            # Queued with a known render distribution: look at the sparsest interval,
            # next in line too. The render clock then starts within a poll of the truth,
            # and HazardPolicy allows for that (`elapsed_at_most`); no render of the kind
            # ends within a poll anyway.
            return self.policy.next_delay(now=now, expected_end=None, rng=self._rng), False
        # Too few past renders of this kind: the ETA-halving policy from submit.
        end = None if (job.queue_position or 0) > 1 else expected_end
        delay = self.policy.next_delay(now=now, expected_end=end, rng=self._rng)
        return delay, end is not None and delay < sparse

    async def _apply_status(
        self,
        job: Job,
        status: RequestStatus,
        result: RequestResult | None = None,
        *,
        queued_at: float | None = None,
    ) -> Job:
        """Store a real transition; show a queue move without storing it.

        `result`: the `/result` answer the status came from, if any; a completed one
        carries the video, so delivery needs no further call. `queued_at`: when a poll
        last saw the job queued; the render start is put halfway from there to now
        (recording "when we saw it" would run the render clock up to a poll late).
        """
        assert job.id is not None
        transitions = self.transitions
        new = _STATUS_BY_WIRE.get(status.status, job.status)
        if new is JobStatus.IN_QUEUE and job.status is JobStatus.IN_PROGRESS:
            # Seen rendering, it is billed: "queued" again (a requeue, a stale answer)
            # must not bring back the queue's limit, which would drop it unfetched.
            return job
        if new is job.status:
            if status.queue_position == job.queue_position or new is not JobStatus.IN_QUEUE:
                return job
            # Only the queue moved: shown to the user, not written (a restart polls
            # again anyway), which saves an UPDATE and a validated row per move.
            moved = job.model_copy(update={"queue_position": status.queue_position})
            await transitions.notify_updated(moved)
            return moved
        if new is JobStatus.CANCELLED and job.status is JobStatus.IN_PROGRESS:
            # Seen rendering, it is billed: not "it cost nothing", and it keeps counting
            # against its author's day and the budgets (at its cost, when RunComfy tells it).
            result = await self._failure_result(job)
            cost = _reported_cost(result)
            return await transitions.end(
                job, JobStatus.FAILED, error=CANCELLED_WHILE_RENDERING, **cost
            )
        if new is JobStatus.CANCELLED:
            return await transitions.end(
                job, JobStatus.CANCELLED, error="Cancelled at the video service."
            )
        if new is JobStatus.FAILED:
            if result is None or not result.error:
                result = await self._failure_result(job) or result
            error = result.error if result is not None and result.error else None
            # A failed render may be billed: its cost, when RunComfy tells it, is kept.
            cost = _reported_cost(result)
            return await transitions.end(
                job, JobStatus.FAILED, error=error or FAILED_AT_RUNCOMFY, **cost
            )
        changes: dict[str, object] = {"status": new, "queue_position": status.queue_position}
        if new is JobStatus.IN_PROGRESS and job.started_at is None:
            now = transitions.clock()
            changes["started_at"] = now if queued_at is None else (queued_at + now) / 2
        if new is JobStatus.COMPLETED:
            changes["finished_at"] = transitions.clock()
            changes["queue_position"] = None
            if result is not None and result.video_url is not None:
                changes["video_url"] = result.video_url
                changes["cost"] = result.cost
        updated = await transitions.store.transition(
            job.id, from_statuses=[job.status], to=new, **changes
        )
        if updated is None:  # changed under us (a cancel): stop here
            return await transitions.reload(job)
        if new is not JobStatus.COMPLETED:
            await transitions.notify_updated(updated)
        return updated

    async def _failure_result(self, job: Job) -> RequestResult | None:
        """/result of a job /status ended without a video: its reason and cost, if it answers."""
        assert job.request_id is not None
        try:
            return await self.runcomfy.result(job.request_id)
        except RunComfyError:
            return None

    def _deadline(self, job: Job) -> float:
        """When the bot stops waiting: the queue's limit from submit; once RunComfy says
        it renders (billed anyway), the render's much longer hard cap from its start."""
        submitted = job.submitted_at or job.created_at
        if job.status is JobStatus.IN_PROGRESS:
            return (job.started_at or submitted) + self.settings.render_hard_cap_seconds
        return submitted + self.settings.queue_timeout

    async def _time_is_up(self, job: Job) -> bool:
        """Past the job's deadline: end it, unless it turns out to have moved on.

        True when the tracker is done with the job (ended, or delivered after all).
        """
        assert job.request_id is not None
        now = self.transitions.clock()
        submitted = job.submitted_at or job.created_at
        if job.status is JobStatus.IN_QUEUE:
            # Queued, it can still be dropped so that it is never billed.
            try:
                cancelled = (await self.runcomfy.cancel(job.request_id)).cancelled
            except RunComfyError as exc:
                log.warning("Job %d: cancel at the queue's limit failed (%s)", job.id, exc)
                cancelled = None
            if cancelled is False:
                return False  # it started meanwhile: the next poll sees it, the cap applies
            if cancelled is None and now < self._last_resort(job):
                return False  # tried again after the next poll
            template = QUEUE_TIMED_OUT if cancelled else STILL_RENDERING
            waited = now - submitted
        else:
            template, waited = STILL_RENDERING, now - (job.started_at or submitted)
        # One last look: the video may have come at the last moment, else its cost.
        try:
            result: RequestResult | None = await self.runcomfy.result(job.request_id)
        except RunComfyError:
            result = None
        if result is not None and result.status in ("completed", "failed"):
            status = RequestStatus(request_id=result.request_id, status=result.status)
            job = await self._apply_status(job, status, result)
            if job.status is JobStatus.COMPLETED:
                await self.deliveries.deliver(job, results_tried=1)
            return True
        cost = _reported_cost(result)
        if template == QUEUE_TIMED_OUT and not cost:
            # Dropped from the queue, never billed: it spends none of the budgets, which
            # would otherwise count its estimate for a day.
            cost = {"cost": 0.0}
        log.warning("Job %d: no video after %s; timed out", job.id, _spoken(waited))
        await self.transitions.end(
            job, JobStatus.TIMED_OUT, error=template.format(waited=_spoken(waited)), **cost
        )
        return True

    def _last_resort(self, job: Job) -> float:
        """Past this, a job whose cancel never got through is given up all the same."""
        submitted = job.submitted_at or job.created_at
        return submitted + self.settings.queue_timeout + self.settings.render_hard_cap_seconds


def _reported_cost(result: RequestResult | None) -> dict[str, float]:
    """The cost RunComfy reported in `result`, as `end`'s keyword; none when it did not."""
    return {"cost": result.cost} if result is not None and result.cost is not None else {}


def _spoken(seconds: float) -> str:
    """A wait in words for the stored error (/history): "30 minutes", "about 3 hours"."""
    minutes = round(seconds / 60)
    if minutes >= 120:
        return f"about {round(minutes / 60)} hours"
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
