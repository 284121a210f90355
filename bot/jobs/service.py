"""JobService: create, submit, track, cancel and resume jobs. Discord-free.

The service owns every job's life after the cog has validated the input. It
talks to Discord only through `JobObserver`, which the animate cog implements.
A job is a database row first: the row is written before RunComfy is called
and every change is stored before anybody is told about it, so a restart
resumes from the rows and nothing is ever submitted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.arrivals import Arrivals
from bot.config import Settings
from bot.domain import ACTIVE_STATUSES, ImageFacts, Job, JobOptions, JobStatus
from bot.downloads import DownloadError, is_fetchable_url
from bot.jobs.contract import (
    NO_VIDEO,
    RESTARTED_WHILE_SENDING,
    RESULT_EXPIRED,
    SERVICE_UNAVAILABLE,
    VIDEO_REFUSED,
    CancelOutcome,
    Delivery,
    JobObserver,
    QuotaExceeded,
    QuotaKind,
    guarded,
)
from bot.jobs.posting import VideoPoster
from bot.metrics import Metrics
from bot.models.seedance import SeedanceInput
from bot.past_jobs import PastJobs
from bot.polling import HazardPolicy, PollPolicy, RenderTimes
from bot.runcomfy import RequestResult, RequestStatus, RunComfyClient, RunComfyError
from bot.store import JobStore, QuotaLimits, QuotaUsage

if TYPE_CHECKING:
    from bot.admission import Admission

log = logging.getLogger(__name__)

DAY = 24 * 60 * 60
# /status can say completed a moment before /result carries the video: a few tries,
# spaced by the poll backoff (2, 4, 8, 15 s in production), within about 30 s.
RESULT_ATTEMPTS = 5
RESULT_GRACE_SECONDS = 30.0
# How long a stop waits for videos being posted (inside Docker's 10 s before SIGKILL).
POSTING_GRACE_SECONDS = 1.5
# One operator alert per kind of trouble in this window, not one per failing job.
ALERT_INTERVAL_SECONDS = 10 * 60.0
# How many seconds of a user's wait one poll is worth, as a fraction of the
# shortest poll interval (HazardPolicy's c). 1,000 jobs rendering 20-90 s
# (benchmarks.live_jobs): 0.125 costs 14.5 calls per job for a p50 lag of 1.7 s at
# the default time scale of 0.5, and 14.8 calls for 1.6 s at production pace. 0.15
# cost 13.7 calls for 1.9 s (both with a new job's first poll an interval after submit).
POLL_COST_FRACTION = 0.125
_STATUS_BY_WIRE = {
    "in_queue": JobStatus.IN_QUEUE,
    "in_progress": JobStatus.IN_PROGRESS,
    "completed": JobStatus.COMPLETED,
    "cancelled": JobStatus.CANCELLED,
    "failed": JobStatus.FAILED,
}


class JobService:
    def __init__(
        self,
        *,
        settings: Settings,
        store: JobStore,
        runcomfy: RunComfyClient,
        clock: Callable[[], float] = time.time,
        admission: Admission | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        # The operator's and server admins' switches (pause, channels, spend cap).
        self.admission = admission
        # Tests that build the service alone get a private registry nobody reads.
        self.metrics = metrics or Metrics()
        self.store = store
        self.runcomfy = runcomfy
        self.clock = clock
        self.observer: JobObserver | None = None
        self.policy = PollPolicy(settings.poll_min_seconds, settings.poll_max_seconds)
        self.hazard_policy = HazardPolicy(
            settings.poll_min_seconds,
            settings.poll_max_seconds,
            poll_cost=settings.poll_min_seconds * POLL_COST_FRACTION,
        )
        self._rng = random.Random()
        self._trackers: dict[int, asyncio.Task[None]] = {}
        # A cancel in flight per job: concurrent presses share it (one RunComfy call).
        self._cancels: dict[int, asyncio.Future[CancelOutcome]] = {}
        # Serialises "check quota, then insert" so two commands cannot both pass.
        self._admission = asyncio.Lock()
        self._closing = False
        # Tasks inside a submit call: a stop lets them finish rather than interrupt them.
        self._sending: set[asyncio.Task[object]] = set()
        # Commands on their way to a status message: submits and far-off polls wait (a little).
        self.arrivals = Arrivals()
        # Videos being posted and recorded: a stop gives them a grace (see `_deliver`).
        self._posting: set[asyncio.Task[None]] = set()
        # Renews this process's leases and takes over dead processes' jobs (PostgreSQL).
        self._leases: asyncio.Task[None] | None = None
        # ETAs and render-time distributions by kind of job, from the finished ones.
        self.past = PastJobs(store, settings.default_eta_seconds)
        # Operator alerts by kind: when the last one went out, and how many were held since.
        self._alerted: dict[str, float] = {}
        self._alerts_held: dict[str, int] = {}
        # Downloads, probes and re-encodes finished videos for the observer.
        self.poster = VideoPoster(settings, retry_delay=settings.poll_min_seconds)

    # -- admission ---------------------------------------------------------

    async def check_quota(self, user_id: int) -> None:
        """Raise QuotaExceeded if `user_id` may not start a job now."""
        now = self.clock()
        refusal = self._quota_refusal(await self.store.quota_usage(user_id, since=now - DAY), now)
        if refusal is not None:
            raise refusal

    def _quota_refusal(self, usage: QuotaUsage, now: float) -> QuotaExceeded | None:
        """The first of the operator's quotas `usage` reaches, if any."""
        s = self.settings
        if usage.user_active >= s.quota_user_concurrent:
            return QuotaExceeded(QuotaKind.USER_CONCURRENT, s.quota_user_concurrent)
        if usage.user_since >= s.quota_user_daily:
            frees_at = (usage.oldest_since or now) + DAY
            return QuotaExceeded(QuotaKind.USER_DAILY, s.quota_user_daily, frees_at)
        if usage.all_active >= s.quota_global_concurrent:
            return QuotaExceeded(QuotaKind.GLOBAL_CONCURRENT, s.quota_global_concurrent)
        return None

    async def create(
        self,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        prompt: str,
        options: JobOptions,
        image: ImageFacts,
        extends_job_id: int | None = None,
        locale: str | None = None,
    ) -> Job:
        """Check quotas and write the job row (`submitting`); nothing is sent yet.

        `locale` is the language of the job's public messages (the server's).
        """
        # This process's lock, then other processes' (PostgreSQL): one admission at a time.
        async with self._admission, self.store.admitting():
            if self.admission is not None:
                # Again under the lock: a pause or cap since the cog's check counts.
                await self.admission.check(
                    user_id=user_id,
                    guild_id=guild_id,
                    channel_id=channel_id,
                    duration=options.duration,
                )
            now = self.clock()
            job = Job(
                user_id=user_id,
                guild_id=guild_id,
                channel_id=channel_id,
                prompt=prompt,
                options=options,
                image=image,
                extends_job_id=extends_job_id,
                created_at=now,
                locale=locale,
            )
            return await self._insert_within_quotas(job, now)

    async def _insert_within_quotas(self, job: Job, now: float) -> Job:
        """The quota checks and the insert as one statement: each trip to the database
        holds the admission lock, which 1,000 commands at once queue on. Only a refusal
        reads the usage again, to say which quota."""
        s = self.settings
        limits = QuotaLimits(
            user_concurrent=s.quota_user_concurrent,
            user_daily=s.quota_user_daily,
            global_concurrent=s.quota_global_concurrent,
            since=now - DAY,
        )
        for _ in range(3):  # bounded: a refusal whose slot frees before we look again
            created = await self.store.create_within(job, limits)
            if created is not None:
                return created
            usage = await self.store.quota_usage(job.user_id, since=limits.since)
            refusal = self._quota_refusal(usage, now)
            if refusal is not None:
                raise refusal
        raise QuotaExceeded(QuotaKind.GLOBAL_CONCURRENT, s.quota_global_concurrent)

    async def submit(
        self,
        job_id: int,
        *,
        image_url: str,
        status_message_id: int | None,
        hosted_url: str | None,
    ) -> Job:
        """Send the job to RunComfy once, store its request id and start tracking it.

        `hosted_url` is the copy of the image the bot attached to its status message
        (kept for "Animate again"); the option attachment's URL is never stored.
        """
        # The row knows its status message before any wait: a ❌ finds the job by it, and
        # a burst's held submits then go without a write each (1,000 at once stalled the
        # database thread for the last status messages, 2.4 s, under the admission lock).
        job = await self.store.update(
            job_id, status_message_id=status_message_id, image_url=hosted_url
        )
        await self.arrivals.let_through()  # other commands' status messages first
        body = SeedanceInput.from_options(job.prompt, image_url, job.options).model_dump(
            mode="json"
        )
        task = asyncio.current_task()
        if task is not None:
            self._sending.add(task)
        try:
            submitted = await self.runcomfy.submit(body)
        except RunComfyError as exc:
            return await self._submit_failed(job, exc)
        except asyncio.CancelledError:
            # Cut off by a stop while RunComfy had the request: the job may exist, so it
            # is never resent, and its author hears it now rather than at the next start.
            log.warning("Job %d: stopped while being submitted; marked lost", job_id)
            await self._end(job, JobStatus.LOST, error=RESTARTED_WHILE_SENDING)
            raise
        finally:
            self._sending.discard(task)  # type: ignore[arg-type]
        queued = await self.store.transition(
            job_id,
            from_statuses=[JobStatus.SUBMITTING],
            to=JobStatus.IN_QUEUE,
            request_id=submitted.request_id,
            submitted_at=self.clock(),
        )
        if queued is None:
            return await self._outlived(job_id, submitted.request_id)
        job = queued
        log.info("Job %d submitted as %s", job_id, submitted.request_id)
        await self._notify_updated(job)
        self._track(job)
        return job

    async def _outlived(self, job_id: int, request_id: str) -> Job:
        """The row ended while its submit was out (a stalled process whose lease another
        took, which marked it lost and told the author): record what RunComfy holds and
        cancel it while it is still queued. Cancelled in time, nothing is charged: the
        row says so (`cancelled`) and stops counting against its author's day."""
        log.warning("Job %d: ended while being submitted; cancelling %s", job_id, request_id)
        job = await self.store.update(job_id, request_id=request_id)
        try:
            outcome = await self.runcomfy.cancel(request_id)
        except RunComfyError as exc:
            await self._alert(f"Job {job_id} ({request_id}) may be billed: cancel failed ({exc})")
            return job
        if not outcome.cancelled:
            await self._alert(f"Job {job_id} ({request_id}) was already running: billed")
            return job
        dropped = await self.store.transition(
            job_id, from_statuses=[JobStatus.LOST], to=JobStatus.CANCELLED
        )
        return dropped or job

    async def claim_extend(self, job_id: int) -> bool:
        """Extend a delivered job at most once (two racing presses make one job)."""
        return await self.store.claim_extend(job_id, self.clock())

    async def release_extend(self, job_id: int) -> None:
        await self.store.release_extend(job_id)

    async def abandon(self, job_id: int, reason: str) -> None:
        """The cog could not set the job up (e.g. its status message failed): end it unsent."""
        abandoned = await self.store.transition(
            job_id,
            from_statuses=[JobStatus.SUBMITTING],
            to=JobStatus.FAILED,
            error=reason,
            finished_at=self.clock(),
        )
        if abandoned is not None:
            self.metrics.job_ended(JobStatus.FAILED)

    async def _submit_failed(self, job: Job, exc: RunComfyError) -> Job:
        assert job.id is not None
        if exc.operator_problem:
            await self._alert(f"RunComfy refused a submit ({exc.error_code}): {exc.message}")
            status, error = JobStatus.FAILED, SERVICE_UNAVAILABLE
        elif exc.ambiguous:
            # The job may exist at RunComfy, but without its id we cannot track it,
            # and a retry could bill a second one.
            log.warning("Job %d: submit outcome unknown (%s); not retried", job.id, exc)
            status = JobStatus.LOST
            error = (
                "The video service did not confirm the job; "
                "it was not resent to avoid charging twice."
            )
        else:
            if exc.retryable:  # RunComfy could not be reached: nothing was sent
                await self._alert_unreachable(job, exc)
            status, error = JobStatus.FAILED, exc.user_message
        job = await self.store.update(job.id, status=status, error=error, finished_at=self.clock())
        self.metrics.job_ended(status)
        await self._notify_updated(job)
        await self._notify_ended(job)
        return job

    # -- tracking ----------------------------------------------------------

    def _track(self, job: Job, *, resumed_after: float | None = None) -> None:
        """Poll `job` until it ends: just submitted, or resumed after `resumed_after` s."""
        assert job.id is not None
        if self._closing or job.id in self._trackers:
            return
        task = asyncio.create_task(self._run_tracker(job, resumed_after), name=f"job:{job.id}")
        self._trackers[job.id] = task
        job_id = job.id
        task.add_done_callback(lambda _task: self._trackers.pop(job_id, None))

    async def _run_tracker(self, job: Job, resumed_after: float | None) -> None:
        try:
            if job.status is JobStatus.COMPLETED:
                await self._deliver(job)
            else:
                await self._poll_until_done(job, resumed_after)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug must not kill silently: the row stays active and resumes on restart.
            log.exception("Tracker for job %s crashed", job.id)

    async def _poll_until_done(self, job: Job, resumed_after: float | None) -> None:
        """Ask `/status` while queued and `/result` while rendering, until the job ends.

        `/result` answers with the current state until the job is done, then with
        the video: polling it while rendering saves the final round trip.
        """
        assert job.id is not None and job.request_id is not None
        started = job.submitted_at or job.created_at
        deadline = started + self.settings.job_timeout_seconds
        expected_end = started + await self.past.expected_duration(job.options)
        # When RunComfy last said "queued": the render started between then and the
        # poll that first sees it running.
        queued_at: float | None
        if resumed_after is None:
            # Just submitted, so queued when RunComfy answered: that answer is the first
            # "queued" poll, and the next comes an interval later. Asked at once, it told
            # only the place in line, which the next poll tells too (one call in 14).
            queued_at = job.submitted_at
            times = await self.past.render_times(job.options)
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
            now = self.clock()
            if now >= deadline:
                await self._time_out(job)
                return
            result: RequestResult | None = None
            on_result = job.status is JobStatus.IN_PROGRESS and not (result_down or result_unclear)
            if job.status is JobStatus.IN_QUEUE and (job.queue_position or 0) > 1:
                # A move down the queue can be shown a little later; the next in line's
                # start, which times every later poll, cannot.
                await self.arrivals.let_through()
            asked_at = self.clock()
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
                    await (self._result_refused(job, exc) if on_result else self._fail(job, exc))
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
                await self._deliver(job, results_tried=int(on_result))
                return
            if job.status.is_final:
                return
            # Looked up per poll (cached): a kind's first renders finish while others run.
            times = await self.past.render_times(job.options)
            delay, urgent = self._next_delay(job, expected_end, times, queued_at)
            # The delay spaces what RunComfy is asked, so the time this answer took comes
            # off it (the next one should take as long): waiting the full delay after a
            # slow answer stretched every interval at 1,000 live jobs (0.6 s answers
            # against 1-3 s delays: one poll in eight fewer, each seeing the end later).
            # At most half of it: answers slow under load must not turn into more load.
            await asyncio.sleep(max(delay - (self.clock() - asked_at), delay / 2))

    def _next_delay(
        self, job: Job, expected_end: float, times: RenderTimes | None, queued_at: float | None
    ) -> tuple[float, bool]:
        """The wait before the next poll, and whether that poll is due when it comes.

        A sparse poll (at about the longest interval) is not: it may wait for others.
        """
        now = self.clock()
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
        new = _STATUS_BY_WIRE.get(status.status, job.status)
        if new is job.status:
            if status.queue_position == job.queue_position or new is not JobStatus.IN_QUEUE:
                return job
            # Only the queue moved: shown to the user, not written (a restart polls
            # again anyway), which saves an UPDATE and a validated row per move.
            moved = job.model_copy(update={"queue_position": status.queue_position})
            await self._notify_updated(moved)
            return moved
        if new is JobStatus.CANCELLED:
            return await self._end(
                job, JobStatus.CANCELLED, error="Cancelled at the video service."
            )
        if new is JobStatus.FAILED:
            error = result.error if result is not None and result.error else None
            return await self._end(
                job, JobStatus.FAILED, error=error or await self._failure_reason(job)
            )
        changes: dict[str, object] = {"status": new, "queue_position": status.queue_position}
        if new is JobStatus.IN_PROGRESS and job.started_at is None:
            now = self.clock()
            changes["started_at"] = now if queued_at is None else (queued_at + now) / 2
        if new is JobStatus.COMPLETED:
            changes["finished_at"] = self.clock()
            changes["queue_position"] = None
            if result is not None and result.video_url is not None:
                changes["video_url"] = result.video_url
                changes["cost"] = result.cost
        updated = await self.store.transition(job.id, from_statuses=[job.status], to=new, **changes)
        if updated is None:  # changed under us (a cancel): stop here
            return await self._reload(job)
        if new is not JobStatus.COMPLETED:
            await self._notify_updated(updated)
        return updated

    async def _failure_reason(self, job: Job) -> str:
        assert job.request_id is not None
        try:
            result = await self.runcomfy.result(job.request_id)
        except RunComfyError:
            return "The video service could not make this video."
        return result.error or "The video service could not make this video."

    async def _reload(self, job: Job) -> Job:
        assert job.id is not None
        fresh = await self.store.get(job.id)
        return fresh if fresh is not None else job

    async def _time_out(self, job: Job) -> None:
        assert job.request_id is not None
        # A job still queued can be dropped so it is never billed; a running one cannot.
        with contextlib.suppress(RunComfyError):
            await self.runcomfy.cancel(job.request_id)
        minutes = round(self.settings.job_timeout_seconds / 60)
        await self._end(job, JobStatus.TIMED_OUT, error=f"No video after {minutes} minutes.")

    async def _fail(self, job: Job, exc: RunComfyError) -> None:
        if exc.operator_problem:
            await self._alert(
                f"RunComfy refused job {job.id} ({exc.error_code}): {exc.message}",
                kind=f"refused:{exc.error_code or exc.status_code}",
            )
            await self._end(job, JobStatus.FAILED, error=SERVICE_UNAVAILABLE)
        else:
            if exc.retryable:
                await self._alert_unreachable(job, exc)
            await self._end(job, JobStatus.FAILED, error=exc.user_message)

    async def _alert_unreachable(self, job: Job, exc: RunComfyError) -> None:
        await self._alert(
            f"RunComfy cannot be reached; job {job.id} failed ({exc})", kind="unreachable"
        )

    async def _end(self, job: Job, status: JobStatus, *, error: str | None) -> Job:
        """Move an active job to a final state once; tell the author."""
        assert job.id is not None
        ended = await self.store.transition(
            job.id,
            from_statuses=ACTIVE_STATUSES,
            to=status,
            error=error,
            queue_position=None,
            finished_at=self.clock(),
        )
        if ended is None:
            return await self._reload(job)
        self.metrics.job_ended(status)
        log.info("Job %d ended %s", job.id, status)
        await self._notify_updated(ended)
        await self._notify_ended(ended)
        return ended

    # -- delivery ----------------------------------------------------------

    async def _deliver(self, job: Job, *, results_tried: int = 0) -> None:
        assert job.id is not None and job.request_id is not None
        if job.video_url is None:
            result = await self._fetch_result(job, tried=results_tried)
            if result is None:
                return
            job = await self.store.update(job.id, video_url=result.video_url, cost=result.cost)
        # The post and its record as one task that a stop lets finish (POSTING_GRACE_SECONDS):
        # a followup carries no nonce for Discord to drop a second post by, so a video
        # posted but not recorded would be posted again by the next start.
        posting = asyncio.create_task(self._post_and_record(job), name=f"post-job-{job.id}")
        self._posting.add(posting)
        posting.add_done_callback(self._posting.discard)
        await asyncio.shield(posting)

    async def _post_and_record(self, job: Job) -> None:
        assert job.id is not None and job.video_url is not None
        job_id = job.id
        delivery: Delivery | None = None
        try:
            if self.observer is not None:
                job, delivery = await self.poster.post(job, self.observer)
        except DownloadError as exc:  # refused: neither fetched nor shown
            await self._refuse_video(job, str(exc))
            return
        except Exception:
            # A bug on the way to Discord must not leave the job `completed` (its status
            # at Rendering) until a restart that would trip on it again.
            log.exception("Job %d: posting the video failed; it waits in /history", job_id)
        delivered = await self.store.transition(
            job_id,
            from_statuses=[JobStatus.COMPLETED],
            to=JobStatus.DELIVERED,
            video_bytes=job.video_bytes,
            posted_video_bytes=job.posted_video_bytes,
            delivered_channel_id=delivery.channel_id if delivery else None,
            delivered_message_id=delivery.message_id if delivery else None,
            delivered_at=self.clock(),
        )
        if delivered is not None:
            log.info("Job %d delivered", job_id)
            self.metrics.job_ended(JobStatus.DELIVERED)
            # No place reached: the result waits in /history ("none").
            self.metrics.delivered(delivery.kind if delivery else "none", delivered.cost)
            await self._notify_updated(delivered)

    async def _fetch_result(self, job: Job, *, tried: int = 0) -> RequestResult | None:
        """The finished job's result with a video; None if the job ended instead.

        A few tries (RESULT_ATTEMPTS in all, `tried` of them made by the poller) over at
        most RESULT_GRACE_SECONDS: a completed job whose result still carries no video
        by then is not going to get one.
        """
        assert job.request_id is not None
        deadline = self.clock() + RESULT_GRACE_SECONDS
        delay = self.policy.min_delay
        unreachable: RunComfyError | None = None
        for attempt in range(min(tried, RESULT_ATTEMPTS - 1) + 1, RESULT_ATTEMPTS + 1):
            if attempt > 1:
                await asyncio.sleep(delay)
                delay = min(self.policy.max_delay, delay * 2)
            try:
                result = await self.runcomfy.result(job.request_id)
            except RunComfyError as exc:
                if not exc.retryable:
                    await self._result_refused(job, exc)
                    return None
                unreachable = exc  # the client logged it and already retried
            else:
                unreachable = None
                if result.video_url is not None:
                    if is_fetchable_url(result.video_url):
                        return result
                    await self._refuse_video(job, "not an http(s) URL")
                    return None
                if result.status in ("failed", "cancelled"):
                    log.warning(
                        "Job %d: RunComfy finished %s without a video (%s)",
                        job.id,
                        result.status,
                        result.error,
                    )
                    await self._end(job, JobStatus.FAILED, error=NO_VIDEO)
                    return None
                log.warning(
                    "Job %d: completed but /result has no video (status %r), try %d of %d",
                    job.id,
                    result.status,
                    attempt,
                    RESULT_ATTEMPTS,
                )
            if self.clock() + delay > deadline:
                break
        if unreachable is not None:
            await self._fail(job, unreachable)
        else:
            log.error("Job %d: RunComfy said completed but gave no video; failed", job.id)
            await self._end(job, JobStatus.FAILED, error=NO_VIDEO)
        return None

    async def _result_refused(self, job: Job, exc: RunComfyError) -> None:
        if exc.error_code == 404001 or exc.status_code == 404:
            log.warning("Job %d: the result expired at RunComfy before it was fetched", job.id)
            await self._end(job, JobStatus.FAILED, error=RESULT_EXPIRED)
        else:
            await self._fail(job, exc)

    async def _refuse_video(self, job: Job, why: str) -> None:
        """A video URL that must be neither fetched nor shown: forget it, end the job."""
        assert job.id is not None
        log.warning("Job %d: video URL refused (%s)", job.id, why)
        job = await self.store.update(job.id, video_url=None)
        await self._end(job, JobStatus.FAILED, error=VIDEO_REFUSED)

    # -- cancel ------------------------------------------------------------

    async def cancel(
        self, job_id: int, *, actor_id: int, actor_is_moderator: bool
    ) -> CancelOutcome:
        """Cancel a queued job at RunComfy, once however many people ask at once.

        Calls that overlap share the first one's RunComfy call; they get
        ALREADY_CANCELLED when it cancelled the job, else its outcome.
        """
        job = await self.store.get(job_id)
        if job is None:
            return CancelOutcome.UNKNOWN
        if actor_id != job.user_id and not actor_is_moderator:
            return CancelOutcome.NOT_ALLOWED
        in_flight = self._cancels.get(job_id)
        if in_flight is not None:
            outcome = await asyncio.shield(in_flight)
            return (
                CancelOutcome.ALREADY_CANCELLED if outcome is CancelOutcome.CANCELLED else outcome
            )
        future: asyncio.Future[CancelOutcome] = asyncio.get_running_loop().create_future()
        self._cancels[job_id] = future
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
            del self._cancels[job_id]

    async def _cancel_once(self, job_id: int) -> CancelOutcome:
        # Read again under the guard: an earlier cancel may have just ended the job.
        job = await self.store.get(job_id)
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
        tracker = self._trackers.get(job_id)
        if tracker is not None and tracker is not asyncio.current_task():
            tracker.cancel()
        ended = await self._end(job, JobStatus.CANCELLED, error=None)
        if ended.status is not JobStatus.CANCELLED:
            # Lost the race to the tracker (say, a completion seen just before).
            log.warning("Job %d: cancelled at RunComfy but already %s", job_id, ended.status)
            return CancelOutcome.FINISHED
        return CancelOutcome.CANCELLED

    # -- life cycle --------------------------------------------------------

    async def resume(self) -> int:
        """Pick unfinished jobs up again after a start; returns how many.

        SQLite (one process): every active job, at once. PostgreSQL: the jobs no live
        process holds; then the lease keeper renews ours and takes over others' jobs.
        """
        store = self.store
        if store.owner is None:  # a store opened without a process id (some tests)
            jobs = await store.active_jobs()
        else:
            now = self.clock()
            jobs = await store.claim(now=now, until=now + store.lease_hold, force=not store.shared)
        resumed = await self._adopt(jobs)
        if store.shared and store.owner is not None and self._leases is None:
            self._leases = asyncio.create_task(self._keep_leases(), name="leases")
        return resumed

    async def _adopt(self, jobs: list[Job]) -> int:
        """Track claimed jobs; those caught mid-submit are lost (never resubmitted).

        Their first polls are spread over the request budget (the nearest to done
        first) rather than queued at once, so a restart with 1,000 live jobs does
        not hold up the polls and results that fall due meanwhile.
        """
        resumable: list[Job] = []
        for job in jobs:
            if job.request_id is None:
                # Crashed between writing the row and learning the request id:
                # it may or may not exist at RunComfy; never resubmit.
                await self._end(job, JobStatus.LOST, error=RESTARTED_WHILE_SENDING)
                continue
            resumable.append(job)
        resumable.sort(key=_resume_order)
        budget = self.runcomfy.budget
        burst = budget.capacity if budget is not None else 0.0
        for index, job in enumerate(resumable):
            spread = max(0.0, index - burst / 2) / budget.rate if budget is not None else 0.0
            self._track(job, resumed_after=spread)
        if resumable:
            log.info("Resumed %d jobs", len(resumable))
        return len(resumable)

    async def _keep_leases(self) -> None:
        """Renew our leases every third of LEASE_SECONDS; take over another process's
        jobs the moment its lease lapses (it stopped renewing), not at our next round,
        which left a dead process's jobs waiting up to a third of the period longer.
        """
        every = self.settings.lease_seconds / 3
        renew_at = take_at = self.clock() + every
        while True:
            # Fixed rounds: a slow round must not push every later renewal back.
            await asyncio.sleep(min(every, max(0.0, min(renew_at, take_at) - self.clock())))
            try:
                now = self.clock()
                if now >= renew_at:
                    renew_at = max(renew_at + every, now + every / 2)
                    ours = await self.store.renew(until=now + self.store.lease_hold)
                    await self._drop_taken(ours)
                if self.clock() >= take_at:
                    # At the latest with the next renewal, which also finds released jobs.
                    take_at = min(renew_at, await self._take_over_lapsed(every / 20))
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be briefly away: try again at the next round.
                log.exception("Lease renewal failed")
                take_at = renew_at

    async def _take_over_lapsed(self, min_wait: float) -> float:
        """Claim the jobs whose lease lapsed; returns when the next one lapses."""
        now = self.clock()
        taken = await self.store.claim(now=now, until=now + self.store.lease_hold, own=False)
        if taken:
            log.warning("Took over %d jobs whose process stopped renewing", len(taken))
            await self._adopt(taken)
        lapse = await self.store.next_lapse()
        # Just after it (the claim compares strictly), and never a busy loop on a row
        # the claim skipped (locked by another process's claim at that moment).
        soonest = self.clock() + min_wait
        return math.inf if lapse is None else max(lapse + 0.01, soonest)

    async def _drop_taken(self, ours: set[int]) -> None:
        """Stop tracking jobs another process took over (we were too slow to renew)."""
        for job_id in [i for i in self._trackers if i not in ours]:
            job = await self.store.get(job_id)
            owner, _ = await self.store.lease_of(job_id)
            if job is not None and not job.status.is_final and owner != self.store.owner:
                log.warning("Job %d: taken over by %s; no longer tracked here", job_id, owner)
                task = self._trackers.get(job_id)
                if task is not None:
                    task.cancel()

    async def purge_expired(self) -> int:
        days = self.settings.history_retention_days
        if days is None:
            return 0
        return await self.store.purge_finished_before(self.clock() - days * DAY)

    def is_sending(self, task: asyncio.Task[object]) -> bool:
        """Is `task` waiting for RunComfy to accept a job (the point of no return)?"""
        return task in self._sending

    # -- what the cogs may ask ---------------------------------------------

    async def get(self, job_id: int) -> Job | None:
        return await self.store.get(job_id)

    async def get_shown(self, job_id: int) -> Job | None:
        """The job unless its author cleared it from their history."""
        return await self.store.get_shown(job_id)

    async def by_status_message(self, message_id: int) -> Job | None:
        return await self.store.find_by_status_message(message_id)

    async def expected_duration(self, options: JobOptions) -> float:
        return await self.past.expected_duration(options)

    async def expected_render(self, options: JobOptions) -> float:
        return await self.past.expected_render(options)

    @property
    def live_trackers(self) -> int:
        return len(self._trackers)

    async def close(self) -> None:
        """Stop tracking (rows stay; the next start resumes them)."""
        self._closing = True
        if self._leases is not None:
            self._leases.cancel()
            await asyncio.gather(self._leases, return_exceptions=True)
        trackers = list(self._trackers.values())
        for task in trackers:
            task.cancel()
        await asyncio.gather(*trackers, return_exceptions=True)
        if self._posting:
            posted, late = await asyncio.wait(self._posting, timeout=POSTING_GRACE_SECONDS)
            for task in posted:  # their trackers are gone: nobody else reads the outcome
                if not task.cancelled() and task.exception() is not None:
                    log.error(
                        "%s failed while stopping", task.get_name(), exc_info=task.exception()
                    )
            for task in late:
                task.cancel()  # mid-download, most likely: the next start posts it
            await asyncio.gather(*late, return_exceptions=True)
        if self._leases is not None:
            # Give our jobs back: another process picks them up at its next scan.
            try:
                released = await self.store.release()
                log.info("Released %d jobs to the other processes", released)
            except Exception:
                log.exception("Could not release leases; they expire within LEASE_SECONDS")
        await self.poster.aclose()

    # -- observer plumbing -------------------------------------------------

    async def _notify_updated(self, job: Job) -> None:
        if self.observer is not None:
            await guarded(self.observer.job_updated(job), "job_updated", job)

    async def _notify_ended(self, job: Job) -> None:
        if self.observer is not None:
            await guarded(self.observer.job_ended(job), "job_ended", job)

    async def _alert(self, text: str, *, kind: str | None = None) -> None:
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


def _resume_order(job: Job) -> tuple[int, int, float]:
    """Completed first, then rendering, then the queue by position: nearest to done first."""
    rank = {JobStatus.COMPLETED: 0, JobStatus.IN_PROGRESS: 1}.get(job.status, 2)
    return (rank, job.queue_position or 0, job.created_at)
