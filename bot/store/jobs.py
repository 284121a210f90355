"""Jobs: writing a row, changing it (compare-and-set), reading it back, past jobs' times."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from bot.domain import ACTIVE_STATUSES, Job, JobStatus
from bot.store.base import StoreBase
from bot.store.rows import Params, set_clause, user_filter, validated
from bot.store.schema import ACTIVE_SQL, FINISHED_SQL, SHOWN_SQL

# No job extends this row's job since its Extend claim (a claim whose start was cut
# left none; earlier extensions, cancelled unbilled, gave their claims back).
NO_EXTENSION_SQL = (
    "NOT EXISTS (SELECT 1 FROM jobs AS e "
    "WHERE e.extends_job_id = jobs.id AND e.created_at >= jobs.extended_at)"
)


class JobsMixin(StoreBase):
    # -- writes ----------------------------------------------------------------

    async def create(self, job: Job) -> Job:
        p = Params()
        names, marks = self._insert_parts(job, p)
        job_id = await self.db.fetchval(
            f"INSERT INTO jobs ({names}) VALUES ({marks}) RETURNING id", *p.values
        )
        return job.model_copy(update={"id": int(job_id)})

    async def update(self, job_id: int, **fields: object) -> Job:
        """Set the given Job fields; raises ValueError for unknown fields or bad values."""
        if not fields:
            job = await self.get(job_id)
        else:
            p = Params()
            assignments = set_clause(fields, p)
            job = await self._one(
                f"UPDATE jobs SET {assignments} WHERE id = {p(job_id)} RETURNING *", *p.values
            )
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        return job

    async def transition(
        self,
        job_id: int,
        *,
        from_statuses: Iterable[JobStatus],
        to: JobStatus,
        **fields: object,
    ) -> Job | None:
        """Compare-and-set: change the job only if its status is one of `from_statuses`.

        One UPDATE decides, so of two racing transitions (a cancel and a completion,
        or two deliveries after a restart) exactly one wins; the loser gets None.
        """
        if validated("status", fields.pop("status", to)) is not validated("status", to):
            raise ValueError("`status` among the fields differs from `to`")
        allowed = [str(validated("status", status)) for status in from_statuses]
        if not allowed:
            return None
        p = Params()
        assignments = set_clause({**fields, "status": to}, p)
        return await self._one(
            f"UPDATE jobs SET {assignments} WHERE id = {p(job_id)} "
            f"AND status IN ({p.many(allowed)}) RETURNING *",
            *p.values,
        )

    async def claim_extend(self, job_id: int, at: float, *, stale_before: float) -> bool:
        """Mark a delivered job as being extended; False if it already is (or is not delivered).

        One UPDATE decides, so of two presses racing exactly one wins. A claim made
        before `stale_before` whose extension never got a row was cut (a crash): it is
        taken over.
        """
        changed = await self.db.execute(
            "UPDATE jobs SET extended_at = $1 "
            "WHERE id = $2 AND status = 'delivered' "
            f"AND (extended_at IS NULL OR (extended_at < $3 AND {NO_EXTENSION_SQL}))",
            at,
            job_id,
            stale_before,
        )
        return changed == 1

    async def release_extend(self, job_id: int) -> None:
        """The extension did not start a job: let the button be pressed again."""
        await self.db.execute("UPDATE jobs SET extended_at = NULL WHERE id = $1", job_id)

    async def release_cut_extends(self, before: float) -> int:
        """Extend claims made before `before` whose extension never got a row (a crash
        cut its start): released, so the video may be extended; how many."""
        return await self.db.execute(
            "UPDATE jobs SET extended_at = NULL "
            f"WHERE extended_at IS NOT NULL AND extended_at < $1 AND {NO_EXTENSION_SQL}",
            before,
        )

    async def claim_share(self, job_id: int, at: float) -> bool:
        """Mark a delivered private job as posted to its channel; False if it already was.

        One UPDATE decides, so of two presses of Post to channel exactly one wins.
        """
        changed = await self.db.execute(
            "UPDATE jobs SET shared_at = $1 "
            "WHERE id = $2 AND status = 'delivered' AND shared_at IS NULL",
            at,
            job_id,
        )
        return changed == 1

    async def release_share(self, job_id: int) -> None:
        """Posting it failed: Post to channel may be pressed again."""
        await self.db.execute("UPDATE jobs SET shared_at = NULL WHERE id = $1", job_id)

    # -- reads -----------------------------------------------------------------

    async def get(self, job_id: int) -> Job | None:
        return await self._one("SELECT * FROM jobs WHERE id = $1", job_id)

    async def get_shown(self, job_id: int) -> Job | None:
        """The job unless its owner cleared it from their history."""
        return await self._one(f"SELECT * FROM jobs WHERE id = $1 AND {SHOWN_SQL}", job_id)

    async def find_by_status_message(self, message_id: int) -> Job | None:
        return await self._one("SELECT * FROM jobs WHERE status_message_id = $1", message_id)

    async def active_jobs(self) -> list[Job]:
        """Jobs not final, oldest first (a scan of the small partial index only)."""
        return await self._many(f"SELECT * FROM jobs WHERE {ACTIVE_SQL} ORDER BY created_at, id")

    async def list_for_user(
        self,
        user_id: int,
        *,
        statuses: Collection[JobStatus] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Job]:
        """A page of the user's jobs not cleared, newest first. `statuses`: None means any."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        p = Params()
        where = user_filter(user_id, statuses, p)
        return await self._many(
            f"SELECT * FROM jobs WHERE {where} ORDER BY created_at DESC, id DESC "
            f"LIMIT {p(limit)} OFFSET {p(offset)}",
            *p.values,
        )

    async def count_for_user(
        self, user_id: int, *, statuses: Collection[JobStatus] | None = None
    ) -> int:
        p = Params()
        where = user_filter(user_id, statuses, p)
        return await self._count(f"SELECT COUNT(*) FROM jobs WHERE {where}", *p.values)

    async def count_active(self, user_id: int | None = None) -> int:
        if user_id is None:
            return await self._count(f"SELECT COUNT(*) FROM jobs WHERE {ACTIVE_SQL}")
        return await self.count_for_user(user_id, statuses=ACTIVE_STATUSES)

    async def recent_durations(
        self, *, kind: str, from_start: bool = False, limit: int = 50
    ) -> list[float]:
        """Times to finish of the latest finished jobs of one kind, newest first.

        From submit (queue and render: what a user waits) or, `from_start`, from the
        first `in_progress` seen (the render alone: what polling needs). The jobs
        that began last before the oldest of the kind still running: of a burst
        sent together the short renders finish first (the latest finished would say
        renders are short while the long ones still run), and of the jobs begun
        before a moment the last to finish are the long ones. Which jobs began when
        says nothing of how long they took.
        """
        start = "started_at" if from_start else "submitted_at"
        rows = await self.db.fetch(
            f"SELECT finished_at - {start} FROM jobs "
            f"WHERE {FINISHED_SQL} AND kind = $1 AND finished_at > {start} "
            f"AND {start} < COALESCE((SELECT MIN({start}) FROM jobs "
            f"WHERE {ACTIVE_SQL} AND status <> 'completed' AND kind = $1), {start} + 1) "
            f"ORDER BY {start} DESC LIMIT $2",
            kind,
            limit,
        )
        return [float(row[0]) for row in rows]

    async def recent_costs(self, kind: str, *, limit: int, since: float = 0.0) -> list[float]:
        """What RunComfy charged for the latest delivered jobs of a kind sent since `since`
        (the model's price then), newest first."""
        rows = await self.db.fetch(
            "SELECT cost FROM jobs WHERE status = 'delivered' AND cost IS NOT NULL "
            "AND kind = $1 AND COALESCE(submitted_at, created_at) >= $3 "
            "ORDER BY finished_at DESC LIMIT $2",
            kind,
            limit,
            since,
        )
        return [float(row[0]) for row in rows]
