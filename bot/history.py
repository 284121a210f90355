"""A user's own jobs, page by page. Discord-free: the history cog renders it.

Privacy is enforced here, not in the cog: every query is by the caller's id,
so nobody can read another user's prompts, moderators included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from bot.domain import ACTIVE_STATUSES, Job, JobStatus
from bot.store import JobStore

PAGE_SIZE = 10


class StatusFilter(StrEnum):
    ALL = "all"
    DELIVERED = "delivered"
    IN_PROGRESS = "in progress"
    FAILED = "failed"
    CANCELLED = "cancelled"


FILTER_STATUSES: dict[StatusFilter, frozenset[JobStatus] | None] = {
    StatusFilter.ALL: None,
    StatusFilter.DELIVERED: frozenset({JobStatus.DELIVERED}),
    StatusFilter.IN_PROGRESS: ACTIVE_STATUSES,
    # Everything that ended without a video the user did not ask to stop.
    StatusFilter.FAILED: frozenset({JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.LOST}),
    StatusFilter.CANCELLED: frozenset({JobStatus.CANCELLED}),
}


@dataclass(frozen=True)
class HistoryPage:
    jobs: list[Job]
    page: int  # 0-based, always within range
    pages: int  # at least 1, even when empty
    total: int
    status: StatusFilter

    @property
    def is_first(self) -> bool:
        return self.page == 0

    @property
    def is_last(self) -> bool:
        return self.page >= self.pages - 1


@dataclass(frozen=True)
class Timings:
    """Seconds spent queued, rendering, and in all (None where not known)."""

    queued: float | None
    rendering: float | None
    total: float | None


def timings(job: Job) -> Timings:
    queued = rendering = total = None
    if job.submitted_at and job.started_at:
        queued = job.started_at - job.submitted_at
    if job.started_at and job.finished_at:
        rendering = job.finished_at - job.started_at
    if job.finished_at:
        total = job.finished_at - (job.submitted_at or job.created_at)
    return Timings(queued, rendering, total)


class HistoryService:
    def __init__(self, store: JobStore, *, page_size: int = PAGE_SIZE) -> None:
        self.store = store
        self.page_size = page_size

    async def page(
        self, user_id: int, *, status: StatusFilter = StatusFilter.ALL, page: int = 0
    ) -> HistoryPage:
        """One page of the user's jobs, newest first; out-of-range pages are clamped."""
        statuses = FILTER_STATUSES[status]
        total = await self.store.count_for_user(user_id, statuses=statuses)
        pages = max(1, -(-total // self.page_size))
        page = min(max(page, 0), pages - 1)
        jobs = await self.store.list_for_user(
            user_id, statuses=statuses, limit=self.page_size, offset=page * self.page_size
        )
        return HistoryPage(jobs=jobs, page=page, pages=pages, total=total, status=status)

    async def job(self, user_id: int, job_id: int) -> Job | None:
        """The job if it is the user's and not cleared; else as absent as a missing one."""
        job = await self.store.get_shown(job_id)
        return job if job is not None and job.user_id == user_id else None

    async def clearable(self, user_id: int) -> int:
        """How many finished jobs `clear` would remove from the user's history."""
        return await self.store.count_clearable(user_id)

    async def clear(self, user_id: int) -> int:
        """Remove the user's finished jobs from their history; returns how many.

        A privacy action, not a reset: jobs in progress stay (and are delivered),
        and the usage record quotas count is kept, so the quota is unchanged.
        """
        return await self.store.clear_for_user(user_id, now=time.time())
