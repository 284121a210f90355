"""What the store tests share: a job to save, raw rows, and the query plans a call runs."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import aiosqlite

from bot.domain import ImageFacts, Job, JobStatus
from bot.store import JobStore
from tests.models import job_fields
from tests.stores import statements_run

IMAGE = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1234)


S = JobStatus


def new_job(user_id: int = 1, created_at: float = 1000.0, **fields: object) -> Job:
    """A seed-model job with its defaults, unless `fields` name other options (job_fields)."""
    values = {**job_fields(), **fields}
    return Job(user_id=user_id, prompt="waves", image=IMAGE, created_at=created_at, **values)


async def store_rows(store: JobStore, sql: str) -> list[tuple[object, ...]]:
    """Raw rows through the store's own connection (columns Job does not carry)."""
    return [tuple(row) for row in await store.db.fetch(sql)]


async def raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    async with aiosqlite.connect(path) as db, db.execute(sql) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def plans_of(store: JobStore, call: Awaitable[object]) -> list[tuple[str, str]]:
    """The query plan of every statement `call` really runs."""
    async with statements_run(store) as statements:
        await call
    return [(sql, " | ".join(await store.db.explain(sql))) for sql in statements]
