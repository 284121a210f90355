"""Every SQL statement of the bot, on SQLite (embedded, the default) or PostgreSQL.

`job_store` holds `JobStore`, one class with all the SQL in the dialect both engines
share; `postgres` swaps its connection for an asyncpg pool; `schema` numbers the
migrations and keeps the fragments their indexes repeat; `rows` maps jobs to columns;
`sqlite` opens a file (WAL, pragmas, a clear reason when it cannot).
"""

from bot.store.job_store import (
    JobStore,
    QuotaLimits,
    QuotaUsage,
    StoreUnavailable,
    lease_hold,
    open_store,
    sqlite_path,
)
from bot.store.rows import UPDATABLE
from bot.store.schema import COPIED_TABLES, MIGRATIONS

__all__ = [
    "COPIED_TABLES",
    "MIGRATIONS",
    "UPDATABLE",
    "JobStore",
    "QuotaLimits",
    "QuotaUsage",
    "StoreUnavailable",
    "lease_hold",
    "open_store",
    "sqlite_path",
]
