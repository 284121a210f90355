"""JobStore on a temporary SQLite file."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.models import ACTIVE_STATUSES, ImageFacts, Job, JobOptions, JobStatus
from bot.store import MIGRATIONS, JobStore

IMAGE = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1234)


def new_job(user_id: int = 1, created_at: float = 1000.0, **fields: object) -> Job:
    return Job(user_id=user_id, prompt="waves", image=IMAGE, created_at=created_at, **fields)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    async with await JobStore.open(tmp_path / "sub" / "bot.db") as opened:
        yield opened


async def test_migrations_from_empty_and_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await JobStore.open(path) as first:
        assert await first.schema_version() == len(MIGRATIONS)
        await first.create(new_job())
    async with await JobStore.open(path) as again:
        assert await again.schema_version() == len(MIGRATIONS)
        assert await again.count_for_user(1) == 1
    async with aiosqlite.connect(path) as raw, raw.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"  # type: ignore[index]


async def test_round_trip_of_every_field(store: JobStore) -> None:
    job = Job(
        user_id=2**63 - 1,  # snowflakes are 64-bit integers
        guild_id=111111111111111111,
        channel_id=222222222222222222,
        status_message_id=333333333333333333,
        request_id="req-1",
        status=JobStatus.DELIVERED,
        prompt="a **bold** <@1> prompt\nwith lines",
        options=JobOptions(
            resolution="1080p", ratio="9:16", duration=12, generate_audio=False, camera_fixed=False
        ),
        image=ImageFacts(
            filename="big.jpg",
            format="JPEG",
            width=5999,
            height=3000,
            size_bytes=29_000_000,
            fitted=True,
            original_width=8000,
            original_height=4001,
        ),
        image_url="https://cdn.example/input-1.jpeg",
        queue_position=3,
        error="none",
        video_url="https://cdn.example/v.mp4",
        cost=0.25,
        delivered_channel_id=444,
        delivered_message_id=555,
        created_at=1.5,
        submitted_at=2.5,
        started_at=3.5,
        finished_at=4.5,
        delivered_at=5.5,
    )
    created = await store.create(job)
    assert created.id is not None
    assert await store.get(created.id) == created
    assert await store.find_by_request_id("req-1") == created
    assert await store.find_by_status_message(333333333333333333) == created


async def test_update_accepts_only_job_fields(store: JobStore) -> None:
    job = await store.create(new_job())
    assert job.id is not None
    updated = await store.update(job.id, status=JobStatus.IN_QUEUE, queue_position=4)
    assert updated.status is JobStatus.IN_QUEUE and updated.queue_position == 4
    with pytest.raises(ValueError, match="not job fields"):
        await store.update(job.id, **{"status = 'x'; --": 1})


async def test_list_for_user_is_newest_first_filtered_and_paged(store: JobStore) -> None:
    for i in range(25):
        status = JobStatus.DELIVERED if i % 2 else JobStatus.FAILED
        await store.create(new_job(user_id=1, created_at=1000 + i, status=status))
    await store.create(new_job(user_id=2, created_at=5000))
    page = await store.list_for_user(1, limit=10)
    assert [j.created_at for j in page] == [1024 - i for i in range(10)]
    last = await store.list_for_user(1, limit=10, offset=20)
    assert len(last) == 5 and last[-1].created_at == 1000
    delivered = await store.list_for_user(1, statuses=[JobStatus.DELIVERED], limit=50)
    assert len(delivered) == 12 and all(j.status is JobStatus.DELIVERED for j in delivered)
    assert await store.count_for_user(1) == 25
    assert await store.count_for_user(1, statuses=[JobStatus.FAILED]) == 13
    assert all(j.user_id == 1 for j in await store.list_for_user(1, limit=100))


async def test_active_jobs_counts_and_quota_queries(store: JobStore) -> None:
    now = time.time()
    for status in JobStatus:
        await store.create(new_job(user_id=1, created_at=now, status=status))
    await store.create(new_job(user_id=2, created_at=now - 90_000, status=JobStatus.IN_QUEUE))
    active = await store.active_jobs()
    assert {j.status for j in active} == set(ACTIVE_STATUSES)
    assert await store.count_active(1) == len(ACTIVE_STATUSES)
    assert await store.count_active() == len(ACTIVE_STATUSES) + 1
    assert await store.count_created_since(2, now - 86_400) == 0
    assert await store.count_created_since(1, now - 86_400) == len(JobStatus)
    assert await store.oldest_created_since(1, now - 86_400) == pytest.approx(now)
    assert await store.oldest_created_since(3, 0) is None


async def test_transition_is_compare_and_set(store: JobStore) -> None:
    job = await store.create(new_job(status=JobStatus.COMPLETED))
    assert job.id is not None

    async def deliver(message_id: int) -> Job | None:
        return await store.transition(
            job.id,  # type: ignore[arg-type]
            from_statuses=[JobStatus.COMPLETED],
            to=JobStatus.DELIVERED,
            delivered_message_id=message_id,
        )

    results = await asyncio.gather(deliver(1), deliver(2))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    final = await store.get(job.id)
    assert final is not None and final.delivered_message_id == winners[0].delivered_message_id


async def test_recent_durations_of_one_kind(store: JobStore) -> None:
    opts = JobOptions(resolution="720p", duration=5)
    for i in range(3):
        await store.create(
            new_job(
                status=JobStatus.DELIVERED,
                options=opts,
                submitted_at=100.0,
                finished_at=100.0 + 30 + i,
            )
        )
    await store.create(
        new_job(status=JobStatus.FAILED, options=opts, submitted_at=1.0, finished_at=500.0)
    )
    durations = await store.recent_durations(resolution="720p", duration=5)
    assert sorted(durations) == [30, 31, 32]
    assert await store.recent_durations(resolution="1080p", duration=5) == []


async def test_deletes_touch_only_their_rows(store: JobStore) -> None:
    await store.create(new_job(user_id=1, status=JobStatus.DELIVERED, created_at=10))
    await store.create(new_job(user_id=1, status=JobStatus.IN_QUEUE, created_at=10))
    await store.create(new_job(user_id=2, status=JobStatus.DELIVERED, created_at=10))
    await store.create(new_job(user_id=2, status=JobStatus.DELIVERED, created_at=5000))
    assert await store.purge_finished_before(100) == 2  # active jobs are never purged
    assert await store.count_for_user(1) == 1
    assert await store.delete_for_user(1) == 1
    assert await store.count_for_user(1) == 0
    assert await store.count_for_user(2) == 1


async def test_hot_queries_use_indexes(store: JobStore) -> None:
    plans = {
        "history": await store.explain(
            "SELECT * FROM jobs WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 10",
            (1,),
        ),
        "active": await store.explain(
            "SELECT * FROM jobs WHERE status NOT IN "
            "('delivered', 'cancelled', 'failed', 'timed_out', 'lost') ORDER BY created_at"
        ),
        "reaction": await store.explain("SELECT * FROM jobs WHERE status_message_id = ?", (1,)),
    }
    for name, plan in plans.items():
        text = " ".join(plan)
        assert "USING INDEX" in text, (name, plan)
        assert "TEMP B-TREE" not in text, (name, plan)
