"""JobStore: every SQL statement of the bot, over aiosqlite in WAL mode.

One class holds all SQL so that another backend (PostgreSQL, for several
processes) is a new class, not a rewrite. Queries are parameterised only.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.models import ACTIVE_STATUSES, ImageFacts, Job, JobOptions, JobStatus

log = logging.getLogger(__name__)

# Numbered migrations: index + 1 is the `PRAGMA user_version` after it ran.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        guild_id INTEGER,
        channel_id INTEGER,
        status_message_id INTEGER,
        request_id TEXT UNIQUE,
        status TEXT NOT NULL,
        prompt TEXT NOT NULL,
        resolution TEXT NOT NULL,
        ratio TEXT NOT NULL,
        duration INTEGER NOT NULL,
        generate_audio INTEGER NOT NULL,
        camera_fixed INTEGER NOT NULL,
        image_json TEXT NOT NULL,
        image_url TEXT,
        queue_position INTEGER,
        error TEXT,
        video_url TEXT,
        cost REAL,
        delivered_channel_id INTEGER,
        delivered_message_id INTEGER,
        created_at REAL NOT NULL,
        submitted_at REAL,
        started_at REAL,
        finished_at REAL,
        delivered_at REAL
    );
    -- "A user's jobs, newest first" (/history, quotas).
    CREATE INDEX jobs_by_user ON jobs (user_id, created_at DESC, id DESC);
    -- "Jobs not final" (resume at start, global quota): small, so partial.
    CREATE INDEX jobs_active ON jobs (created_at)
        WHERE status NOT IN ('delivered', 'cancelled', 'failed', 'timed_out', 'lost');
    -- Cancel by reaction finds the job from its status message.
    CREATE INDEX jobs_by_status_message ON jobs (status_message_id)
        WHERE status_message_id IS NOT NULL;
    -- ETA: recent finished jobs of one kind.
    CREATE INDEX jobs_by_kind ON jobs (resolution, duration, finished_at DESC)
        WHERE status = 'delivered';
    """,
)

_OPTION_FIELDS = ("resolution", "ratio", "duration", "generate_audio", "camera_fixed")
_PLAIN_FIELDS = (
    "user_id",
    "guild_id",
    "channel_id",
    "status_message_id",
    "request_id",
    "status",
    "prompt",
    "image_url",
    "queue_position",
    "error",
    "video_url",
    "cost",
    "delivered_channel_id",
    "delivered_message_id",
    "created_at",
    "submitted_at",
    "started_at",
    "finished_at",
    "delivered_at",
)
# What `update` may change: whole columns, never the id.
UPDATABLE = frozenset({*_PLAIN_FIELDS, "options", "image"})
_ACTIVE_SQL = "status NOT IN ('delivered', 'cancelled', 'failed', 'timed_out', 'lost')"


class JobStore:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path | str) -> JobStore:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        db.row_factory = aiosqlite.Row
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, far fewer fsyncs
            await db.execute("PRAGMA busy_timeout = 5000")
            await db.execute("PRAGMA foreign_keys = ON")
            store = cls(db)
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> JobStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            log.info("Migrating the database to version %d", number)
            await self._db.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    # -- writes ------------------------------------------------------------

    async def create(self, job: Job) -> Job:
        columns = _to_columns(job)
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        cursor = await self._db.execute(
            f"INSERT INTO jobs ({names}) VALUES ({marks})", tuple(columns.values())
        )
        await self._db.commit()
        return job.model_copy(update={"id": cursor.lastrowid})

    async def update(self, job_id: int, **fields: Any) -> Job:
        if fields:
            assignments, values = _assignments(fields)
            await self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values, job_id))
            await self._db.commit()
        job = await self.get(job_id)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        return job

    async def transition(
        self,
        job_id: int,
        *,
        from_statuses: Iterable[JobStatus],
        to: JobStatus,
        **fields: Any,
    ) -> Job | None:
        """Compare-and-set: change the job only if its status is one of `from_statuses`.

        One UPDATE decides, so of two racing transitions (a cancel and a
        completion, or two deliveries after a restart) exactly one wins.
        """
        allowed = [str(status) for status in from_statuses]
        assignments, values = _assignments({**fields, "status": to})
        marks = ", ".join("?" for _ in allowed)
        cursor = await self._db.execute(
            f"UPDATE jobs SET {assignments} WHERE id = ? AND status IN ({marks})",
            (*values, job_id, *allowed),
        )
        await self._db.commit()
        if cursor.rowcount == 0:
            return None
        return await self.get(job_id)

    async def delete_for_user(self, user_id: int) -> int:
        cursor = await self._db.execute("DELETE FROM jobs WHERE user_id = ?", (user_id,))
        await self._db.commit()
        return cursor.rowcount

    async def purge_finished_before(self, before: float) -> int:
        cursor = await self._db.execute(
            f"DELETE FROM jobs WHERE created_at < ? AND NOT ({_ACTIVE_SQL})", (before,)
        )
        await self._db.commit()
        return cursor.rowcount

    # -- reads -------------------------------------------------------------

    async def get(self, job_id: int) -> Job | None:
        return await self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))

    async def find_by_request_id(self, request_id: str) -> Job | None:
        return await self._one("SELECT * FROM jobs WHERE request_id = ?", (request_id,))

    async def find_by_status_message(self, message_id: int) -> Job | None:
        return await self._one("SELECT * FROM jobs WHERE status_message_id = ?", (message_id,))

    async def active_jobs(self) -> list[Job]:
        return await self._many(f"SELECT * FROM jobs WHERE {_ACTIVE_SQL} ORDER BY created_at")

    async def list_for_user(
        self,
        user_id: int,
        *,
        statuses: Collection[JobStatus] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Job]:
        where, values = _user_filter(user_id, statuses)
        return await self._many(
            f"SELECT * FROM jobs WHERE {where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (*values, limit, offset),
        )

    async def count_for_user(
        self, user_id: int, *, statuses: Collection[JobStatus] | None = None
    ) -> int:
        where, values = _user_filter(user_id, statuses)
        return await self._scalar(f"SELECT COUNT(*) FROM jobs WHERE {where}", values)

    async def count_active(self, user_id: int | None = None) -> int:
        if user_id is None:
            return await self._scalar(f"SELECT COUNT(*) FROM jobs WHERE {_ACTIVE_SQL}", ())
        return await self.count_for_user(user_id, statuses=ACTIVE_STATUSES)

    async def count_created_since(self, user_id: int, since: float) -> int:
        return await self._scalar(
            "SELECT COUNT(*) FROM jobs WHERE user_id = ? AND created_at >= ?", (user_id, since)
        )

    async def oldest_created_since(self, user_id: int, since: float) -> float | None:
        async with self._db.execute(
            "SELECT MIN(created_at) FROM jobs WHERE user_id = ? AND created_at >= ?",
            (user_id, since),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else float(row[0])

    async def recent_durations(
        self, *, resolution: str, duration: int, limit: int = 50
    ) -> list[float]:
        async with self._db.execute(
            "SELECT finished_at - submitted_at FROM jobs "
            "WHERE status = 'delivered' AND resolution = ? AND duration = ? "
            "AND finished_at IS NOT NULL AND submitted_at IS NOT NULL "
            "ORDER BY finished_at DESC LIMIT ?",
            (resolution, duration, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [float(row[0]) for row in rows]

    async def explain(self, sql: str, params: tuple[Any, ...] = ()) -> list[str]:
        """The query plan, for tests that check an index is used."""
        async with self._db.execute(f"EXPLAIN QUERY PLAN {sql}", params) as cursor:
            return [str(row[3]) for row in await cursor.fetchall()]

    # -- helpers -----------------------------------------------------------

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Job | None:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _from_row(row)

    async def _many(self, sql: str, params: tuple[Any, ...] = ()) -> list[Job]:
        async with self._db.execute(sql, params) as cursor:
            return [_from_row(row) for row in await cursor.fetchall()]

    async def _scalar(self, sql: str, params: tuple[Any, ...]) -> int:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


def _user_filter(
    user_id: int, statuses: Collection[JobStatus] | None
) -> tuple[str, tuple[Any, ...]]:
    if not statuses:
        return "user_id = ?", (user_id,)
    marks = ", ".join("?" for _ in statuses)
    return f"user_id = ? AND status IN ({marks})", (user_id, *(str(s) for s in statuses))


def _assignments(fields: dict[str, Any]) -> tuple[str, list[Any]]:
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise ValueError(f"not job fields: {sorted(unknown)}")
    columns: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "options":
            columns.update(_option_columns(value))
        elif name == "image":
            columns["image_json"] = value.model_dump_json()
        else:
            columns[name] = _to_sql(value)
    # Column names come from the whitelist above, never from input.
    return ", ".join(f"{name} = ?" for name in columns), list(columns.values())


def _option_columns(options: JobOptions) -> dict[str, Any]:
    return {
        "resolution": options.resolution,
        "ratio": options.ratio,
        "duration": options.duration,
        "generate_audio": int(options.generate_audio),
        "camera_fixed": int(options.camera_fixed),
    }


def _to_sql(value: Any) -> Any:
    if isinstance(value, JobStatus):
        return str(value)
    return value


def _to_columns(job: Job) -> dict[str, Any]:
    columns = {name: _to_sql(getattr(job, name)) for name in _PLAIN_FIELDS}
    columns.update(_option_columns(job.options))
    columns["image_json"] = job.image.model_dump_json()
    if job.id is not None:
        columns["id"] = job.id
    return columns


def _from_row(row: aiosqlite.Row) -> Job:
    data = {name: row[name] for name in _PLAIN_FIELDS}
    data["id"] = row["id"]
    data["options"] = JobOptions(
        resolution=row["resolution"],
        ratio=row["ratio"],
        duration=row["duration"],
        generate_audio=bool(row["generate_audio"]),
        camera_fixed=bool(row["camera_fixed"]),
    )
    data["image"] = ImageFacts.model_validate_json(row["image_json"])
    return Job.model_validate(data)
