"""A completed job's way to its author: fetch the result, post the video, record it.

The fetch tries a few times (RunComfy may say completed a moment before the result
carries the video); then the process claims the post (a compare-and-set on the row, so
that of two processes tracking one job, one stalled past its lease, one posts);
`VideoPoster` takes the video to the observer; the delivery is then recorded by a
compare-and-set from `completed`, so a job is delivered once.
Never "delivered" with nothing posted: an unexpected error posting the video posts its
link instead, and if nothing reaches the author the job ends failed, saying so.
"""

from __future__ import annotations

import asyncio
import logging

from bot.domain import Job, JobStatus
from bot.downloads import DownloadError, is_fetchable_url
from bot.jobs.contract import (
    NO_VIDEO,
    NOT_POSTED,
    RESULT_EXPIRED,
    VIDEO_REFUSED,
    Delivery,
    LinkReason,
)
from bot.jobs.posting import VideoPoster
from bot.jobs.transitions import Transitions
from bot.polling import PollPolicy
from bot.runcomfy import RequestResult, RunComfyClient, RunComfyError

log = logging.getLogger(__name__)

# /status can say completed a moment before /result carries the video: a few tries,
# spaced by the poll backoff, within about RESULT_GRACE_SECONDS.
RESULT_ATTEMPTS = 5
RESULT_GRACE_SECONDS = 30.0
# How long a stop waits for videos being posted (inside Docker's 10 s before SIGKILL).
POSTING_GRACE_SECONDS = 1.5


class Deliveries:
    """Completed jobs on their way to Discord; the posts in flight a stop lets finish."""

    def __init__(
        self,
        *,
        transitions: Transitions,
        runcomfy: RunComfyClient,
        poster: VideoPoster,
        policy: PollPolicy,
    ) -> None:
        self.transitions = transitions
        self.runcomfy = runcomfy
        self.poster = poster
        self.policy = policy  # spaces the result's tries
        self._posting: dict[asyncio.Task[None], int] = {}
        # Posted but not yet recorded (the database failed): a retry records, not reposts.
        self._posted: dict[int, tuple[Job, Delivery | None]] = {}

    async def deliver(self, job: Job, *, results_tried: int = 0) -> None:
        """Fetch the video if the job has none yet, post it and record the delivery.

        `results_tried`: how many of the result's tries the poller already made.
        """
        job_id = job.id
        assert job_id is not None and job.request_id is not None
        if job.video_url is None:
            result = await self._fetch_result(job, tried=results_tried)
            if result is None:
                return
            job = await self.transitions.store.update(
                job_id, video_url=result.video_url, cost=result.cost
            )
        posting = next((t for t, i in self._posting.items() if i == job_id), None)
        if posting is None:
            claimed = await self._claim(job)
            if claimed is None:
                return
            # The post and its record as one task that a stop lets finish (POSTING_GRACE_SECONDS):
            # a followup carries no nonce for Discord to drop a second post by, so a video
            # posted but not recorded would be posted again by the next start.
            posting = self._start_posting(claimed)
        await asyncio.shield(posting)  # one post per job here too, whoever asks again

    def _start_posting(self, job: Job) -> asyncio.Task[None]:
        job_id = job.id
        assert job_id is not None
        posting = asyncio.create_task(self._post_and_record(job), name=f"post-job-{job_id}")
        self._posting[posting] = job_id
        posting.add_done_callback(lambda done: self._posting.pop(done, None))
        return posting

    async def _claim(self, job: Job) -> Job | None:
        """Claim the post of the job's video for this process; None when another posts it
        (this process lets the job go) or the job ended meanwhile.

        A claim held by another process whose lease on the job we now hold means it stopped
        renewing: it died, or it stalled and may yet post. Wait, tracking the job, until it
        records its post or its claim lapses (then post: the observer looks for a post it
        made but did not record).
        """
        assert job.id is not None
        store, clock = self.transitions.store, self.transitions.clock
        waited = False
        while True:
            now = clock()
            claimed = await store.claim_delivery(job.id, now=now, force=not store.shared)
            if claimed is not None:
                if waited:
                    log.warning("Job %d: its claimant's post lapsed; posting it here", job.id)
                return claimed
            claim = await store.delivery_claim(job.id)
            if claim is None or claim.status is not JobStatus.COMPLETED:
                return None  # delivered, or ended, by whoever had it
            if claim.owner != store.owner:
                log.warning(
                    "Job %d: its video is being posted by %s; no longer tracked here",
                    job.id,
                    claim.by,
                )
                return None
            if not waited:
                log.warning(
                    "Job %d: waiting for %s, which claimed its post and stopped renewing",
                    job.id,
                    claim.by,
                )
                waited = True
            lapse = (claim.until or now) - now
            await asyncio.sleep(min(max(lapse, 0.0) + 0.01, self.policy.max_delay))

    def posting_ids(self) -> set[int]:
        """The jobs whose video is being posted now (their tracker may be gone)."""
        return set(self._posting.values())

    async def result_refused(self, job: Job, exc: RunComfyError) -> None:
        """/result said no for good: the video expired at RunComfy, or the job failed."""
        if exc.error_code == 404001 or exc.status_code == 404:
            log.warning("Job %d: the result expired at RunComfy before it was fetched", job.id)
            await self.transitions.end(job, JobStatus.FAILED, error=RESULT_EXPIRED)
        else:
            await self.transitions.fail(job, exc)

    async def close(self) -> None:
        """Give the posts in flight POSTING_GRACE_SECONDS; cut the rest (the next start
        posts them)."""
        if not self._posting:
            return
        posted, late = await asyncio.wait(list(self._posting), timeout=POSTING_GRACE_SECONDS)
        for task in posted:  # their trackers are gone: nobody else reads the outcome
            if not task.cancelled() and task.exception() is not None:
                log.error("%s failed while stopping", task.get_name(), exc_info=task.exception())
        for task in late:
            task.cancel()  # mid-download, most likely
        await asyncio.gather(*late, return_exceptions=True)

    async def _post_and_record(self, job: Job) -> None:
        assert job.id is not None and job.video_url is not None
        job_id = job.id
        if job_id not in self._posted:
            posted = await self._post(job)
            if posted is None:
                return
            self._posted[job_id] = posted
        job, delivery = self._posted[job_id]
        delivered = await self.transitions.store.transition(
            job_id,
            from_statuses=[JobStatus.COMPLETED],
            to=JobStatus.DELIVERED,
            video_bytes=job.video_bytes,
            posted_video_bytes=job.posted_video_bytes,
            delivered_channel_id=delivery.channel_id if delivery else None,
            delivered_message_id=delivery.message_id if delivery else None,
            delivered_at=self.transitions.clock(),
        )
        del self._posted[job_id]
        if delivered is not None:
            log.info("Job %d delivered", job_id)
            metrics = self.transitions.metrics
            metrics.job_ended(JobStatus.DELIVERED, delivered.model_id)
            # No place reached: the result waits in /history ("none").
            metrics.delivered(
                delivery.kind if delivery else "none", delivered.cost, delivered.model_id
            )
            await self.transitions.notify_updated(delivered)

    async def _post(self, job: Job) -> tuple[Job, Delivery | None] | None:
        """The video (or its link) to the observer: the job with its sizes, and where it went.

        None when the job ended instead (a URL that must not be fetched).
        """
        assert job.id is not None
        observer = self.transitions.observer
        if observer is None:
            return job, None
        try:
            return await self.poster.post(job, observer)
        except DownloadError as exc:  # refused: neither fetched nor shown
            await self._refuse_video(job, str(exc))
            return None
        except Exception:
            # Not "delivered" with nothing posted: the link still gets it to its author.
            log.exception("Job %d: posting the video failed; posting its link", job.id)
        try:
            delivery = await observer.deliver(job, None, why=LinkReason.NOT_UPLOADED)
        except Exception:
            log.exception("Job %d: posting its link failed too", job.id)
            delivery = None
        if delivery is None:
            # Nothing reached the author: a failure that says so, with the link (/history).
            error = f"{NOT_POSTED} Its link: {job.video_url}"
            await self.transitions.end(job, JobStatus.FAILED, error=error)
            return None
        return job, delivery

    async def _fetch_result(self, job: Job, *, tried: int = 0) -> RequestResult | None:
        """The finished job's result with a video; None if the job ended instead.

        A few tries (RESULT_ATTEMPTS in all, `tried` of them made by the poller) over at
        most RESULT_GRACE_SECONDS: a completed job whose result still carries no video
        by then is not going to get one.
        """
        assert job.request_id is not None
        clock = self.transitions.clock
        deadline = clock() + RESULT_GRACE_SECONDS
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
                    await self.result_refused(job, exc)
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
                    await self.transitions.end(job, JobStatus.FAILED, error=NO_VIDEO)
                    return None
                log.warning(
                    "Job %d: completed but /result has no video (status %r), try %d of %d",
                    job.id,
                    result.status,
                    attempt,
                    RESULT_ATTEMPTS,
                )
            if clock() + delay > deadline:
                break
        if unreachable is not None:
            await self.transitions.fail(job, unreachable)
        else:
            log.error("Job %d: RunComfy said completed but gave no video; failed", job.id)
            await self.transitions.end(job, JobStatus.FAILED, error=NO_VIDEO)
        return None

    async def _refuse_video(self, job: Job, why: str) -> None:
        """A video URL that must be neither fetched nor shown: forget it, end the job."""
        assert job.id is not None
        log.warning("Job %d: video URL refused (%s)", job.id, why)
        job = await self.transitions.store.update(job.id, video_url=None)
        await self.transitions.end(job, JobStatus.FAILED, error=VIDEO_REFUSED)
