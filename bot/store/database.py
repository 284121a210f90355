"""The database interface both backends implement (SQLite in `sqlite`, PostgreSQL in `postgres`).

SQL is written once, with PostgreSQL's `$1, $2` placeholders: SQLite reads them as
named parameters, which its backend binds from a mapping (`{"1": v1, "2": v2}`).
Each statement runs on its own in autocommit; `transaction()` groups the few writes
that need several statements. What truly differs per dialect is here too: the row
locks a claim takes, listing tables, EXPLAIN, copying rows in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

# Any numbers: one lock id per thing that runs one process at a time (PostgreSQL).
MIGRATION_LOCK = 0x616E696D  # migrating this database
ADMISSION_LOCK = 0x61646D74  # a quota check and the insert it allows


@dataclass(frozen=True)
class Dialect:
    name: Literal["sqlite", "postgres"]
    # Several processes may use the database at once (else: one process per file).
    shared: bool
    # Appended to a SELECT in a transaction that will change its rows: others wait.
    for_update: str
    # Appended to the claim's row selection: two claims at once skip each other's rows.
    skip_locked: str


SQLITE = Dialect("sqlite", shared=False, for_update="", skip_locked="")
POSTGRES = Dialect(
    "postgres", shared=True, for_update=" FOR UPDATE", skip_locked=" FOR UPDATE SKIP LOCKED"
)


class Row(Protocol):
    """A result row by position or column name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...

    def keys(self) -> Iterable[str]: ...


class Database(Protocol):
    dialect: Dialect
    # Statements sent since the database was opened (the benchmarks' queries per job).
    statements: int

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; how many rows it changed."""

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row, in one trip to the database."""

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row (statements that have at most one)."""

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row; None without rows."""

    def transaction(self, *, lock: int | None = None) -> AbstractAsyncContextManager[None]:
        """The block's statements (this task's) as one transaction, committed at its end.

        PostgreSQL pins one pool connection for the block and, given `lock`, holds that
        advisory lock until the commit; SQLite takes the file's write lock (BEGIN
        IMMEDIATE), which `lock` adds nothing to, and keeps its connection's other
        statements out until the commit.
        """

    async def schema_version(self) -> int:
        """The last migration applied (0: none)."""

    async def set_schema_version(self, number: int) -> None:
        """Record migration `number` as applied; inside the migration's transaction."""

    async def tables(self) -> list[str]:
        """The schema's tables, sorted (bookkeeping tables of the backend left out)."""

    async def explain(self, sql: str, *args: Any) -> list[str]:
        """The query plan of `sql`, one line per step."""

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Insert rows as they are, ids included; new ids then follow the largest."""

    async def close(self) -> None: ...


class StoreUnavailable(Exception):
    """The database cannot be used; `reason` says why in words an operator acts on.

    `setting` names the variable to fix; `path` is the SQLite file, if that is what
    failed. Never carries a URL: it may hold a password.
    """

    def __init__(self, setting: str, reason: str, *, path: Path | None = None) -> None:
        super().__init__(f"{path}: {reason}" if path is not None else f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason
        self.path = path


class NewerDatabase(StoreUnavailable):
    """The database was migrated by a newer bot: starting would misread its rows."""

    def __init__(self, version: int, known: int, *, setting: str) -> None:
        super().__init__(
            setting,
            f"the database is at version {version} and this bot knows up to {known}: "
            "run the newer bot, or restore a backup made by this one",
        )
