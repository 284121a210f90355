"""Maintenance: /history-clear, the retention purge, and copying tables to another database
(`python -m bot migrate-to-postgres`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.store.base import StoreBase
from bot.store.schema import ACTIVE_SQL, COPIED_TABLES, SCRUBBED_IMAGE, SHOWN_SQL

Table = tuple[list[str], list[tuple[Any, ...]]]  # column names, rows


class MaintenanceMixin(StoreBase):
    async def clear_for_user(self, user_id: int, *, now: float) -> int:
        """Hide the user's final jobs from /history and scrub their private content.

        Prompt, image facts and URLs, the body sent (it holds both), video URL and error
        go; what quotas and spend reports count stays (user, guild, created, status,
        request id, model, options, cost, estimate, timestamps). Active jobs are
        untouched: they are still delivered.
        """
        return await self.db.execute(
            "UPDATE jobs SET cleared_at = $1, prompt = '', image_json = $2, image_url = NULL, "
            "body_json = NULL, video_url = NULL, error = NULL "
            f"WHERE user_id = $3 AND {SHOWN_SQL} AND NOT ({ACTIVE_SQL})",
            now,
            SCRUBBED_IMAGE,
            user_id,
        )

    async def count_clearable(self, user_id: int) -> int:
        """The user's final jobs that /history-clear would hide."""
        return await self._count(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = $1 AND {SHOWN_SQL} AND NOT ({ACTIVE_SQL})",
            user_id,
        )

    async def purge_finished_before(self, before: float) -> int:
        """Delete final jobs whose last event is older than `before`; active ones stay.

        The retention purge deletes (cleared or not). It cannot reset a daily quota:
        a row's last event is never before its creation, so a purged row was created
        before `before`, which is at least a day ago (retention is at least one day).
        """
        return await self.db.execute(
            f"DELETE FROM jobs WHERE NOT ({ACTIVE_SQL}) "
            "AND COALESCE(delivered_at, finished_at, created_at) < $1 AND created_at < $1",
            before,
        )

    # -- copying to another database (migrate-to-postgres) -----------------------

    async def tables(self) -> list[str]:
        """Every table of the schema (a table missing from COPIED_TABLES fails a test)."""
        return await self.db.tables()

    async def is_empty(self) -> bool:
        """No row in any copied table (a copy never mixes two databases)."""
        for table in COPIED_TABLES:  # names from the whitelist only
            if await self.db.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                return False
        return True

    async def export_rows(self, table: str) -> Table:
        """Every row of `table` in key order, with its column names."""
        key = COPIED_TABLES[table]  # the whitelist: no other name reaches the SQL
        found = await self.db.fetch(f"SELECT * FROM {table} ORDER BY {key}")
        columns = list(found[0].keys()) if found else []
        rows = [tuple(row) for row in found]
        if table == "jobs":
            # Leases of the old process mean nothing in the new database: free at once.
            for name in ("owner", "lease_until"):
                if name in columns:
                    at = columns.index(name)
                    rows = [(*row[:at], None, *row[at + 1 :]) for row in rows]
        return columns, rows

    async def import_tables(self, tables: Mapping[str, Table]) -> None:
        """Insert every table's rows as they are, ids included, in one transaction (all or
        nothing); new ids then follow the largest."""
        unknown = set(tables) - set(COPIED_TABLES)
        if unknown:
            raise ValueError(f"not copied tables: {sorted(unknown)}")
        async with self.db.transaction():
            for table, (columns, rows) in tables.items():
                if rows:
                    await self.db.copy_rows(table, columns, rows)
