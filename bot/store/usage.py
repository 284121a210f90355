"""Usage and quotas: what admission counts, the insert it allows, servers' usage reports."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.domain import GuildUsage, Job, ModelSpend, UsageReport, UserSpend
from bot.store.base import StoreBase
from bot.store.database import ADMISSION_LOCK
from bot.store.rows import Params
from bot.store.schema import (
    ACTIVE_1,
    ACTIVE_SQL,
    CANCELLED_1,
    CHARGED_SQL,
    COMMITTED_SUM,
    DELIVERED_1,
    FAILED_1,
    SERVERS_OWN_SQL,
)

# A server's jobs ($1) are those its own install started: a member's user install used
# there (the server never added the bot) answers to the operator's limits alone.
SERVERS = f"guild_id = $1 AND {SERVERS_OWN_SQL}"


@dataclass(frozen=True)
class QuotaUsage:
    user_active: int  # the user's jobs not final
    user_since: int  # the user's jobs created since the window start
    oldest_since: float | None  # created_at of the oldest of those
    all_active: int  # everybody's jobs not final


@dataclass(frozen=True)
class QuotaLimits:
    """What a new job may not reach: `create_within` inserts only below all three."""

    user_concurrent: int  # the user's jobs not final
    user_daily: int  # the user's charged jobs created since `since`
    global_concurrent: int  # everybody's jobs not final
    since: float  # the daily window's start


class UsageMixin(StoreBase):
    @contextlib.asynccontextmanager
    async def admitting(self) -> AsyncIterator[None]:
        """Around a quota check and the insert it allows, so that no other process admits a
        job between them: a transaction holding the admission lock, whose statements then
        see the rows the previous holder committed. SQLite serves one process, whose own
        lock is enough."""
        if not self.shared:
            yield
            return
        async with self.db.transaction(lock=ADMISSION_LOCK):
            yield

    async def create_within(self, job: Job, limits: QuotaLimits) -> Job | None:
        """Insert the job only if the user's and everybody's quotas allow it; None if not.

        One statement, so one trip to the database for a whole admission: the checks
        and the insert see the same rows (a job that ends meanwhile frees its slot
        for the next one). Counts as `quota_usage` does.
        """
        p = Params()
        names, marks = self._insert_parts(job, p)
        user = p(job.user_id)
        job_id = await self.db.fetchval(
            f"INSERT INTO jobs ({names}) SELECT {marks} WHERE "
            f"(SELECT COUNT(*) FROM jobs WHERE user_id = {user} AND {ACTIVE_SQL}) "
            f"< {p(limits.user_concurrent)} AND "
            f"(SELECT COUNT(*) FROM jobs WHERE user_id = {user} "
            f"AND created_at >= {p(limits.since)} AND {CHARGED_SQL}) < {p(limits.user_daily)} "
            f"AND (SELECT COUNT(*) FROM jobs WHERE {ACTIVE_SQL}) < {p(limits.global_concurrent)} "
            "RETURNING id",
            *p.values,
        )
        return None if job_id is None else job.model_copy(update={"id": int(job_id)})

    async def quota_usage(self, user_id: int, since: float) -> QuotaUsage:
        """Everything a quota check needs, in one round trip (it runs before each defer).

        Cleared rows count like any other: a clear cannot give a slot back.
        """
        charged = f"user_id = $1 AND created_at >= $2 AND {CHARGED_SQL}"
        row = await self.db.fetchrow(
            f"SELECT (SELECT COUNT(*) FROM jobs WHERE user_id = $1 AND {ACTIVE_SQL}), "
            f"(SELECT COUNT(*) FROM jobs WHERE {charged}), "
            f"(SELECT MIN(created_at) FROM jobs WHERE {charged}), "
            f"(SELECT COUNT(*) FROM jobs WHERE {ACTIVE_SQL})",
            user_id,
            since,
        )
        assert row is not None
        return QuotaUsage(
            user_active=int(row[0]),
            user_since=int(row[1]),
            oldest_since=None if row[2] is None else float(row[2]),
            all_active=int(row[3]),
        )

    async def guild_usage(self, guild_id: int, user_id: int, since: float) -> GuildUsage:
        """Everything a server's admission check needs (it runs before each defer).

        The member's day counts charged jobs only, as the operator's quota does; the
        server's spend counts each charged job at its cost, else at its estimate.
        """
        member = f"{SERVERS} AND user_id = $2"
        charged = f"{member} AND created_at >= $3 AND {CHARGED_SQL}"
        row = await self.db.fetchrow(
            "SELECT "
            f"(SELECT COUNT(*) FROM jobs WHERE {member} AND {ACTIVE_SQL}), "
            f"(SELECT COUNT(*) FROM jobs WHERE {charged}), "
            f"(SELECT MIN(created_at) FROM jobs WHERE {charged}), "
            f"(SELECT {COMMITTED_SUM} FROM jobs "
            f"WHERE {SERVERS} AND created_at >= $3 AND {CHARGED_SQL})",
            guild_id,
            user_id,
            since,
        )
        assert row is not None
        return GuildUsage(
            user_active=int(row[0]),
            user_since=int(row[1]),
            oldest_since=None if row[2] is None else float(row[2]),
            committed_usd=float(row[3]),
        )

    async def spend_since(self, since: float) -> float:
        """What every charged job since `since` cost, or is estimated to (the operator's cap)."""
        value = await self.db.fetchval(
            f"SELECT {COMMITTED_SUM} FROM jobs WHERE created_at >= $1 AND {CHARGED_SQL}", since
        )
        return float(value or 0)

    async def usage_report(self, guild_id: int, since: float, *, top: int = 5) -> UsageReport:
        """The server's jobs created since `since`: counts by outcome, known spend, top users."""
        row = await self.db.fetchrow(
            "SELECT COUNT(*), "
            f"COALESCE(SUM({DELIVERED_1}), 0), "
            f"COALESCE(SUM({FAILED_1}), 0), "
            f"COALESCE(SUM({CANCELLED_1}), 0), "
            f"COALESCE(SUM({ACTIVE_1}), 0), "
            "COALESCE(SUM(cost), 0) "
            f"FROM jobs WHERE {SERVERS} AND created_at >= $2",
            guild_id,
            since,
        )
        assert row is not None
        rows = await self.db.fetch(
            "SELECT user_id, COUNT(*), COALESCE(SUM(cost), 0) AS spend FROM jobs "
            f"WHERE {SERVERS} AND created_at >= $2 "
            "GROUP BY user_id ORDER BY spend DESC, COUNT(*) DESC, user_id LIMIT $3",
            guild_id,
            since,
            top,
        )
        users = [
            UserSpend(user_id=int(u), jobs=int(n), spend_usd=float(spend)) for u, n, spend in rows
        ]
        per_model = await self.db.fetch(
            "SELECT model_id, COUNT(*), COALESCE(SUM(cost), 0), "
            f"COALESCE(SUM(CASE WHEN cost IS NULL AND {CHARGED_SQL} "
            "THEN COALESCE(estimate_usd, 0) ELSE 0 END), 0) "
            f"FROM jobs WHERE {SERVERS} AND created_at >= $2 "
            "GROUP BY model_id ORDER BY COUNT(*) DESC, model_id",
            guild_id,
            since,
        )
        models = [
            ModelSpend(model_id=str(m), jobs=int(n), spend_usd=float(c), estimated_usd=float(e))
            for m, n, c, e in per_model
        ]
        return UsageReport(
            jobs=int(row[0]),
            delivered=int(row[1]),
            failed=int(row[2]),
            cancelled=int(row[3]),
            active=int(row[4]),
            spend_usd=float(row[5]),
            top_users=users,
            by_model=models,
        )

    async def count_active_by_status(self) -> dict[str, int]:
        """Jobs not final, per status (the metrics gauge); served by the `jobs_active` index."""
        sql = f"SELECT status, COUNT(*) FROM jobs WHERE {ACTIVE_SQL} GROUP BY status"
        return {str(row[0]): int(row[1]) for row in await self.db.fetch(sql)}
