"""Rows written before jobs named their model (migration 12) become Seedance 1.5 pro jobs
with their five options, on both backends: the same options, kind and price history as
a job the bot makes today, so their ETA samples and learned costs still count."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from bot.domain import JobStatus
from bot.pricing import LEARNED_AFTER, Pricing
from bot.store import JobStore, migrations
from tests.fakes.schemas import SEEDANCE_15
from tests.models import options, seedance
from tests.stores import temp_schema

BEFORE_MODELS = 11  # the last migration whose jobs table had the five option columns
IMAGE = '{"filename": "a.png", "format": "PNG", "width": 800, "height": 600, "size_bytes": 1}'
# (resolution, ratio, duration, generate_audio, camera_fixed, status, cost)
OLD_ROWS = [
    ("1080p", "9:16", 12, 0, 1, "delivered", 0.9),
    ("1080p", "9:16", 12, 0, 1, "delivered", 1.1),
    ("1080p", "9:16", 12, 0, 1, "delivered", 1.0),
    ("480p", "adaptive", 5, 1, 0, "in_queue", None),
]
INSERT = (
    "INSERT INTO jobs (user_id, status, prompt, resolution, ratio, duration, generate_audio, "
    "camera_fixed, image_json, created_at, finished_at, cost) "
    "VALUES (7, $1, 'old', $2, $3, $4, $5, $6, $7, 1000.0, 1060.0, $8)"
)


def values(row: tuple[object, ...]) -> tuple[object, ...]:
    resolution, ratio, duration, audio, camera, status, cost = row
    return (status, resolution, ratio, duration, audio, camera, IMAGE, cost)


async def old_sqlite(path: Path) -> None:
    async with aiosqlite.connect(path) as db:
        for step in migrations.steps("sqlite")[:BEFORE_MODELS]:
            for statement in step.statements:
                await db.execute(statement)
        await db.execute(f"PRAGMA user_version = {BEFORE_MODELS}")
        sql = INSERT
        for n in range(8, 0, -1):
            sql = sql.replace(f"${n}", "?")
        for row in OLD_ROWS:
            await db.execute(sql, values(row))
        await db.commit()


async def old_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for step in migrations.steps("postgres")[:BEFORE_MODELS]:
            for statement in step.statements:
                await conn.execute(statement)
        await conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        await conn.execute(f"INSERT INTO schema_version VALUES ({BEFORE_MODELS})")
        for row in OLD_ROWS:
            await conn.execute(INSERT, *values(row))
    finally:
        await conn.close()


async def check_upgraded(store: JobStore) -> None:
    jobs = sorted(await store.list_for_user(7, limit=10), key=lambda j: j.id or 0)
    assert [j.model_id for j in jobs] == [SEEDANCE_15] * len(OLD_ROWS)
    delivered, queued = jobs[0], jobs[-1]
    top = options(resolution="1080p", ratio="9:16", duration=12, audio=False, camera_fixed=True)
    assert delivered.options == top
    assert list(delivered.options) == list(top)  # the schema's order
    assert [type(v) for v in delivered.options.values()] == [type(v) for v in top.values()]
    assert delivered.kind == seedance().kind(top)
    first = options(resolution="480p", ratio="adaptive", duration=5, audio=True, camera_fixed=False)
    assert queued.options == first and queued.kind == seedance().kind(first)
    assert queued.status is JobStatus.IN_QUEUE
    # Their delivered costs are the kind's history: the estimate learns from them.
    assert len(OLD_ROWS) - 1 >= LEARNED_AFTER
    assert await Pricing(store).estimate(seedance(), top) == 1.1


async def test_old_rows_become_seedance_jobs_with_their_options_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await old_sqlite(path)
    async with await JobStore.open(path) as store:
        await check_upgraded(store)


async def test_old_rows_become_seedance_jobs_with_their_options_on_postgres() -> None:
    async with temp_schema() as url:
        await old_postgres(url)
        store = await JobStore.open(url, max_size=2)
        try:
            await check_upgraded(store)
        finally:
            await store.close()
