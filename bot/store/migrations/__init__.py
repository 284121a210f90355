"""Numbered migrations, one folder of SQL files per dialect: `sqlite/`, `postgres/`.

`NNNN_name.sql` holds migration NNNN's statements, each ending with `;` (whole-line
`--` comments are left out). Both folders have the same numbers, so a database of
either dialect at migration N has the same tables and columns. A shipped migration
never changes meaning: append a new file, to both folders.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from bot.store.database import MIGRATION_LOCK, Database, NewerDatabase

log = logging.getLogger(__name__)

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_END_OF_STATEMENT = re.compile(r";[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    statements: tuple[str, ...]


@cache
def steps(dialect: str) -> tuple[Migration, ...]:
    """The dialect's migrations in order; numbered 1, 2, … without gaps."""
    found = []
    for entry in files(__name__).joinpath(dialect).iterdir():
        match = _FILE.match(entry.name)
        if match:
            text = entry.read_text(encoding="utf-8")
            found.append(Migration(int(match[1]), match[2], statements(text)))
    found.sort(key=lambda step: step.number)
    if [step.number for step in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{dialect} migrations are not numbered 1, 2, …")
    return tuple(found)


def statements(text: str) -> tuple[str, ...]:
    """A file's statements: split after each `;` that ends a line, comments left out."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return tuple(part.strip() for part in _END_OF_STATEMENT.split(code) if part.strip())


LATEST_MIGRATION = len(steps("sqlite"))


async def migrate(db: Database) -> None:
    """Apply the migrations the database lacks, each in its own transaction.

    One migrator at a time: SQLite's BEGIN IMMEDIATE and PostgreSQL's advisory lock
    make a second process starting at the same moment wait, re-read and skip.
    """
    version = await db.schema_version()
    if version > LATEST_MIGRATION:
        setting = "DATABASE_PATH" if db.dialect.name == "sqlite" else "DATABASE_URL"
        raise NewerDatabase(version, LATEST_MIGRATION, setting=setting)
    for step in steps(db.dialect.name):
        if step.number <= version:
            continue
        async with db.transaction(lock=MIGRATION_LOCK):
            version = await db.schema_version()
            if step.number <= version:
                continue
            log.info("Migrating the %s database to version %d", db.dialect.name, step.number)
            for statement in step.statements:
                await db.execute(statement)
            await db.set_schema_version(step.number)
            version = step.number
