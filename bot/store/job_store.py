"""JobStore: every SQL statement of the bot, over aiosqlite in WAL mode (or PostgreSQL).

One class holds all SQL, written in the dialect SQLite and PostgreSQL share, so both
backends run the same statements: `bot.store.postgres` only swaps the connection (an
adapter with the slice of aiosqlite's API used here) and keeps its own migrations,
numbered like `MIGRATIONS`. A new method is written once here and the parametrised
store tests run it on both. Queries are parameterised; the only names spliced into
SQL text are column names from the whitelist below, never input.

The connection runs in autocommit mode: every write is one statement, hence atomic on
its own, and concurrent coroutines sharing the connection never share a transaction.
Migrations are the one multi-statement write; they take `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiosqlite

from bot.config import Settings
from bot.domain import (
    ACTIVE_STATUSES,
    GuildSettings,
    GuildUsage,
    Job,
    JobStatus,
    UsageReport,
    UserSpend,
)
from bot.store.rows import (
    from_row,
    set_clause,
    to_columns,
    user_filter,
    validated,
)
from bot.store.schema import (
    ACTIVE_1,
    ACTIVE_SQL,
    CANCELLED_1,
    CHARGED_SQL,
    COPIED_TABLES,
    DELIVERED_1,
    FAILED_1,
    FINISHED_SQL,
    MIGRATIONS,
    SCRUBBED_IMAGE,
    SHOWN_SQL,
)
from bot.store.sqlite import configure, probe_file, why_unusable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuotaUsage:
    user_active: int  # the user's jobs not final
    user_since: int  # the user's jobs created since the window start
    oldest_since: float | None  # created_at of the oldest of those
    all_active: int  # everybody's jobs not final


MAX_KEPT_GUILDS = 10_000  # servers whose settings SQLite's store keeps in memory


@dataclass(frozen=True)
class QuotaLimits:
    """What a new job may not reach: `create_within` inserts only below all three."""

    user_concurrent: int  # the user's jobs not final
    user_daily: int  # the user's charged jobs created since `since`
    global_concurrent: int  # everybody's jobs not final
    since: float  # the daily window's start


class StoreUnavailable(Exception):
    """The database file cannot be used; `reason` says why in words an operator acts on."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


async def open_store(settings: Settings) -> JobStore:
    """The store DATABASE_URL names (PostgreSQL or `sqlite:///path`), else DATABASE_PATH's."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    owner, hold = settings.process_id, lease_hold(settings.lease_seconds)
    if url is not None and url.startswith(("postgresql://", "postgres://")):
        from bot.store.postgres import PostgresJobStore

        return await PostgresJobStore.open(url, owner=owner, lease_hold=hold)
    return await JobStore.open(sqlite_path(settings), owner=owner, lease_hold=hold)


def sqlite_path(settings: Settings) -> Path:
    """The SQLite file: a `sqlite:///path` DATABASE_URL, else DATABASE_PATH."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    if url is not None and url.startswith("sqlite:"):
        return Path(url.removeprefix("sqlite:").removeprefix("//"))
    return settings.database_path


def lease_hold(lease_seconds: float) -> float:
    """How far ahead a lease is set: renewed every third of LEASE_SECONDS, it survives one
    late renewal, lapses at most two thirds of the period after its owner died, and is
    taken over as it lapses: recovery within 2/3 × LEASE_SECONDS.
    """
    return lease_seconds * 2 / 3


class JobStore:
    """The jobs table. Open with `await JobStore.open(path)`, close with `close()`."""

    # One process per SQLite file: no lease can be held by anybody else.
    shared = False
    # Appended to the claim's row selection (PostgreSQL: skip rows another claim holds).
    _CLAIM_LOCK = ""

    def __init__(
        self, db: aiosqlite.Connection, *, owner: str | None = None, lease_hold: float = 20.0
    ) -> None:
        self._db = db
        self._closed = False
        # This process's id and lease length: rows it creates are leased to it.
        self.owner = owner
        self.lease_hold = lease_hold
        # Servers' settings once read, when every change goes through this store (SQLite's
        # one process): each admission re-checks them under the admission lock.
        self._guilds: dict[int, GuildSettings] = {}

    @classmethod
    async def open(
        cls, path: Path | str, *, owner: str | None = None, lease_hold: float = 20.0
    ) -> JobStore:
        """Open (creating if needed) and migrate; StoreUnavailable if the file cannot serve."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A failed aiosqlite connect leaves its worker thread answering a loop that
            # may be gone (a traceback at exit); a plain probe fails cleanly first.
            await asyncio.to_thread(probe_file, path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(path, why_unusable(path, exc)) from None
        # isolation_level=None: autocommit; see the module docstring.
        db = await aiosqlite.connect(path, isolation_level=None)
        db.row_factory = aiosqlite.Row
        try:
            try:
                await configure(db)
            except sqlite3.Error as exc:  # e.g. a read-only file cannot switch to WAL
                raise StoreUnavailable(path, why_unusable(path, exc)) from None
            store = cls(db, owner=owner, lease_hold=lease_hold)
            await store._migrate()  # a failing migration is a bug: it stays loud
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- schema ----------------------------------------------------------------

    async def schema_version(self) -> int:
        return await self._scalar("PRAGMA user_version", ())

    @staticmethod
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

    @staticmethod
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

    async def count_active_by_status(self) -> dict[str, int]:
        """Jobs not final, per status (the metrics gauge); served by the `jobs_active` index."""
        sql = f"SELECT status, COUNT(*) FROM jobs WHERE {ACTIVE_SQL} GROUP BY status"
        return {str(row[0]): int(row[1]) for row in await self._rows(sql)}

    async def _migrate(self) -> None:
        for number, statements in enumerate(MIGRATIONS, start=1):
            if number <= await self.schema_version():
                continue
            # IMMEDIATE takes the write lock first: two processes starting together
            # cannot both run a migration; the second re-reads the version and skips.
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                if number <= await self.schema_version():
                    await self._db.execute("ROLLBACK")
                    continue
                log.info("Migrating the database to version %d", number)
                for statement in statements:
                    await self._db.execute(statement)
                # PRAGMA takes no parameters; `number` is ours, not input.
                await self._db.execute(f"PRAGMA user_version = {number:d}")
                await self._db.execute("COMMIT")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise

    # -- writes ----------------------------------------------------------------

    async def create(self, job: Job) -> Job:
        names, marks, values = self._insert_parts(job)
        cursor = await self._db.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", values)
        return job.model_copy(update={"id": cursor.lastrowid})

    async def create_within(self, job: Job, limits: QuotaLimits) -> Job | None:
        """Insert the job only if the user's and everybody's quotas allow it; None if not.

        One statement, so one trip to the database for a whole admission: the checks
        and the insert see the same rows (a job that ends meanwhile frees its slot
        for the next one). Counts as `quota_usage` does.
        """
        names, marks, values = self._insert_parts(job)
        rows = await self._db.execute_fetchall(
            f"INSERT INTO jobs ({names}) SELECT {marks} WHERE "
            f"(SELECT COUNT(*) FROM jobs WHERE user_id = ? AND {ACTIVE_SQL}) < ? AND "
            "(SELECT COUNT(*) FROM jobs "
            f"WHERE user_id = ? AND created_at >= ? AND {CHARGED_SQL}) < ? AND "
            f"(SELECT COUNT(*) FROM jobs WHERE {ACTIVE_SQL}) < ? RETURNING id",
            (
                *values,
                *(job.user_id, limits.user_concurrent),
                *(job.user_id, limits.since, limits.user_daily),
                limits.global_concurrent,
            ),
        )
        rows = list(rows)
        return job.model_copy(update={"id": int(rows[0][0])}) if rows else None

    def _insert_parts(self, job: Job) -> tuple[str, str, tuple[Any, ...]]:
        columns = to_columns(job)
        if self.owner is not None:
            # Leased from the first moment: no other process may take a row being submitted.
            columns["owner"] = self.owner
            columns["lease_until"] = job.created_at + self.lease_hold
        return ", ".join(columns), ", ".join("?" for _ in columns), tuple(columns.values())

    @contextlib.asynccontextmanager
    async def admitting(self) -> AsyncIterator[None]:
        """Around a quota check and the insert it allows, so no other process admits a job
        between them. SQLite serves one process, whose own lock is enough."""
        yield

    async def update(self, job_id: int, **fields: object) -> Job:
        """Set the given Job fields; raises ValueError for unknown fields or bad values."""
        if not fields:
            job = await self.get(job_id)
        else:
            assignments, values = set_clause(fields)
            job = await self._returning(
                f"UPDATE jobs SET {assignments} WHERE id = ? RETURNING *", (*values, job_id)
            )
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        return job

    async def transition(
        self,
        job_id: int,
        *,
        from_statuses: Iterable[JobStatus],
        to: JobStatus,
        **fields: object,
    ) -> Job | None:
        """Compare-and-set: change the job only if its status is one of `from_statuses`.

        One UPDATE decides, so of two racing transitions (a cancel and a completion,
        or two deliveries after a restart) exactly one wins; the loser gets None.
        """
        if validated("status", fields.pop("status", to)) is not validated("status", to):
            raise ValueError("`status` among the fields differs from `to`")
        allowed = [str(validated("status", status)) for status in from_statuses]
        if not allowed:
            return None
        assignments, values = set_clause({**fields, "status": to})
        marks = ", ".join("?" for _ in allowed)
        return await self._returning(
            f"UPDATE jobs SET {assignments} WHERE id = ? AND status IN ({marks}) RETURNING *",
            (*values, job_id, *allowed),
        )

    async def claim_extend(self, job_id: int, at: float) -> bool:
        """Mark a delivered job as being extended; False if it already is (or is not delivered).

        One UPDATE decides, so of two presses racing exactly one wins.
        """
        cursor = await self._db.execute(
            "UPDATE jobs SET extended_at = ? "
            "WHERE id = ? AND status = 'delivered' AND extended_at IS NULL",
            (at, job_id),
        )
        return cursor.rowcount == 1

    async def release_extend(self, job_id: int) -> None:
        """The extension did not start a job: let the button be pressed again."""
        await self._db.execute("UPDATE jobs SET extended_at = NULL WHERE id = ?", (job_id,))

    async def clear_for_user(self, user_id: int, *, now: float) -> int:
        """Hide the user's final jobs from /history and scrub their private content.

        Prompt, image facts and URLs, video URL and error go; what quotas and spend
        reports count stays (user, guild, created, status, request id, options,
        cost, timestamps). Active jobs are untouched: they are still delivered.
        """
        cursor = await self._db.execute(
            "UPDATE jobs SET cleared_at = ?, prompt = '', image_json = ?, image_url = NULL, "
            "video_url = NULL, error = NULL "
            f"WHERE user_id = ? AND {SHOWN_SQL} AND NOT ({ACTIVE_SQL})",
            (now, SCRUBBED_IMAGE, user_id),
        )
        return cursor.rowcount

    async def count_clearable(self, user_id: int) -> int:
        """The user's final jobs that /history-clear would hide."""
        return await self._scalar(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND {SHOWN_SQL} AND NOT ({ACTIVE_SQL})",
            (user_id,),
        )

    async def purge_finished_before(self, before: float) -> int:
        """Delete final jobs whose last event is older than `before`; active ones stay.

        The retention purge deletes (cleared or not). It cannot reset a daily quota:
        a row's last event is never before its creation, so a purged row was created
        before `before`, which is at least a day ago (retention is at least one day).
        """
        cursor = await self._db.execute(
            f"DELETE FROM jobs WHERE NOT ({ACTIVE_SQL}) "
            "AND COALESCE(delivered_at, finished_at, created_at) < ? AND created_at < ?",
            (before, before),
        )
        return cursor.rowcount

    # -- leases (several processes on one database) ------------------------------

    async def claim(
        self, *, now: float, until: float, force: bool = False, own: bool = True
    ) -> list[Job]:
        """Lease to this store's owner the active jobs nobody else holds; oldest first.

        Held by nobody: no owner or an expired lease; with `own`, also our own id (at
        start: a restart with a fixed PROCESS_ID; never in the running scan, which
        must not take back a row this process is submitting). `force` takes every
        active job: SQLite's single process. One UPDATE decides, so two processes
        claiming at once never share a job.
        """
        assert self.owner is not None, "claim needs a store opened with an owner"
        params: tuple[Any, ...] = (now,)
        free = "owner IS NULL OR lease_until < ?"
        if own:
            free, params = f"{free} OR owner = ?", (now, self.owner)
        held = "" if force else f" AND ({free})"
        if force:
            params = ()
        rows = await self._db.execute_fetchall(
            "UPDATE jobs SET owner = ?, lease_until = ? WHERE id IN ("
            f"SELECT id FROM jobs WHERE {ACTIVE_SQL}{held} ORDER BY created_at, id"
            f"{self._CLAIM_LOCK}) RETURNING *",
            (self.owner, until, *params),
        )
        return sorted((from_row(row) for row in rows), key=lambda j: (j.created_at, j.id or 0))

    async def renew(self, *, until: float) -> set[int]:
        """Extend this owner's leases; the ids still ours (others were taken over)."""
        rows = await self._db.execute_fetchall(
            f"UPDATE jobs SET lease_until = ? WHERE owner = ? AND {ACTIVE_SQL} RETURNING id",
            (until, self.owner),
        )
        return {int(row[0]) for row in rows}

    async def next_lapse(self) -> float | None:
        """When the first active job not ours becomes free to take: its lease's end, or
        0.0 for a released one; None when every active job is ours."""
        row = await self._row(
            "SELECT MIN(CASE WHEN owner IS NULL THEN 0.0 ELSE lease_until END) FROM jobs"
            f" WHERE {ACTIVE_SQL} AND (owner IS NULL OR owner <> ?)",
            (self.owner,),
        )
        return None if row is None or row[0] is None else float(row[0])

    async def release(self) -> int:
        """Give this owner's active jobs back (a clean stop): another process takes them now."""
        cursor = await self._db.execute(
            f"UPDATE jobs SET owner = NULL, lease_until = NULL WHERE owner = ? AND {ACTIVE_SQL}",
            (self.owner,),
        )
        return cursor.rowcount

    async def lease_of(self, job_id: int) -> tuple[str | None, float | None]:
        """Who holds the job and until when (tests and operators)."""
        row = await self._row("SELECT owner, lease_until FROM jobs WHERE id = ?", (job_id,))
        return (None, None) if row is None else (row[0], row[1])

    # -- reads -----------------------------------------------------------------

    async def get(self, job_id: int) -> Job | None:
        return await self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))

    async def get_shown(self, job_id: int) -> Job | None:
        """The job unless its owner cleared it from their history."""
        return await self._one(f"SELECT * FROM jobs WHERE id = ? AND {SHOWN_SQL}", (job_id,))

    async def find_by_request_id(self, request_id: str) -> Job | None:
        return await self._one("SELECT * FROM jobs WHERE request_id = ?", (request_id,))

    async def find_by_status_message(self, message_id: int) -> Job | None:
        return await self._one("SELECT * FROM jobs WHERE status_message_id = ?", (message_id,))

    async def active_jobs(self) -> list[Job]:
        """Jobs not final, oldest first (a scan of the small partial index only)."""
        return await self._many(
            f"SELECT * FROM jobs WHERE {ACTIVE_SQL} ORDER BY created_at, id", ()
        )

    async def list_for_user(
        self,
        user_id: int,
        *,
        statuses: Collection[JobStatus] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Job]:
        """A page of the user's jobs not cleared, newest first. `statuses`: None means any."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        where, values = user_filter(user_id, statuses)
        return await self._many(
            f"SELECT * FROM jobs WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (*values, limit, offset),
        )

    async def count_for_user(
        self, user_id: int, *, statuses: Collection[JobStatus] | None = None
    ) -> int:
        where, values = user_filter(user_id, statuses)
        return await self._scalar(f"SELECT COUNT(*) FROM jobs WHERE {where}", values)

    async def count_active(self, user_id: int | None = None) -> int:
        if user_id is None:
            return await self._scalar(f"SELECT COUNT(*) FROM jobs WHERE {ACTIVE_SQL}", ())
        return await self.count_for_user(user_id, statuses=ACTIVE_STATUSES)

    async def quota_usage(self, user_id: int, since: float) -> QuotaUsage:
        """Everything a quota check needs, in one round trip (it runs before each defer).

        Cleared rows count like any other: a clear cannot give a slot back.
        """
        row = await self._row(
            f"SELECT (SELECT COUNT(*) FROM jobs WHERE user_id = ? AND {ACTIVE_SQL}), "
            "(SELECT COUNT(*) FROM jobs "
            f"WHERE user_id = ? AND created_at >= ? AND {CHARGED_SQL}), "
            "(SELECT MIN(created_at) FROM jobs "
            f"WHERE user_id = ? AND created_at >= ? AND {CHARGED_SQL}), "
            f"(SELECT COUNT(*) FROM jobs WHERE {ACTIVE_SQL})",
            (user_id, user_id, since, user_id, since),
        )
        assert row is not None
        return QuotaUsage(
            user_active=int(row[0]),
            user_since=int(row[1]),
            oldest_since=None if row[2] is None else float(row[2]),
            all_active=int(row[3]),
        )

    async def count_created_since(self, user_id: int, since: float) -> int:
        """The user's charged jobs created since `since` (what the daily quota counts)."""
        return await self._scalar(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND created_at >= ? AND {CHARGED_SQL}",
            (user_id, since),
        )

    async def oldest_created_since(self, user_id: int, since: float) -> float | None:
        """When the user's oldest charged job in the window was made: a slot frees after it."""
        row = await self._row(
            "SELECT MIN(created_at) FROM jobs "
            f"WHERE user_id = ? AND created_at >= ? AND {CHARGED_SQL}",
            (user_id, since),
        )
        return None if row is None or row[0] is None else float(row[0])

    async def recent_durations(
        self,
        *,
        resolution: str,
        duration: int,
        generate_audio: bool,
        from_start: bool = False,
        limit: int = 50,
    ) -> list[float]:
        """Times to finish of the latest finished jobs of one kind, newest first.

        From submit (queue and render: what a user waits) or, `from_start`, from the
        first `in_progress` seen (the render alone: what polling needs). The jobs
        that began last before the oldest of the kind still running: of a burst
        sent together the short renders finish first (the latest finished would say
        renders are short while the long ones still run), and of the jobs begun
        before a moment the last to finish are the long ones. Which jobs began when
        says nothing of how long they took.
        """
        start = "started_at" if from_start else "submitted_at"
        kind = "resolution = ? AND duration = ? AND generate_audio = ?"
        params = (resolution, duration, int(generate_audio))
        rows = await self._rows(
            f"SELECT finished_at - {start} FROM jobs "
            f"WHERE {FINISHED_SQL} AND {kind} AND finished_at > {start} "
            f"AND {start} < COALESCE((SELECT MIN({start}) FROM jobs "
            f"WHERE {ACTIVE_SQL} AND status <> 'completed' AND {kind}), {start} + 1) "
            f"ORDER BY {start} DESC LIMIT ?",
            (*params, *params, limit),
        )
        return [float(row[0]) for row in rows]

    # -- guild settings and usage (/admin) -----------------------------------------

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        """The server's settings; the defaults when its admins never changed any."""
        known = self._guilds.get(guild_id)
        if known is None:
            known = await self._read_guild_settings(guild_id)
            self._keep_guild_settings(known)
        return known

    def _keep_guild_settings(self, settings: GuildSettings) -> None:
        if self.shared:
            return  # another process may change them: read them each time
        if len(self._guilds) >= MAX_KEPT_GUILDS and settings.guild_id not in self._guilds:
            del self._guilds[next(iter(self._guilds))]  # the longest kept
        self._guilds[settings.guild_id] = settings

    async def _read_guild_settings(self, guild_id: int) -> GuildSettings:
        row = await self._row("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
        if row is None:
            return GuildSettings(guild_id=guild_id)
        return GuildSettings(
            guild_id=row["guild_id"],
            paused=bool(row["paused"]),
            pause_reason=row["pause_reason"],
            allowed_channel_ids=tuple(json.loads(row["allowed_channels"])),
            user_concurrent=row["user_concurrent"],
            user_daily=row["user_daily"],
            daily_spend_cap_usd=row["daily_spend_cap_usd"],
            language=row["language"],
            updated_by=row["updated_by"],
            updated_at=row["updated_at"],
        )

    async def save_guild_settings(self, settings: GuildSettings) -> GuildSettings:
        await self._db.execute(
            "INSERT INTO guild_settings (guild_id, paused, pause_reason, allowed_channels, "
            "user_concurrent, user_daily, daily_spend_cap_usd, language, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET paused = excluded.paused, "
            "pause_reason = excluded.pause_reason, allowed_channels = excluded.allowed_channels, "
            "user_concurrent = excluded.user_concurrent, user_daily = excluded.user_daily, "
            "daily_spend_cap_usd = excluded.daily_spend_cap_usd, language = excluded.language, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (
                settings.guild_id,
                int(settings.paused),
                settings.pause_reason,
                json.dumps(list(settings.allowed_channel_ids)),
                settings.user_concurrent,
                settings.user_daily,
                settings.daily_spend_cap_usd,
                settings.language,
                settings.updated_by,
                settings.updated_at,
            ),
        )
        self._keep_guild_settings(settings)
        return settings

    async def guild_usage(self, guild_id: int, user_id: int, since: float) -> GuildUsage:
        """Everything a server's admission check needs (it runs before each defer)."""
        row = await self._row(
            "SELECT "
            f"(SELECT COUNT(*) FROM jobs WHERE guild_id = :g AND user_id = :u AND {ACTIVE_SQL}), "
            "(SELECT COUNT(*) FROM jobs "
            "WHERE guild_id = :g AND user_id = :u AND created_at >= :since), "
            "(SELECT MIN(created_at) FROM jobs "
            "WHERE guild_id = :g AND user_id = :u AND created_at >= :since), "
            "(SELECT COALESCE(SUM(cost), 0) FROM jobs "
            "WHERE guild_id = :g AND created_at >= :since)",
            {"g": guild_id, "u": user_id, "since": since},
        )
        assert row is not None
        rows = await self._rows(
            "SELECT duration, COUNT(*) FROM jobs "
            f"WHERE guild_id = ? AND cost IS NULL AND {ACTIVE_SQL} GROUP BY duration",
            (guild_id,),
        )
        uncosted = {int(d): int(n) for d, n in rows}
        return GuildUsage(
            user_active=int(row[0]),
            user_since=int(row[1]),
            oldest_since=None if row[2] is None else float(row[2]),
            known_spend_usd=float(row[3]),
            active_uncosted=uncosted,
        )

    async def usage_report(self, guild_id: int, since: float, *, top: int = 5) -> UsageReport:
        """The server's jobs created since `since`: counts by outcome, known spend, top users."""
        row = await self._row(
            "SELECT COUNT(*), "
            f"COALESCE(SUM({DELIVERED_1}), 0), "
            f"COALESCE(SUM({FAILED_1}), 0), "
            f"COALESCE(SUM({CANCELLED_1}), 0), "
            f"COALESCE(SUM({ACTIVE_1}), 0), "
            "COALESCE(SUM(cost), 0) "
            "FROM jobs WHERE guild_id = ? AND created_at >= ?",
            (guild_id, since),
        )
        assert row is not None
        rows = await self._rows(
            "SELECT user_id, COUNT(*), COALESCE(SUM(cost), 0) AS spend FROM jobs "
            "WHERE guild_id = ? AND created_at >= ? "
            "GROUP BY user_id ORDER BY spend DESC, COUNT(*) DESC, user_id LIMIT ?",
            (guild_id, since, top),
        )
        users = [
            UserSpend(user_id=int(u), jobs=int(n), spend_usd=float(spend)) for u, n, spend in rows
        ]
        return UsageReport(
            jobs=int(row[0]),
            delivered=int(row[1]),
            failed=int(row[2]),
            cancelled=int(row[3]),
            active=int(row[4]),
            spend_usd=float(row[5]),
            top_users=users,
        )

    # -- what the bot keeps between starts -------------------------------------------

    async def state(self, key: str) -> str | None:
        """A value kept with `set_state` (the synced commands' hash, a model's schema)."""
        row = await self._row("SELECT value FROM bot_state WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set_state(self, key: str, value: str, *, now: float) -> None:
        await self._db.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (key, value, now),
        )

    # -- copying to another database (migrate-to-postgres) -----------------------

    async def tables(self) -> list[str]:
        """Every table of the schema (a table missing from COPIED_TABLES fails a test)."""
        async with self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ) as cursor:
            return sorted(str(row[0]) for row in await cursor.fetchall())

    async def export_rows(self, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Every row of `table` in key order, with its column names."""
        key = COPIED_TABLES[table]  # the whitelist: no other name reaches the SQL
        async with self._db.execute(f"SELECT * FROM {table} ORDER BY {key}") as cursor:
            columns = [str(d[0]) for d in cursor.description]
            rows = [tuple(row) for row in await cursor.fetchall()]
        if table == "jobs":
            # Leases of the old process mean nothing in the new database: free at once.
            for name in ("owner", "lease_until"):
                if name in columns:
                    at = columns.index(name)
                    rows = [(*row[:at], None, *row[at + 1 :]) for row in rows]
        return columns, rows

    # -- diagnostics -------------------------------------------------------------

    async def explain(self, sql: str, params: Iterable[Any] = ()) -> list[str]:
        """SQLite's query plan for `sql`, one line per step (tests check index use)."""
        async with self._db.execute(f"EXPLAIN QUERY PLAN {sql}", tuple(params)) as cursor:
            return [str(row[3]) for row in await cursor.fetchall()]

    async def trace(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback` with every statement run, values inlined; None stops it."""
        # sqlite3 takes None to stop tracing; aiosqlite's annotation forgets it.
        await self._db.set_trace_callback(callback)  # type: ignore[arg-type]

    # -- helpers -----------------------------------------------------------------

    async def _returning(self, sql: str, params: tuple[Any, ...]) -> Job | None:
        # execute_fetchall steps the statement to its end in one call: the write is
        # complete (and committed, in autocommit) before anything else runs.
        rows = list(await self._db.execute_fetchall(sql, params))
        return from_row(rows[0]) if rows else None

    async def _rows(self, sql: str, params: Any = ()) -> list[Any]:
        """Every row in one trip to the database's thread. A cursor costs three (execute,
        fetch, close), each waiting a turn of a busy event loop: at a 1,000-command burst
        the quota and admission reads before each defer took its p99 from 2.5 to 1.7 s."""
        return list(await self._db.execute_fetchall(sql, params))

    async def _row(self, sql: str, params: Any = ()) -> Any | None:
        """The first row (queries that have at most one), in one trip."""
        rows = await self._rows(sql, params)
        return rows[0] if rows else None

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Job | None:
        row = await self._row(sql, params)
        return None if row is None else from_row(row)

    async def _many(self, sql: str, params: tuple[Any, ...]) -> list[Job]:
        return [from_row(row) for row in await self._rows(sql, params)]

    async def _scalar(self, sql: str, params: tuple[Any, ...]) -> int:
        row = await self._row(sql, params)
        return int(row[0]) if row else 0
