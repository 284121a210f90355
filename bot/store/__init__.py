"""Every SQL statement of the bot, on SQLite (embedded, the default) or PostgreSQL.

`database` is the small interface both backends implement (`sqlite`, `postgres`);
`migrations/` holds each dialect's numbered SQL files; `job_store` composes the
statements (`jobs`, `usage`, `leases`, `guilds`, `maintenance`) into `JobStore` and
opens it; `schema` keeps the fragments the partial indexes repeat; `rows` maps jobs
to columns. A new backend is a class implementing `Database`, a folder of migrations
numbered as the others, and its URL scheme in `job_store.connect` and in
`bot.config.DATABASE_URL_SCHEMES`.
"""

from bot.store.database import Database, NewerDatabase, StoreUnavailable
from bot.store.job_store import (
    JobStore,
    is_postgres_url,
    open_store,
    postgres_url,
    sqlite_path,
)
from bot.store.leases import lease_hold
from bot.store.migrations import LATEST_MIGRATION
from bot.store.one_process import (
    DatabaseInUse,
    ProcessClash,
    only_process_named,
    only_process_on,
)
from bot.store.rows import UPDATABLE
from bot.store.schema import COPIED_TABLES
from bot.store.usage import QuotaLimits, QuotaUsage

__all__ = [
    "COPIED_TABLES",
    "LATEST_MIGRATION",
    "UPDATABLE",
    "Database",
    "DatabaseInUse",
    "JobStore",
    "NewerDatabase",
    "ProcessClash",
    "QuotaLimits",
    "QuotaUsage",
    "StoreUnavailable",
    "is_postgres_url",
    "lease_hold",
    "only_process_named",
    "only_process_on",
    "open_store",
    "postgres_url",
    "sqlite_path",
]
