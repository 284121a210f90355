"""Which process tracks which job: resume at start, keep leases, take over the dead's.

SQLite (one process): every active job is resumed at start, and a sweep tracks again
any live job that lost its tracker. PostgreSQL (several processes): each holds a lease
on the jobs it works on (`Trackers.held`) and renews only those, so a job whose tracker
let go lapses and is taken up (by any process, this one too); it takes over the jobs of
a process that stopped renewing, and gives its own back when it stops. It renews too
its claims on the videos it is posting (`Deliveries`), whoever holds their leases.
"""

from __future__ import annotations

import asyncio
import logging
import math

from bot.config import Settings
from bot.domain import Job, JobStatus
from bot.jobs.contract import RESTARTED_WHILE_SENDING
from bot.jobs.tracking import Trackers
from bot.jobs.transitions import Transitions
from bot.runcomfy import RunComfyClient

log = logging.getLogger(__name__)


class Leases:
    """This process's claim on its jobs, and the task that keeps it (PostgreSQL)."""

    def __init__(
        self,
        *,
        transitions: Transitions,
        settings: Settings,
        runcomfy: RunComfyClient,
        trackers: Trackers,
    ) -> None:
        self.transitions = transitions
        self.settings = settings
        self.runcomfy = runcomfy
        self.trackers = trackers
        self._keeper: asyncio.Task[None] | None = None  # PostgreSQL: the leases
        self._sweeper: asyncio.Task[None] | None = None  # SQLite: jobs without a tracker

    async def resume(self) -> int:
        """Pick unfinished jobs up again after a start; returns how many."""
        store = self.transitions.store
        if store.owner is None:  # a store opened without a process id (some tests)
            jobs = await store.active_jobs()
        else:
            now = self.transitions.clock()
            jobs = await store.claim(now=now, until=now + store.lease_hold, force=not store.shared)
        resumed = await self._adopt(jobs)
        if not store.shared:
            # One process: an Extend claimed before this start and never given its
            # extension's row was cut by a crash (PostgreSQL: taken over once stale).
            released = await store.release_cut_extends(before=self.transitions.clock())
            if released:
                log.info("Released %d Extend claims a stop cut short", released)
        if store.shared and store.owner is not None and self._keeper is None:
            self._keeper = asyncio.create_task(self._keep(), name="leases")
        if not store.shared and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="sweep")
        return resumed

    async def stop(self) -> None:
        """Stop renewing, taking over and sweeping (a stop has begun)."""
        tasks = [task for task in (self._keeper, self._sweeper) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def release(self) -> None:
        """Give our jobs back: another process picks them up at its next scan."""
        if self._keeper is None:
            return
        try:
            released = await self.transitions.store.release()
            # The posts a stop cut: the next process to take the job posts it at once.
            cut = await self.transitions.store.release_deliveries()
            log.info("Released %d jobs (%d being posted) to the other processes", released, cut)
        except Exception:
            log.exception("Could not release leases; they expire within LEASE_SECONDS")

    async def _adopt(self, jobs: list[Job]) -> int:
        """Track claimed jobs; those caught mid-submit are lost (never resubmitted).

        Their first polls are spread over the request budget (the nearest to done
        first) rather than queued at once, so a restart with many live jobs does
        not hold up the polls and results that fall due meanwhile.
        """
        resumable: list[Job] = []
        for job in jobs:
            if job.request_id is None:
                # Crashed between writing the row and learning the request id:
                # it may or may not exist at RunComfy; never resubmit.
                await self.transitions.end(job, JobStatus.LOST, error=RESTARTED_WHILE_SENDING)
                continue
            resumable.append(job)
        resumable.sort(key=_resume_order)
        budget = self.runcomfy.budget
        burst = budget.capacity if budget is not None else 0.0
        for index, job in enumerate(resumable):
            spread = max(0.0, index - burst / 2) / budget.rate if budget is not None else 0.0
            self.trackers.track(job, resumed_after=spread)
        if resumable:
            log.info("Resumed %d jobs", len(resumable))
        return len(resumable)

    async def _keep(self) -> None:
        """Renew our leases every third of LEASE_SECONDS; take over another process's
        jobs the moment its lease lapses (it stopped renewing), not at our next round,
        which would leave a dead process's jobs waiting up to a round longer.
        """
        store, clock = self.transitions.store, self.transitions.clock
        every = self.settings.lease_seconds / 3
        renew_at = take_at = clock() + every
        while True:
            # Fixed rounds: a slow round must not push every later renewal back.
            await asyncio.sleep(min(every, max(0.0, min(renew_at, take_at) - clock())))
            try:
                now = clock()
                if now >= renew_at:
                    renew_at = max(renew_at + every, now + every / 2)
                    # Only the jobs worked on: one whose tracker let go lapses, to be taken up.
                    held = self.trackers.held()
                    ours = await store.renew_jobs(held, until=now + store.lease_hold)
                    posting = self.trackers.deliveries.posting_ids()
                    if posting:  # our claims, even on jobs whose lease was taken from us
                        await store.renew_deliveries(posting, now=now)
                    await self._drop_taken(ours)
                if clock() >= take_at:
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
        store, clock = self.transitions.store, self.transitions.clock
        now = clock()
        taken = await store.claim(now=now, until=now + store.lease_hold, own=False)
        if taken:
            log.warning(
                "Took over %d jobs whose lease lapsed (a process or tracker stopped)", len(taken)
            )
            await self._adopt(taken)
        lapse = await store.next_lapse()
        # Just after it (the claim compares strictly), and never a busy loop on a row
        # the claim skipped (locked by another process's claim at that moment).
        soonest = clock() + min_wait
        return math.inf if lapse is None else max(lapse + 0.01, soonest)

    async def _sweep(self) -> None:
        """SQLite's one process: every third of LEASE_SECONDS, track again the live jobs
        that have no tracker (one let go after its retries, or was never started)."""
        every = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self._adopt_untracked()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Sweep for jobs without a tracker failed; next round")

    async def _adopt_untracked(self) -> None:
        store = self.transitions.store
        held = self.trackers.held()
        orphans = [job.id for job in await store.active_jobs() if job.id not in held]
        found: list[Job] = []
        for job_id in orphans:
            assert job_id is not None
            # Read again: its tracker may have ended it meanwhile, or one may have begun.
            job = await store.get(job_id)
            if job is not None and not job.status.is_final and job_id not in self.trackers.held():
                found.append(job)
        if found:
            log.warning("Adopting %d live jobs that had no tracker", len(found))
            await self._adopt(found)

    async def _drop_taken(self, ours: set[int]) -> None:
        """Stop tracking jobs another process took over (we were too slow to renew)."""
        store = self.transitions.store
        for job_id in [i for i in self.trackers.job_ids() if i not in ours]:
            job = await store.get(job_id)
            owner, _ = await store.lease_of(job_id)
            if job is not None and not job.status.is_final and owner != store.owner:
                log.warning("Job %d: taken over by %s; no longer tracked here", job_id, owner)
                self.trackers.stop(job_id)


def _resume_order(job: Job) -> tuple[int, int, float]:
    """Completed first, then rendering, then the queue by position: nearest to done first."""
    rank = {JobStatus.COMPLETED: 0, JobStatus.IN_PROGRESS: 1}.get(job.status, 2)
    return (rank, job.queue_position or 0, job.created_at)
