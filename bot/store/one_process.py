"""SQLite serves one bot process: the running bot holds a lock beside its file.

A second bot on the same file would claim every live job the first tracks, and both
would poll and post them. The lock is the kernel's (flock): a process that dies,
even by SIGKILL, lets go of it, so a restart is never locked out.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from bot.store.database import StoreUnavailable
from bot.store.sqlite import probe_file, why_unusable


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
