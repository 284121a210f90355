"""JobService: create, submit, track, cancel and resume jobs. Discord-free.

The service owns every job's life after the cog has validated the input. It
talks to Discord only through `JobObserver`, which the animate cog implements.
A job is a database row first: the row is written before RunComfy is called
and every change is stored before anybody is told about it, so a restart
resumes from the rows and nothing is ever submitted twice.

This class composes the parts and answers the cogs; the work is theirs:
`submit` (admission, the one send), `tracking` (a task per live job, retried) and
`poll_loop` (a job followed to its end), `delivery` (the result to Discord), `cancel`,
`leases` (resume, the sweep, multi-process), all over `transitions` (final states,
the observer, metrics, operator alerts).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.admission import Admission
from bot.arrivals import Arrivals
from bot.config import Settings
from bot.domain import ImageFacts, Job, Options, Reach, UserSettings, Visibility
from bot.jobs.cancel import Cancels
from bot.jobs.contract import CancelOutcome, JobObserver
from bot.jobs.delivery import Deliveries
from bot.jobs.leases import Leases
from bot.jobs.poll_loop import PollLoop
from bot.jobs.posting import VideoPoster
from bot.jobs.submit import Submits
from bot.jobs.tracking import Trackers
from bot.jobs.transitions import Transitions
from bot.metrics import Metrics
from bot.models.model import VideoModel
from bot.models.registry import Models
from bot.past_jobs import PastJobs
from bot.polling import HazardPolicy, PollPolicy
from bot.pricing import Pricing
from bot.quotas import DAY
from bot.runcomfy import RunComfyClient
from bot.store import JobStore

log = logging.getLogger(__name__)
# At a stop, the jobs never sent are ended and their authors told within this.
UNSENT_DEADLINE_SECONDS = 1.5


class JobService:
    def __init__(
        self,
        *,
        settings: Settings,
        store: JobStore,
        runcomfy: RunComfyClient,
        models: Models,
        clock: Callable[[], float] = time.time,
        admission: Admission | None = None,
        metrics: Metrics | None = None,
        pricing: Pricing | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.runcomfy = runcomfy
        # The operator's models: a job's submit body is built from its model's schema.
        self.models = models
        self.clock = clock
        # The operator's and server admins' switches (pause, channels, spend cap).
        self.admission = admission
        # Tests that build the service alone get a private registry nobody reads.
        self.metrics = metrics or Metrics()
        # Commands on their way to a status message: submits and far-off polls wait (a little).
        self.arrivals = Arrivals()
        # ETAs and render-time distributions by kind of job, from the finished ones.
        self.past = PastJobs(store, settings.default_eta_seconds)
        self.policy = PollPolicy(settings.poll_min_seconds, settings.poll_max_seconds)
        # Downloads, probes and re-encodes finished videos for the observer.
        self.poster = VideoPoster(settings, retry_delay=settings.poll_min_seconds)
        self._transitions = Transitions(store=store, clock=clock, metrics=self.metrics)
        self._deliveries = Deliveries(
            transitions=self._transitions, runcomfy=runcomfy, poster=self.poster, policy=self.policy
        )
        self._trackers = Trackers(
            PollLoop(
                transitions=self._transitions,
                settings=settings,
                runcomfy=runcomfy,
                policy=self.policy,
                past=self.past,
                arrivals=self.arrivals,
                deliveries=self._deliveries,
            )
        )
        self._submits = Submits(
            transitions=self._transitions,
            settings=settings,
            runcomfy=runcomfy,
            models=models,
            admission=admission,
            pricing=pricing,
            arrivals=self.arrivals,
            trackers=self._trackers,
        )
        self._cancels = Cancels(
            transitions=self._transitions,
            runcomfy=runcomfy,
            trackers=self._trackers,
            sent=self._submits.sent,
        )
        self._leases = Leases(
            transitions=self._transitions,
            settings=settings,
            runcomfy=runcomfy,
            trackers=self._trackers,
        )

    @property
    def observer(self) -> JobObserver | None:
        """How the service reaches users (the animate cog sets itself here)."""
        return self._transitions.observer

    @observer.setter
    def observer(self, observer: JobObserver | None) -> None:
        self._transitions.observer = observer

    @property
    def hazard_policy(self) -> HazardPolicy:
        return self._trackers.hazard_policy

    # -- a new job ---------------------------------------------------------

    async def check_quota(self, user_id: int) -> None:
        """Raise QuotaExceeded if `user_id` may not start a job now."""
        await self._submits.check_quota(user_id)

    async def create(
        self,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        prompt: str,
        model: VideoModel,
        options: Options,
        image: ImageFacts,
        estimate_usd: float | None = None,
        extends_job_id: int | None = None,
        locale: str | None = None,
        reach: Reach = Reach.CHANNEL,
        visibility: Visibility = Visibility.PUBLIC,
        upload_limit: int | None = None,
    ) -> Job:
        """Check quotas and write the job row (`submitting`); nothing is sent yet.

        `options` are the model's (`VideoModel.choose`); `estimate_usd` what the job is
        expected to cost (`bot.pricing`; priced again as it is admitted, given `pricing`),
        counted against spend caps until its cost is known. `locale` is the language of
        the job's public messages. How it was started, for the steps after its command:
        what reaches its place (`reach`), who sees it there (`visibility`), and the
        upload limit Discord gave with it.
        """
        return await self._submits.create(
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            prompt=prompt,
            model=model,
            options=options,
            estimate_usd=estimate_usd,
            image=image,
            extends_job_id=extends_job_id,
            locale=locale,
            reach=reach,
            visibility=visibility,
            upload_limit=upload_limit,
        )

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
        return await self._submits.submit(
            job_id, image_url=image_url, status_message_id=status_message_id, hosted_url=hosted_url
        )

    async def abandon(self, job_id: int, reason: str) -> None:
        """The cog could not set the job up (e.g. its status message failed): end it unsent."""
        await self._submits.abandon(job_id, reason)

    async def claim_extend(self, job_id: int) -> bool:
        """Extend a delivered job at most once (two racing presses make one job)."""
        return await self._submits.claim_extend(job_id)

    async def release_extend(self, job_id: int) -> None:
        await self._submits.release_extend(job_id)

    async def claim_share(self, job_id: int) -> bool:
        """Post a delivered private video to its channel once (a double press posts once)."""
        return await self._submits.claim_share(job_id)

    async def release_share(self, job_id: int) -> None:
        await self._submits.release_share(job_id)

    def is_sending(self, task: asyncio.Task[object]) -> bool:
        """Is `task` sending a job to RunComfy (the point of no return) or storing its id?"""
        return self._submits.is_sending(task)

    # -- a live job --------------------------------------------------------

    async def cancel(
        self, job_id: int, *, actor_id: int, actor_is_moderator: bool
    ) -> CancelOutcome:
        """Cancel a queued job at RunComfy, once however many people ask at once.

        Calls that overlap share the first one's RunComfy call; they get
        ALREADY_CANCELLED when it cancelled the job, else its outcome.
        """
        return await self._cancels.cancel(
            job_id, actor_id=actor_id, actor_is_moderator=actor_is_moderator
        )

    @property
    def live_trackers(self) -> int:
        return self._trackers.live

    # -- life cycle --------------------------------------------------------

    async def resume(self) -> int:
        """Pick unfinished jobs up again after a start; returns how many.

        SQLite (one process): every active job, at once. PostgreSQL: the jobs no live
        process holds; then the lease keeper renews ours and takes over others' jobs.
        """
        return await self._leases.resume()

    async def end_unsent(self) -> None:
        """At a graceful stop, once the commands under way are done or interrupted: the
        jobs they never sent end unsent (nothing charged) rather than lost at the next start."""
        try:
            async with asyncio.timeout(UNSENT_DEADLINE_SECONDS):
                await self._submits.end_unsent()
        except TimeoutError:  # a stop goes on: the next start calls them lost instead
            log.warning("Could not end the jobs never sent within %.0f s", UNSENT_DEADLINE_SECONDS)
        except Exception:
            log.exception("Could not end the jobs never sent")

    def scratch(self) -> Path:
        """This process's folder for video files: removed at close, swept by the next bot
        after a crash (bot/scratch.py). Adapters fetch their copies of videos into it."""
        return self.poster.scratch.path()

    async def close(self) -> None:
        """Stop tracking (rows stay; the next start resumes them)."""
        self._trackers.stop_taking()
        await self._leases.stop()
        await self._trackers.close()
        await self._deliveries.close()
        await self._leases.release()
        await self.poster.aclose()

    async def fetch_posted(self, url: str, dest: Path, *, max_bytes: int) -> None:
        """A video already posted (to post it again: shared, spoilered), streamed to
        `dest`; raises bot.downloads.DownloadError."""
        await self.poster.fetch(url, dest, max_bytes=max_bytes)

    async def purge_expired(self) -> int:
        days = self.settings.history_retention_days
        if days is None:
            return 0
        now, kept_for = self.clock(), days * DAY
        if kept_for >= now:  # before 1970: nothing is that old (and a float may not hold it)
            return 0
        return await self.store.purge_finished_before(now - kept_for)

    # -- what the cogs may ask ---------------------------------------------

    async def get(self, job_id: int) -> Job | None:
        return await self.store.get(job_id)

    async def get_shown(self, job_id: int) -> Job | None:
        """The job unless its author cleared it from their history."""
        return await self.store.get_shown(job_id)

    async def user_settings(self, user_id: int) -> UserSettings:
        """What the user chose for themselves (private by default or not)."""
        return await self.store.user_settings(user_id)

    async def change_user_settings(self, user_id: int, *, private: bool) -> UserSettings:
        return await self.store.change_user_settings(user_id, private=private, at=self.clock())

    async def by_status_message(self, message_id: int) -> Job | None:
        return await self.store.find_by_status_message(message_id)

    async def expected_duration(self, kind: str) -> float:
        return await self.past.expected_duration(kind)

    async def expected_render(self, kind: str) -> float:
        return await self.past.expected_render(kind)
