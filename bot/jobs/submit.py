"""A new job's way in: admitted within the quotas, written, sent to RunComfy once.

The row is written (`submitting`) before RunComfy is called, so a crash between the
two leaves a row without a request id, which a restart marks lost: a job is never
sent twice, since a second send could bill twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.admission import Admission
from bot.arrivals import Arrivals
from bot.config import Settings
from bot.domain import ImageFacts, Job, JobStatus, Options, Reach, Visibility
from bot.jobs.contract import (
    RESTARTED_WHILE_SENDING,
    SCHEMA_CHANGED,
    SERVICE_UNAVAILABLE,
    STOPPED_BEFORE_SENDING,
)
from bot.jobs.tracking import Trackers
from bot.jobs.transitions import Transitions
from bot.models.model import VideoModel
from bot.models.options import OptionRefused
from bot.models.registry import Models, is_missing_model
from bot.pricing import Pricing
from bot.quotas import DAY, QuotaExceeded, QuotaKind, first_refusal, operator_quotas
from bot.runcomfy import RunComfyClient, RunComfyError
from bot.store import QuotaLimits, QuotaUsage

log = logging.getLogger(__name__)

# A refusal whose slot frees before the usage is read again: the insert is tried again.
INSERT_TRIES = 3
# How long a cancel asked while its job is being sent waits for the send (`sent`).
SENT_WAIT_SECONDS = 30.0
UNCONFIRMED = (
    "The video service did not confirm the job; it was not resent to avoid charging twice."
)
MODEL_GONE = "The video service no longer offers this model; nothing was sent."


class Submits:
    """Admissions one at a time, and the submits in flight (a stop lets them finish)."""

    def __init__(
        self,
        *,
        transitions: Transitions,
        settings: Settings,
        runcomfy: RunComfyClient,
        models: Models,
        admission: Admission | None,
        pricing: Pricing | None,
        arrivals: Arrivals,
        trackers: Trackers,
    ) -> None:
        self.transitions = transitions
        self.settings = settings
        self.runcomfy = runcomfy
        self.models = models
        # The operator's and server admins' switches (pause, channels, spend cap).
        self.admission = admission
        # Prices the job again as it is admitted: a refresh may have changed its price.
        self.pricing = pricing
        self.arrivals = arrivals
        self.trackers = trackers
        # Serialises "check quota, then insert" so two commands cannot both pass.
        self._admitting = asyncio.Lock()
        # Tasks inside a submit call or storing its id: a stop lets them finish.
        self._sending: set[asyncio.Task[object]] = set()
        # Rows written and not yet handed to RunComfy: a stop ends them unsent (uncharged),
        # rather than the next start calling them lost (counted at their estimate).
        self._not_sent: set[int] = set()
        # Sends under way, each set once it is over (sent, or ended unsent).
        self._sends: dict[int, asyncio.Event] = {}

    def is_sending(self, task: asyncio.Task[object]) -> bool:
        return task in self._sending

    async def check_quota(self, user_id: int) -> None:
        """Raise QuotaExceeded if `user_id` may not start a job now."""
        now = self.transitions.clock()
        usage = await self.transitions.store.quota_usage(user_id, since=now - DAY)
        refusal = self._refusal(usage, now)
        if refusal is not None:
            raise refusal

    async def create(
        self,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        prompt: str,
        model: VideoModel,
        options: Options,
        estimate_usd: float | None,
        image: ImageFacts,
        extends_job_id: int | None,
        locale: str | None,
        reach: Reach = Reach.CHANNEL,
        visibility: Visibility = Visibility.PUBLIC,
        upload_limit: int | None = None,
    ) -> Job:
        """Check admission and quotas and write the job row (`submitting`).

        A server's switches and budget apply to what its own install starts; a member's
        user install used there (`Reach.TOKEN`) answers to the operator's alone.
        """
        # This process's lock, then other processes' (PostgreSQL): one admission at a time.
        async with self._admitting:
            current = self.models.get(model.model_id)
            if current is not None and self.pricing is not None:
                # Priced as it is now: a refresh since the command's checks (its image was
                # being read) may have raised the price, and the budgets count this one.
                # Before the database's transaction: the cost it reads is shared by others.
                model = current
                estimate_usd = await self.pricing.estimate(current, options)
            async with self.transitions.store.admitting():
                if self.admission is not None:
                    # Again under the lock: a pause, a cap or a retired model since counts.
                    await self.admission.check(
                        user_id=user_id,
                        guild_id=guild_id if reach is Reach.CHANNEL else None,
                        channel_id=channel_id,
                        model_id=model.model_id,
                        estimate_usd=estimate_usd,
                    )
                now = self.transitions.clock()
                job = Job(
                    user_id=user_id,
                    guild_id=guild_id,
                    channel_id=channel_id,
                    prompt=prompt,
                    model_id=model.model_id,
                    options=options,
                    kind=model.kind(options),
                    estimate_usd=estimate_usd,
                    image=image,
                    extends_job_id=extends_job_id,
                    created_at=now,
                    locale=locale,
                    reach=reach,
                    visibility=visibility,
                    upload_limit=upload_limit,
                )
                created = await self._insert_within_quotas(job, now)
        assert created.id is not None
        # Held from now: its lease is renewed, and no sweep takes it for a lost one.
        self.trackers.reserve(created.id)
        self._not_sent.add(created.id)
        return created

    async def submit(
        self, job_id: int, *, image_url: str, status_message_id: int | None, hosted_url: str | None
    ) -> Job:
        """Send the job to RunComfy once, store its request id and start tracking it."""
        self._sends[job_id] = asyncio.Event()
        try:
            return await self._submit(
                job_id,
                image_url=image_url,
                status_message_id=status_message_id,
                hosted_url=hosted_url,
            )
        finally:
            self._not_sent.discard(job_id)
            self.trackers.unreserve(job_id)  # tracked by now, or ended
            self._sends.pop(job_id).set()

    async def sent(self, job_id: int) -> None:
        """Once the job's send under way is over (at most SENT_WAIT_SECONDS); at once
        when none is: a cancel asked meanwhile is for the job RunComfy is about to queue."""
        send = self._sends.get(job_id)
        if send is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SENT_WAIT_SECONDS):
                    await send.wait()

    async def _submit(
        self, job_id: int, *, image_url: str, status_message_id: int | None, hosted_url: str | None
    ) -> Job:
        store, clock = self.transitions.store, self.transitions.clock
        # The row knows its status message before any wait: a ❌ finds the job by it, and
        # a burst's held submits then go without a write each, which would hold up the
        # admissions of the commands still arriving.
        job = await store.get(job_id)
        model = self.models.get(job.model_id) if job is not None else None
        if job is None or model is None:
            # Retired (or refused) since the job was admitted: nothing is sent.
            log.warning("Job %d: its model is no longer available; not sent", job_id)
            job = await store.update(job_id, status_message_id=status_message_id)
            return await self._unsent(job, MODEL_GONE)
        try:
            body = model.body(job.prompt, image_url, job.options)
        except OptionRefused:
            # Its schema changed since the job's checks (a refresh): never sent outside it.
            log.warning("Job %d: its model no longer takes its options; not sent", job_id)
            job = await store.update(job_id, status_message_id=status_message_id)
            return await self._unsent(job, SCHEMA_CHANGED)
        # One write before any wait: the row knows its status message (a ❌ finds the job
        # by it) and the body, stored as sent before it is; a burst's held submits then
        # go without a write each, which would hold up the admissions still arriving.
        job = await store.update(
            job_id, status_message_id=status_message_id, image_url=hosted_url, body=body
        )
        await self.arrivals.let_through()  # other commands' status messages first
        if job_id not in self._not_sent:
            return await self.transitions.reload(job)  # a stop ended it meanwhile: not sent
        self._not_sent.discard(job_id)
        task = asyncio.current_task()
        if task is not None:
            self._sending.add(task)
        try:
            try:
                submitted = await self.runcomfy.submit(model.model_id, body)
            except RunComfyError as exc:
                return await self._submit_failed(job, exc)
            except asyncio.CancelledError:
                # Cut off by a stop while RunComfy had the request: the job may exist, so
                # it is never resent, and its author hears it now, not at the next start.
                log.warning("Job %d: stopped while being submitted; marked lost", job_id)
                await self.transitions.end(job, JobStatus.LOST, error=RESTARTED_WHILE_SENDING)
                raise
            # Sending until its request id is stored: a stop cutting this write off left a
            # job RunComfy renders and bills that the bot could neither follow nor deliver.
            queued = await store.transition(
                job_id,
                from_statuses=[JobStatus.SUBMITTING],
                to=JobStatus.IN_QUEUE,
                request_id=submitted.request_id,
                submitted_at=clock(),
            )
        finally:
            self._sending.discard(task)  # type: ignore[arg-type]
        if queued is None:
            return await self._outlived(job_id, submitted.request_id)
        job = queued
        log.info("Job %d submitted as %s", job_id, submitted.request_id)
        await self.transitions.notify_updated(job)
        self.trackers.track(job)
        return job

    async def abandon(self, job_id: int, reason: str) -> None:
        """The cog could not set the job up (e.g. its status message failed): end it unsent."""
        self._not_sent.discard(job_id)
        self.trackers.unreserve(job_id)
        abandoned = await self.transitions.store.transition(
            job_id,
            from_statuses=[JobStatus.SUBMITTING],
            to=JobStatus.FAILED,
            error=reason,
            finished_at=self.transitions.clock(),
        )
        if abandoned is not None:
            self.transitions.metrics.job_ended(JobStatus.FAILED, abandoned.model_id)
            await self.transitions.release_extended(abandoned)

    async def end_unsent(self) -> int:
        """At a stop: the rows whose commands never handed them to RunComfy end unsent
        (nothing charged), then their authors are told; a later submit sends nothing."""
        store, unsent = self.transitions.store, sorted(self._not_sent)
        self._not_sent.clear()
        ended = []
        for job_id in unsent:  # every row first: telling the authors may run out of time
            self.trackers.unreserve(job_id)
            job = await store.transition(
                job_id,
                from_statuses=[JobStatus.SUBMITTING],
                to=JobStatus.FAILED,
                error=STOPPED_BEFORE_SENDING,
                finished_at=self.transitions.clock(),
            )
            if job is not None:
                ended.append(job)
        if ended:
            log.warning("Stopping: %d jobs never sent ended unsent (nothing charged)", len(ended))
        for job in ended:
            await self.transitions.ended(job)
        return len(ended)

    async def claim_extend(self, job_id: int) -> bool:
        """Extend a delivered job at most once (two racing presses make one job).

        A claim whose extension has no row once its press's token has expired can start
        nothing any more: its start was cut (a crash), and it is taken over.
        """
        now = self.transitions.clock()
        stale_before = now - self.settings.interaction_token_ttl_seconds
        return await self.transitions.store.claim_extend(job_id, now, stale_before=stale_before)

    async def release_extend(self, job_id: int) -> None:
        await self.transitions.store.release_extend(job_id)

    async def claim_share(self, job_id: int) -> bool:
        """Post a private video to its channel at most once (two racing presses post one)."""
        return await self.transitions.store.claim_share(job_id, self.transitions.clock())

    async def release_share(self, job_id: int) -> None:
        await self.transitions.store.release_share(job_id)

    def _refusal(self, usage: QuotaUsage, now: float) -> QuotaExceeded | None:
        """The first of the operator's quotas `usage` reaches, if any."""
        return first_refusal(
            operator_quotas(self.settings), usage, now=now, all_active=usage.all_active
        )

    async def _insert_within_quotas(self, job: Job, now: float) -> Job:
        """The quota checks and the insert as one statement, since each trip to the
        database holds the admission lock a burst queues on. Only a refusal reads the
        usage again, to say which quota."""
        store, s = self.transitions.store, self.settings
        limits = QuotaLimits(
            user_concurrent=s.quota_user_concurrent,
            user_daily=s.quota_user_daily,
            global_concurrent=s.quota_global_concurrent,
            since=now - DAY,
        )
        for _ in range(INSERT_TRIES):
            created = await store.create_within(job, limits)
            if created is not None:
                return created
            refusal = self._refusal(await store.quota_usage(job.user_id, since=limits.since), now)
            if refusal is not None:
                raise refusal
        raise QuotaExceeded(QuotaKind.GLOBAL_CONCURRENT, s.quota_global_concurrent)

    async def _outlived(self, job_id: int, request_id: str) -> Job:
        """The row ended while its submit was out (a stalled process whose lease another
        took, which marked it lost and told the author): record what RunComfy holds and
        cancel it while it is still queued. Cancelled in time, nothing is charged: the
        row says so (`cancelled`) and stops counting against its author's day."""
        log.warning("Job %d: ended while being submitted; cancelling %s", job_id, request_id)
        store = self.transitions.store
        job = await store.update(job_id, request_id=request_id)
        try:
            outcome = await self.runcomfy.cancel(request_id)
        except RunComfyError as exc:
            await self.transitions.alert(
                f"Job {job_id} ({request_id}) may be billed: cancel failed ({exc})"
            )
            return job
        if not outcome.cancelled:
            await self.transitions.alert(f"Job {job_id} ({request_id}) was already running: billed")
            return job
        dropped = await store.transition(
            job_id, from_statuses=[JobStatus.LOST], to=JobStatus.CANCELLED
        )
        if dropped is None:
            return job
        await self.transitions.release_extended(dropped)
        return dropped

    async def _submit_failed(self, job: Job, exc: RunComfyError) -> Job:
        assert job.id is not None
        if is_missing_model(exc):
            # Retired between two readings: look again now rather than at the next refresh.
            self.models.suspect(job.model_id)
            return await self._unsent(job, MODEL_GONE)
        if exc.operator_problem:
            await self.transitions.alert(
                f"RunComfy refused a submit ({exc.error_code}): {exc.message}"
            )
            status, error = JobStatus.FAILED, SERVICE_UNAVAILABLE
        elif exc.ambiguous:
            # The job may exist at RunComfy, but without its id we cannot track it,
            # and a retry could bill a second one.
            log.warning("Job %d: submit outcome unknown (%s); not retried", job.id, exc)
            status, error = JobStatus.LOST, UNCONFIRMED
        else:
            if exc.retryable:  # RunComfy could not be reached: nothing was sent
                await self.transitions.alert_unreachable(job, exc)
            status, error = JobStatus.FAILED, exc.user_message
        job = await self.transitions.store.update(
            job.id, status=status, error=error, finished_at=self.transitions.clock()
        )
        await self.transitions.ended(job)
        return job

    async def _unsent(self, job: Job, error: str) -> Job:
        """End a job RunComfy never accepted: failed, nothing charged, its author told."""
        assert job.id is not None
        job = await self.transitions.store.update(
            job.id, status=JobStatus.FAILED, error=error, finished_at=self.transitions.clock()
        )
        await self.transitions.ended(job)
        return job
