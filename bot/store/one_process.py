"""What one bot process holds for as long as it runs, so that no second one starts on it.

SQLite serves one bot process: the running bot holds a lock beside its file. A second
bot on the same file would claim every live job the first tracks, and both would poll
and post them. The lock is the kernel's (flock): a process that dies, even by SIGKILL,
lets go of it, so a restart is never locked out.

On PostgreSQL several processes share the database, each with its own PROCESS_ID. Two
with one PROCESS_ID would renew each other's leases and both post the same videos. Each
holds a PostgreSQL advisory lock on its PROCESS_ID (in its schema) on a connection of its
own: the server lets go when the process dies, within a minute when its host does.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg

from bot.store.database import StoreUnavailable
from bot.store.postgres import CONNECT_ERRORS, why_unreachable
from bot.store.sqlite import probe_file, why_unusable

log = logging.getLogger(__name__)

# The first key of the bot's two-key advisory lock ("anim"): apart from the one-key
# locks of its transactions, and from other software's.
LOCK_CLASS = 0x616E696D
# The lock's connection: the server drops it (and its locks) within about a minute of
# losing the host, instead of its default two hours.
KEEPALIVES = {
    "tcp_keepalives_idle": "30",
    "tcp_keepalives_interval": "10",
    "tcp_keepalives_count": "3",
}
CONNECT_SECONDS = 30.0


class DatabaseInUse(StoreUnavailable):
    """Another bot process runs on this SQLite file."""


def lock_file(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def only_process_on(database: Path) -> Iterator[None]:
    """Hold `database`'s lock while the block runs; DatabaseInUse if another process does."""
    lock = lock_file(database.resolve())  # one lock, whatever link or spelling leads to it
    try:
        # The store's own checks first: they name what is wrong with the path.
        database.parent.mkdir(parents=True, exist_ok=True)
        probe_file(database)
    except (OSError, sqlite3.Error) as exc:
        raise StoreUnavailable(
            "DATABASE_PATH", why_unusable(database, exc), path=database
        ) from None
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        reason = f"its lock file {lock.name} cannot be created ({exc.strerror})"
        raise StoreUnavailable("DATABASE_PATH", reason, path=database) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(
                "DATABASE_PATH", "another bot process is running on it", path=database
            ) from None
        yield
    finally:
        os.close(fd)  # lets go of the lock


class ProcessClash(StoreUnavailable):
    """Another bot process on this PostgreSQL database runs with this PROCESS_ID."""


@contextlib.asynccontextmanager
async def only_process_named(url: str, process_id: str) -> AsyncIterator[None]:
    """Hold `process_id` while the block runs; ProcessClash if another process does."""
    try:
        conn = await asyncpg.connect(url, timeout=CONNECT_SECONDS, server_settings=KEEPALIVES)
    except CONNECT_ERRORS as exc:
        raise StoreUnavailable("DATABASE_URL", why_unreachable(exc)) from None
    try:
        try:
            got = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || ':' || $2))",
                LOCK_CLASS,
                process_id,
            )
        except asyncpg.PostgresError as exc:
            reason = f"PostgreSQL refused a lock ({type(exc).__name__})"
            raise StoreUnavailable("DATABASE_URL", reason) from None
        if not got:
            raise ProcessClash(
                "PROCESS_ID",
                f"another bot process on this database runs with PROCESS_ID {process_id}. "
                "Give each process its own PROCESS_ID",
            )
        conn.add_termination_listener(_lost)
        yield
    finally:
        conn.remove_termination_listener(_lost)
        await conn.close()  # lets go of the lock


def _lost(conn: asyncpg.Connection) -> None:
    log.warning(
        "The PostgreSQL connection holding this process's PROCESS_ID was lost: until a "
        "restart, another process could start with it"
    )
