"""What every part of the store works with: the database, this process's lease, helpers.

`JobStore` is composed of one mixin per concern (jobs, leases, guilds, usage,
maintenance); each derives from `StoreBase`, so it is written and type-checked
against this small contract rather than against the whole class.
"""

from __future__ import annotations

from typing import Any

from bot.domain import GuildSettings, Job
from bot.store.database import Database
from bot.store.rows import Params, from_row, to_columns


class StoreBase:
    db: Database
    # This process's id and lease length: rows it creates are leased to it.
    owner: str | None
    lease_hold: float
    # Servers' settings once read, when every change goes through this store (SQLite).
    _guilds: dict[int, GuildSettings]

    @property
    def shared(self) -> bool:
        """Several processes may use the database: leases and cross-process locks count."""
        return self.db.dialect.shared

    async def _one(self, sql: str, *args: Any) -> Job | None:
        row = await self.db.fetchrow(sql, *args)
        return None if row is None else from_row(row)

    async def _many(self, sql: str, *args: Any) -> list[Job]:
        return [from_row(row) for row in await self.db.fetch(sql, *args)]

    async def _count(self, sql: str, *args: Any) -> int:
        return int(await self.db.fetchval(sql, *args) or 0)

    def _insert_parts(self, job: Job, p: Params) -> tuple[str, str]:
        """The job's column names and their `$n` marks, its values added to `p`."""
        columns = to_columns(job)
        if self.owner is not None:
            # Leased from the first moment: no other process may take a row being submitted.
            columns["owner"] = self.owner
            columns["lease_until"] = job.created_at + self.lease_hold
        return ", ".join(columns), p.many(columns.values())
