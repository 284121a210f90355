"""Opening a SQLite file: a clear reason when it cannot serve, WAL mode, pragmas."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

WAL_SWITCH_ATTEMPTS = 20


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


# -- mapping between Job and columns ---------------------------------------------
