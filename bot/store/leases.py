"""Leases: which process tracks which active job, for several processes on one database;
and delivery claims: which one posts a completed job's video."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from bot.domain import Job, JobStatus
from bot.store.base import StoreBase
from bot.store.rows import Params, from_row
from bot.store.schema import ACTIVE_SQL

RENEW_BATCH = 500  # ids per renewal statement, well inside both backends' parameter limits
# A delivery claim runs this many lease holds (4 × LEASE_SECONDS), renewed while the video
# is posted: a claimant stalled well past its lease still posts alone, and the video of
# one that died mid-post is posted by another process within it.
DELIVERY_HOLD_LEASES = 6


def lease_hold(lease_seconds: float) -> float:
    """How far ahead a lease is set: renewed every third of LEASE_SECONDS, it survives one
    late renewal, lapses at most two thirds of the period after its owner died, and is
    taken over as it lapses: recovery within 2/3 × LEASE_SECONDS.
    """
    return lease_seconds * 2 / 3


@dataclass(frozen=True)
class DeliveryClaim:
    """A job's delivery claim as stored: who posts its video, until when, and who tracks it."""

    status: JobStatus
    by: str | None  # the claimant's PROCESS_ID; None: unclaimed
    until: float | None
    owner: str | None  # the job's lease holder


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
        return await self._extend_ours(job_ids, holder="owner", expiry="lease_until", until=until)

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

    # -- delivery claims -------------------------------------------------------

    @property
    def delivery_hold(self) -> float:
        """How far ahead a delivery claim is set (and renewed)."""
        return self.lease_hold * DELIVERY_HOLD_LEASES

    async def claim_delivery(self, job_id: int, *, now: float, force: bool = False) -> Job | None:
        """Compare-and-set: this owner posts the completed job's video; None if it may not.

        Free to claim: unclaimed, claimed by this owner (a retry, a restart under the same
        PROCESS_ID) or a claim that lapsed (its process died). The claimant takes the job's
        lease too: the process posting is the one tracking. `force` claims whoever holds
        it (SQLite's single process). None: another process posts it, or the job is not
        `completed` any more (delivered, or ended). One UPDATE decides.
        """
        p = Params(self.owner, now + self.delivery_hold)
        sets = "delivering_by = $1, delivering_until = $2"
        if self.owner is not None:
            sets += f", owner = $1, lease_until = {p(now + self.lease_hold)}"
        free = ""
        if not force:
            free = (
                f" AND (delivering_by IS NULL OR delivering_by = $1 OR delivering_until < {p(now)})"
            )
        return await self._one(
            f"UPDATE jobs SET {sets} WHERE id = {p(job_id)} AND status = 'completed'{free} "
            "RETURNING *",
            *p.values,
        )

    async def renew_deliveries(self, job_ids: Collection[int], *, now: float) -> set[int]:
        """Extend this owner's delivery claims on `job_ids` (videos being posted); those
        still ours. Whoever holds the jobs' leases: a claimant whose lease was taken over
        while it was stalled still posts alone."""
        return await self._extend_ours(
            job_ids,
            holder="delivering_by",
            expiry="delivering_until",
            until=now + self.delivery_hold,
        )

    async def _extend_ours(
        self, job_ids: Collection[int], *, holder: str, expiry: str, until: float
    ) -> set[int]:
        """Set `expiry` to `until` on the active jobs of `job_ids` whose `holder` column is
        this owner, in batches; the ids it was set on."""
        ids = sorted(set(job_ids))
        ours: set[int] = set()
        for start in range(0, len(ids), RENEW_BATCH):
            p = Params(until, self.owner)
            marks = p.many(ids[start : start + RENEW_BATCH])
            rows = await self.db.fetch(
                f"UPDATE jobs SET {expiry} = $1 WHERE {holder} = $2 AND {ACTIVE_SQL} "
                f"AND id IN ({marks}) RETURNING id",
                *p.values,
            )
            ours.update(int(row[0]) for row in rows)
        return ours

    async def delivery_claim(self, job_id: int) -> DeliveryClaim | None:
        """The job's delivery claim and lease holder; None if there is no such job."""
        row: Any = await self.db.fetchrow(
            "SELECT status, delivering_by, delivering_until, owner FROM jobs WHERE id = $1",
            job_id,
        )
        if row is None:
            return None
        return DeliveryClaim(JobStatus(row[0]), row[1], row[2], row[3])

    async def release_deliveries(self) -> int:
        """Give up this owner's claims on videos not delivered (a clean stop cut their
        posts): the process that takes the job next posts it at once."""
        return await self.db.execute(
            "UPDATE jobs SET delivering_by = NULL, delivering_until = NULL "
            f"WHERE {ACTIVE_SQL} AND delivering_by = $1",
            self.owner,
        )
