"""The PostgreSQL backend: an asyncpg pool, for several bot processes on one database.

Each statement runs on its own in autocommit on any pool connection; a transaction
pins one connection for its block (a context variable routes the task's statements
to it), holding an advisory lock when asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from typing import Any

import asyncpg

from bot.store.database import POSTGRES, Row, StoreUnavailable

log = logging.getLogger(__name__)

# Read from the catalog as a table, not by to_regclass: right after waiting for the
# migration lock, to_regclass may still miss the table the previous holder created.
_HAS_VERSION_TABLE = (
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables "
    "WHERE schemaname = current_schema() AND tablename = 'schema_version')"
)

# What a failed connect raises: the socket's errors, the server's refusals, a timeout,
# a URL asyncpg cannot read (ValueError).
CONNECT_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    ValueError,
)


class PostgresDatabase:
    """`Database` over an asyncpg pool. Open with `await PostgresDatabase.open(url)`."""

    dialect = POSTGRES

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.statements = 0
        # The connection of a transaction this task is in; else statements go to the pool.
        self._pinned: ContextVar[asyncpg.Connection | None] = ContextVar("pinned", default=None)

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresDatabase:
        """Connect; StoreUnavailable (naming DATABASE_URL, never quoting it) if we cannot."""
        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size)
        except CONNECT_ERRORS as exc:
            raise StoreUnavailable("DATABASE_URL", why_unreachable(exc)) from None
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    @property
    def _target(self) -> asyncpg.Pool | asyncpg.Connection:
        return self._pinned.get() or self.pool

    # -- statements -----------------------------------------------------------------

    async def execute(self, sql: str, *args: Any) -> int:
        self.statements += 1
        status = await self._target.execute(sql, *args)
        # "UPDATE 3", "DELETE 0", "INSERT 0 1": the count is the last word.
        last = str(status).rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else -1

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        self.statements += 1
        return list(await self._target.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        self.statements += 1
        row: Row | None = await self._target.fetchrow(sql, *args)
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements += 1
        return await self._target.fetchval(sql, *args)

    @contextlib.asynccontextmanager
    async def transaction(self, *, lock: int | None = None) -> AsyncIterator[None]:
        if self._pinned.get() is not None:
            raise RuntimeError("transactions do not nest")
        async with self.pool.acquire() as conn, conn.transaction():
            if lock is not None:
                # Under READ COMMITTED each statement after it sees what the previous
                # holder committed before letting go.
                self.statements += 1
                await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
            token = self._pinned.set(conn)
            try:
                yield
            finally:
                self._pinned.reset(token)

    # -- the schema -----------------------------------------------------------------

    async def schema_version(self) -> int:
        if not await self.fetchval(_HAS_VERSION_TABLE):
            return 0
        return int(await self.fetchval("SELECT MAX(version) FROM schema_version") or 0)

    async def set_schema_version(self, number: int) -> None:
        # Under the migration lock: two processes starting together create it once.
        await self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        await self.execute("DELETE FROM schema_version")
        await self.execute("INSERT INTO schema_version (version) VALUES ($1)", number)

    async def tables(self) -> list[str]:
        rows = await self.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
        )
        return sorted(str(row[0]) for row in rows)

    async def explain(self, sql: str, *args: Any) -> list[str]:
        return [str(row[0]) for row in await self.fetch(f"EXPLAIN {sql}", *args)]

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        # Binary COPY: fast, and every value checked against its column's type.
        self.statements += 1
        await self._target.copy_records_to_table(table, records=rows, columns=list(columns))
        if "id" in columns:
            # Rows came with their ids: the next new row gets the largest id + 1.
            await self.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )


def why_unreachable(exc: BaseException) -> str:
    """In an operator's words, from the error's kind only: its text may quote the URL."""
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return "PostgreSQL refused the user or password"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "PostgreSQL has no such database"
    if isinstance(exc, asyncpg.CannotConnectNowError):
        return "PostgreSQL does not accept connections yet (starting up, recovering or stopping)"
    if isinstance(exc, asyncpg.PostgresError):
        return f"PostgreSQL refused the connection ({type(exc).__name__})"
    if isinstance(exc, asyncio.TimeoutError):
        return "PostgreSQL did not answer in time"
    if isinstance(exc, ValueError) and not isinstance(exc, OSError):
        return "it is not a PostgreSQL URL asyncpg can read"
    return f"PostgreSQL cannot be reached ({type(exc).__name__})"


async def peek_version(url: str) -> int:
    """The migration the database is at, read-only (0: empty), for `python -m bot check`."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        if not await conn.fetchval(_HAS_VERSION_TABLE):
            return 0
        return int(await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0)
    finally:
        await conn.close()
