"""Leases: which process tracks which active job, for several processes on one database."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bot.domain import Job
from bot.store.base import StoreBase
from bot.store.rows import Params, from_row
from bot.store.schema import ACTIVE_SQL

RENEW_BATCH = 500  # ids per renewal statement, well inside both backends' parameter limits


def lease_hold(lease_seconds: float) -> float:
    """How far ahead a lease is set: renewed every third of LEASE_SECONDS, it survives one
    late renewal, lapses at most two thirds of the period after its owner died, and is
    taken over as it lapses: recovery within 2/3 × LEASE_SECONDS.
    """
    return lease_seconds * 2 / 3


class LeasesMixin(StoreBase):
    async def claim(
        self, *, now: float, until: float, force: bool = False, own: bool = True
    ) -> list[Job]:
        """Lease to this store's owner the active jobs nobody else holds; oldest first.

        Held by nobody: no owner or an expired lease; with `own`, also our own id (at
        start: a restart with a fixed PROCESS_ID; never in the running scan, which
        must not take back a row this process is submitting). `force` takes every
        active job: SQLite's single process. One UPDATE decides, so two processes
        claiming at once never share a job.
        """
        assert self.owner is not None, "claim needs a store opened with an owner"
        p = Params(self.owner, until)
        held = ""
        if not force:
            free = f"owner IS NULL OR lease_until < {p(now)}"
            if own:
                free += " OR owner = $1"
            held = f" AND ({free})"
        rows = await self.db.fetch(
            "UPDATE jobs SET owner = $1, lease_until = $2 WHERE id IN ("
            f"SELECT id FROM jobs WHERE {ACTIVE_SQL}{held} ORDER BY created_at, id"
            f"{self.db.dialect.skip_locked}) RETURNING *",
            *p.values,
        )
        return sorted((from_row(row) for row in rows), key=lambda j: (j.created_at, j.id or 0))

    async def renew(self, *, until: float) -> set[int]:
        """Extend this owner's leases; the ids still ours (others were taken over)."""
        rows = await self.db.fetch(
            f"UPDATE jobs SET lease_until = $1 WHERE owner = $2 AND {ACTIVE_SQL} RETURNING id",
            until,
            self.owner,
        )
        return {int(row[0]) for row in rows}

    async def renew_jobs(self, job_ids: Collection[int], *, until: float) -> set[int]:
        """Extend this owner's leases on `job_ids` alone; those still ours (others were
        taken over or ended). A row of ours left out lapses, and any process may take it."""
        ids = sorted(set(job_ids))
        ours: set[int] = set()
        for start in range(0, len(ids), RENEW_BATCH):
            p = Params(until, self.owner)
            marks = p.many(ids[start : start + RENEW_BATCH])
            rows = await self.db.fetch(
                f"UPDATE jobs SET lease_until = $1 WHERE owner = $2 AND {ACTIVE_SQL} "
                f"AND id IN ({marks}) RETURNING id",
                *p.values,
            )
            ours.update(int(row[0]) for row in rows)
        return ours

    async def next_lapse(self) -> float | None:
        """When the first active job not ours becomes free to take: its lease's end, or
        0.0 for a released one; None when every active job is ours."""
        value = await self.db.fetchval(
            "SELECT MIN(CASE WHEN owner IS NULL THEN 0.0 ELSE lease_until END) FROM jobs"
            f" WHERE {ACTIVE_SQL} AND (owner IS NULL OR owner <> $1)",
            self.owner,
        )
        return None if value is None else float(value)

    async def release(self) -> int:
        """Give this owner's active jobs back (a clean stop): another process takes them now."""
        return await self.db.execute(
            f"UPDATE jobs SET owner = NULL, lease_until = NULL WHERE owner = $1 AND {ACTIVE_SQL}",
            self.owner,
        )

    async def lease_of(self, job_id: int) -> tuple[str | None, float | None]:
        """Who holds the job and until when (tests and operators)."""
        row: Any = await self.db.fetchrow(
            "SELECT owner, lease_until FROM jobs WHERE id = $1", job_id
        )
        return (None, None) if row is None else (row[0], row[1])
