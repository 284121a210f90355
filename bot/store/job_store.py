"""JobStore, every SQL statement of the bot over one `Database`, and how it is opened.

The statements live in one module per concern (jobs, usage, leases, guilds, users,
maintenance), each a mixin over `StoreBase`; `JobStore` composes them, so callers
write `store.get(...)` whatever the part. Each statement is written once, in the
SQL SQLite and PostgreSQL share, and the parametrised store tests run it on both.
Queries are parameterised; the only names spliced into SQL text are column and
table names from whitelists, never input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from bot.config import Settings, url_scheme
from bot.domain import GuildSettings
from bot.store.database import Database
from bot.store.guilds import GuildsMixin
from bot.store.jobs import JobsMixin
from bot.store.leases import LeasesMixin, lease_hold
from bot.store.maintenance import MaintenanceMixin
from bot.store.migrations import migrate
from bot.store.postgres import PostgresDatabase
from bot.store.sqlite import SqliteDatabase
from bot.store.usage import UsageMixin
from bot.store.users import UsersMixin

POSTGRES_SCHEMES = ("postgresql", "postgres")


class JobStore(JobsMixin, UsageMixin, LeasesMixin, GuildsMixin, UsersMixin, MaintenanceMixin):
    """Open with `await JobStore.open(where)` or `open_store(settings)`; close with `close()`."""

    def __init__(self, db: Database, *, owner: str | None = None, lease_hold: float = 20.0) -> None:
        self.db = db
        self.owner = owner
        self.lease_hold = lease_hold
        self._guilds: dict[int, GuildSettings] = {}
        self._closed = False

    @classmethod
    async def open(
        cls,
        where: Path | str,
        *,
        owner: str | None = None,
        lease_hold: float = 20.0,
        max_size: int = 10,
    ) -> JobStore:
        """Open and migrate the database at `where`: a PostgreSQL URL (a pool of at most
        `max_size` connections), a `sqlite:` URL or a file's path. StoreUnavailable if it
        cannot serve; a failing migration is a bug and stays loud."""
        db = await connect(where, max_size=max_size)
        try:
            await migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db, owner=owner, lease_hold=lease_hold)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def open_store(settings: Settings) -> JobStore:
    """The store DATABASE_URL names (PostgreSQL or `sqlite:`), else DATABASE_PATH's file."""
    return await JobStore.open(
        postgres_url(settings) or sqlite_path(settings),
        owner=settings.process_id,
        lease_hold=lease_hold(settings.lease_seconds),
    )


async def connect(where: Path | str, *, max_size: int = 10) -> Database:
    if is_postgres_url(where):
        assert isinstance(where, str)
        return await PostgresDatabase.open(where, max_size=max_size)
    return await SqliteDatabase.open(sqlite_file(where))


def is_postgres_url(where: Path | str) -> bool:
    return isinstance(where, str) and url_scheme(where) in POSTGRES_SCHEMES


def sqlite_file(where: Path | str) -> Path:
    """The file of a `sqlite:///path` (or `sqlite:path`) URL, or `where` itself."""
    if isinstance(where, str) and url_scheme(where) == "sqlite":
        return Path(where[len("sqlite:") :].removeprefix("//"))
    return Path(where)


def postgres_url(settings: Settings) -> str | None:
    """DATABASE_URL when it names PostgreSQL."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return url if url is not None and is_postgres_url(url) else None


def sqlite_path(settings: Settings) -> Path:
    """The SQLite file: a `sqlite:///path` DATABASE_URL, else DATABASE_PATH."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    if url is not None and url_scheme(url) == "sqlite":
        return sqlite_file(url)
    return settings.database_path
