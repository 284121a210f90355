"""The SQLite backend: one file, one process, one aiosqlite connection in WAL mode.

Opening gives a clear reason when the file cannot serve (`StoreUnavailable`). The
connection runs in autocommit mode: every write is one statement, hence atomic on
its own, and coroutines sharing the connection never share a transaction. The few
multi-statement writes take `BEGIN IMMEDIATE`, with the connection to themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.store.database import SQLITE, Row, StoreUnavailable

log = logging.getLogger(__name__)

WAL_SWITCH_ATTEMPTS = 20
T = TypeVar("T")


def bind(args: Sequence[Any]) -> dict[str, Any]:
    """`$1, $2, …` are SQLite named parameters: bound by name, not deprecated as sequences are."""
    return {str(number): value for number, value in enumerate(args, start=1)}


class SqliteDatabase:
    """`Database` over one aiosqlite connection. Open with `await SqliteDatabase.open(path)`."""

    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.statements = 0
        self._closed = False
        # A transaction has the connection alone: statements of other tasks wait for
        # its end, and it waits for the statements already sent.
        self._in_transaction: ContextVar[bool] = ContextVar("in_transaction", default=False)
        self._transactions = asyncio.Lock()
        self._open = asyncio.Event()
        self._open.set()
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    async def open(cls, path: Path) -> SqliteDatabase:
        """Open (creating if needed) in WAL mode; StoreUnavailable if the file cannot serve."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A failed aiosqlite connect leaves its worker thread answering a loop that
            # may be gone (a traceback at exit); a plain probe fails cleanly first.
            await asyncio.to_thread(probe_file, path)
        except (OSError, sqlite3.Error) as exc:
            raise _unusable(path, exc) from None
        # isolation_level=None: autocommit; see the module docstring.
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        try:
            await configure(conn)
        except sqlite3.Error as exc:  # e.g. a read-only file cannot switch to WAL
            await conn.close()
            raise _unusable(path, exc) from None
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._conn.close()

    # -- statements -----------------------------------------------------------------

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._in_turn(self._rowcount, sql, bind(args))

    async def _rowcount(self, sql: str, params: dict[str, Any]) -> int:
        async with self._conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        # execute_fetchall: one trip to the database's thread (a cursor costs three, each
        # waiting a turn of a busy event loop), and a write is complete when it returns.
        return list(await self._in_turn(self._conn.execute_fetchall, sql, bind(args)))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def _in_turn(self, send: Callable[..., Awaitable[T]], *args: Any) -> T:
        """`send(*args)` now, or after the transaction that holds the connection."""
        self.statements += 1
        if self._in_transaction.get():
            return await send(*args)
        while not self._open.is_set():
            await self._open.wait()
        self._running += 1
        self._idle.clear()
        try:
            return await send(*args)
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    @contextlib.asynccontextmanager
    async def transaction(self, *, lock: int | None = None) -> AsyncIterator[None]:
        if self._in_transaction.get():
            raise RuntimeError("transactions do not nest")
        async with self._transactions:
            self._open.clear()
            try:
                await self._idle.wait()
                token = self._in_transaction.set(True)
                try:
                    # IMMEDIATE takes the write lock first: another process's transaction
                    # waits (busy_timeout) instead of failing on the upgrade.
                    await self._conn.execute_fetchall("BEGIN IMMEDIATE")
                    try:
                        yield
                    except BaseException:
                        await self._conn.execute_fetchall("ROLLBACK")
                        raise
                    await self._conn.execute_fetchall("COMMIT")
                finally:
                    self._in_transaction.reset(token)
            finally:
                self._open.set()

    # -- the schema -----------------------------------------------------------------

    async def schema_version(self) -> int:
        return int(await self.fetchval("PRAGMA user_version") or 0)

    async def set_schema_version(self, number: int) -> None:
        # PRAGMA takes no parameters; `number` is ours, not input.
        await self.execute(f"PRAGMA user_version = {int(number):d}")

    async def tables(self) -> list[str]:
        rows = await self.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return sorted(str(row[0]) for row in rows)

    async def explain(self, sql: str, *args: Any) -> list[str]:
        return [str(row[3]) for row in await self.fetch(f"EXPLAIN QUERY PLAN {sql}", *args)]

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        # Names come from the caller's whitelist; AUTOINCREMENT follows explicit ids itself.
        marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        await self._in_turn(self._conn.executemany, sql, [bind(row) for row in rows])

    async def trace(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback` with every statement run, values inlined; None stops it."""
        # sqlite3 takes None to stop tracing; aiosqlite's annotation forgets it.
        await self._conn.set_trace_callback(callback)  # type: ignore[arg-type]


def _unusable(path: Path, exc: OSError | sqlite3.Error) -> StoreUnavailable:
    return StoreUnavailable("DATABASE_PATH", why_unusable(path, exc), path=path)


async def peek_version(path: Path | str) -> int:
    """The migration an existing file is at, read-only: nothing migrated or switched.

    For `python -m bot check`, which must not change the database it looks at.
    """
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    async with (
        aiosqlite.connect(uri, uri=True) as db,
        db.execute("PRAGMA user_version") as cursor,
    ):
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


def backup(source: Path | str, target: Path | str) -> None:
    """Copy `source` to `target` with SQLite's online backup API (blocking).

    Consistent while the bot writes: the copy is one snapshot, WAL pages included.
    """
    with (
        contextlib.closing(
            sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True)
        ) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


# -- opening a file -------------------------------------------------------------------


def probe_file(path: Path) -> None:
    """Open the file and read its header, as SQLite would on first use."""
    probe = sqlite3.connect(path)
    try:
        probe.execute("PRAGMA schema_version").fetchone()
    finally:
        probe.close()


def why_unusable(path: Path, exc: OSError | sqlite3.Error) -> str:
    if path.is_dir():
        return "it is a folder, not a database file"
    if isinstance(exc, OSError):
        return f"its folder cannot be created ({exc.strerror or exc})"
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_NOTADB":
        return "the file is not an SQLite database (damaged, or another kind of file)"
    if name.startswith("SQLITE_READONLY"):
        return "the file is read-only"
    if name.startswith("SQLITE_CANTOPEN"):
        return "the file cannot be opened or created there (is its folder writable?)"
    return f"SQLite refused it ({exc})"


async def configure(db: aiosqlite.Connection) -> None:
    await db.execute("PRAGMA busy_timeout = 5000")  # wait for another writer, not fail
    mode = await switch_to_wal(db)
    if mode.lower() != "wal":
        # e.g. ":memory:" databases; fine for tests, not for the bot.
        log.warning("SQLite journal mode is %s, not WAL", mode)
    await db.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, far fewer fsyncs
    await db.execute("PRAGMA foreign_keys = ON")


async def switch_to_wal(db: aiosqlite.Connection) -> str:
    """Set WAL mode; the journal mode the file ends up in.

    Connections switching a new file at the same moment can deadlock on the lock
    upgrade, and SQLite then answers "locked" at once instead of waiting: try again
    after a short random pause.
    """
    for attempt in range(1, WAL_SWITCH_ATTEMPTS):
        try:
            return await _set_wal(db)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)
    return await _set_wal(db)


async def _set_wal(db: aiosqlite.Connection) -> str:
    async with db.execute("PRAGMA journal_mode = WAL") as cursor:
        row = await cursor.fetchone()
    return str(row[0]) if row else "unknown"
