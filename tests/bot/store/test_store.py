"""JobStore on both backends: a temporary SQLite file, and a PostgreSQL schema.

Tests taking `store` (or `open_store_at`) run once per backend; the PostgreSQL run
is skipped without TEST_DATABASE_URL (and fails under CI). The file, WAL and query
plan tests are SQLite's own.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import aiosqlite
import pytest

from bot.domain import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    ImageFacts,
    Job,
    JobStatus,
    ModelSpend,
    Reach,
    Visibility,
    is_charged,
)
from bot.store import LATEST_MIGRATION, JobStore, NewerDatabase, QuotaLimits, migrations
from bot.store.schema import ACTIVE_SQL, CHARGED_SQL, FINISHED_SQL, SHOWN_SQL
from tests.fakes.schemas import SEEDANCE_15
from tests.models import job_fields, options, seedance
from tests.stores import (
    OpenStore,
    count_created_since,
    find_by_request_id,
    oldest_created_since,
    save_guild_settings,
    schema_version,
    statements_run,
)

IMAGE = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1234)
S = JobStatus


def new_job(user_id: int = 1, created_at: float = 1000.0, **fields: object) -> Job:
    """A seed-model job with its defaults, unless `fields` name other options (job_fields)."""
    values = {**job_fields(), **fields}
    return Job(user_id=user_id, prompt="waves", image=IMAGE, created_at=created_at, **values)


@pytest.fixture
async def store(open_store_at: OpenStore) -> JobStore:
    return await open_store_at()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[JobStore]:
    async with await JobStore.open(tmp_path / "sub" / "bot.db") as opened:
        yield opened


async def store_rows(store: JobStore, sql: str) -> list[tuple[object, ...]]:
    """Raw rows through the store's own connection (columns Job does not carry)."""
    return [tuple(row) for row in await store.db.fetch(sql)]


async def raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    async with aiosqlite.connect(path) as db, db.execute(sql) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


# --- Opening and migrations -------------------------------------------------------------


async def test_migrations_from_empty_and_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "bot.db"  # parent directories are created
    async with await JobStore.open(path) as first:
        assert await schema_version(first) == LATEST_MIGRATION
        await first.create(new_job())
    async with await JobStore.open(path) as again:
        assert await schema_version(again) == LATEST_MIGRATION
        assert await again.count_for_user(1) == 1
    assert await raw(path, "PRAGMA journal_mode") == [("wal",)]
    tables = await raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    assert ("jobs",) in tables


async def test_upgrade_from_version_1_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with aiosqlite.connect(path) as db:
        for statement in migrations.steps("sqlite")[0].statements:
            await db.execute(statement)
        await db.execute("PRAGMA user_version = 1")
        await db.commit()
    async with await JobStore.open(path) as upgraded:
        assert await schema_version(upgraded) == LATEST_MIGRATION
        assert (await upgraded.create(new_job())).id == 1
    for name in ("jobs_by_kind_started", "jobs_by_kind_submitted"):
        [(index_sql,)] = await raw(path, f"SELECT sql FROM sqlite_master WHERE name = '{name}'")
        assert "'completed', 'delivered'" in str(index_sql)


async def test_a_failing_migration_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.db"
    statements = ("CREATE TABLE half_done (id INTEGER PRIMARY KEY)", "NOT SQL AT ALL")
    broken = migrations.Migration(LATEST_MIGRATION + 1, "broken", statements)
    shipped = migrations.steps("sqlite")
    monkeypatch.setattr(migrations, "steps", lambda dialect: (*shipped, broken))
    with pytest.raises(sqlite3.OperationalError):
        await JobStore.open(path)
    # Every real migration committed, the broken one not.
    assert await raw(path, "PRAGMA user_version") == [(LATEST_MIGRATION,)]
    assert await raw(path, "SELECT name FROM sqlite_master WHERE name = 'half_done'") == []


async def test_a_database_newer_than_the_bot_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await JobStore.open(path) as current:
        await current.create(new_job())
    newer = LATEST_MIGRATION + 3
    async with aiosqlite.connect(path) as db:
        await db.execute(f"PRAGMA user_version = {newer}")
        await db.commit()
    with pytest.raises(NewerDatabase) as refused:
        await JobStore.open(path)
    assert f"version {newer}" in refused.value.reason
    assert f"knows up to {LATEST_MIGRATION}" in refused.value.reason
    assert await raw(path, "PRAGMA user_version") == [(newer,)]
    assert await raw(path, "SELECT COUNT(*) FROM jobs") == [(1,)]


async def test_two_processes_opening_a_new_file_together_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    stores = await asyncio.gather(*(JobStore.open(path) for _ in range(4)))
    try:
        assert {await schema_version(s) for s in stores} == {LATEST_MIGRATION}
    finally:
        for opened in stores:
            await opened.close()


async def test_close_is_idempotent(tmp_path: Path) -> None:
    opened = await JobStore.open(tmp_path / "bot.db")
    await opened.close()
    await opened.close()


# --- Round trip and updates ------------------------------------------------------------------


async def test_round_trip_of_every_field(store: JobStore) -> None:
    job = Job(
        user_id=2**63 - 1,  # snowflakes are 64-bit integers
        guild_id=111111111111111111,
        channel_id=222222222222222222,
        status_message_id=333333333333333333,
        request_id="req-1",
        status=S.DELIVERED,
        prompt="a **bold** <@1> prompt\nwith 'quotes'; DROP TABLE jobs; --",
        **job_fields(
            resolution="1080p", ratio="9:16", duration=12, generate_audio=False, camera_fixed=False
        ),
        body=seedance().body(
            "a prompt", "https://cdn.example/input-1.jpeg", options(resolution="1080p")
        ),
        estimate_usd=0.8,
        image=ImageFacts(
            filename="big.jpg",
            format="JPEG",
            width=2560,
            height=1280,
            size_bytes=29_000_000,
            fitted=True,
            original_width=8000,
            original_height=4000,
        ),
        image_url="https://cdn.example/input-1.jpeg",
        queue_position=3,
        error="none",
        video_url="https://cdn.example/v.mp4",
        video_bytes=20_000_000,
        posted_video_bytes=9_000_000,
        extended_at=4.5,
        extends_job_id=7,
        cost=0.25,
        delivered_channel_id=444,
        delivered_message_id=555,
        created_at=1.5,
        submitted_at=2.5,
        started_at=3.5,
        finished_at=4.5,
        delivered_at=5.5,
        locale="fr",
        reach=Reach.TOKEN,
        visibility=Visibility.PRIVATE,
        upload_limit=20 * 1024 * 1024,
        shared_at=6.5,
    )
    # Every field differs from its default, so a column the store forgot would show.
    for name, field in Job.model_fields.items():
        if name != "id":
            assert getattr(job, name) != field.get_default(call_default_factory=True), name
    created = await store.create(job)
    assert created.id is not None
    assert await store.get(created.id) == created
    assert await find_by_request_id(store, "req-1") == created
    assert await store.find_by_status_message(333333333333333333) == created
    assert await store.get(created.id + 1) is None
    assert await find_by_request_id(store, "nope") is None


async def test_update_sets_fields_and_returns_the_job(store: JobStore) -> None:
    job = await store.create(new_job())
    assert job.id is not None
    updated = await store.update(job.id, status=S.IN_QUEUE, queue_position=4, request_id="r")
    assert updated.status is S.IN_QUEUE and updated.queue_position == 4
    assert updated == await store.get(job.id)
    chosen = options(resolution="720p", duration=8)
    image = IMAGE.model_copy(update={"fitted": True})
    body = seedance().body("waves", "https://cdn.example/a.png", chosen)
    updated = await store.update(
        job.id, options=chosen, image=image, body=body, status="in_progress"
    )
    assert updated.options == chosen and updated.image == image and updated.body == body
    assert updated.options["resolution"] == "720p" and updated.options["duration"] == 8
    assert updated.status is S.IN_PROGRESS  # plain strings are validated into JobStatus
    assert await store.update(job.id) == updated


@pytest.mark.parametrize(
    "fields",
    [
        {"status = 'x'; --": 1},
        {"id": 5},
        {"image_json": "{}"},  # a column, but not a Job field
        {"status": "bogus"},
        {"user_id": "not a number"},
        {"options": {"duration": [99]}},  # not a scalar
        {"body": "not an object"},
    ],
)
async def test_update_refuses_unknown_fields_and_bad_values(
    store: JobStore, fields: dict[str, object]
) -> None:
    job = await store.create(new_job())
    assert job.id is not None
    with pytest.raises(ValueError):
        await store.update(job.id, **fields)
    assert await store.get(job.id) == job


async def test_update_of_a_missing_job(store: JobStore) -> None:
    with pytest.raises(LookupError):
        await store.update(42, error="x")


# --- Compare-and-set transitions ------------------------------------------------------


async def test_transition_is_compare_and_set(store: JobStore) -> None:
    job = await store.create(new_job(status=S.COMPLETED))
    assert job.id is not None

    async def deliver(message_id: int) -> Job | None:
        assert job.id is not None
        return await store.transition(
            job.id, from_statuses=[S.COMPLETED], to=S.DELIVERED, delivered_message_id=message_id
        )

    results = await asyncio.gather(deliver(1), deliver(2))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await store.get(job.id) == winners[0]
    # Not in from_statuses: nothing changes.
    assert await store.transition(job.id, from_statuses=[S.IN_QUEUE], to=S.CANCELLED) is None
    assert await store.transition(job.id, from_statuses=[], to=S.CANCELLED) is None
    assert (await store.get(job.id)) == winners[0]


async def test_racing_transitions_from_two_connections(open_store_at: OpenStore) -> None:
    """A cancel and a completion from two processes: exactly one wins, every time."""
    one, two = await open_store_at(), await open_store_at()
    ids = [(await one.create(new_job(status=S.IN_PROGRESS))).id for _ in range(30)]
    for job_id in ids:
        assert job_id is not None
        cancel = one.transition(job_id, from_statuses=[S.IN_QUEUE, S.IN_PROGRESS], to=S.CANCELLED)
        complete = two.transition(
            job_id, from_statuses=[S.IN_PROGRESS], to=S.COMPLETED, finished_at=9.0
        )
        results = await asyncio.gather(cancel, complete)
        [winner] = [r for r in results if r is not None]
        assert await one.get(job_id) == winner


async def test_transition_fields_must_agree_with_to(store: JobStore) -> None:
    job = await store.create(new_job(status=S.IN_QUEUE))
    assert job.id is not None
    moved = await store.transition(
        job.id, from_statuses=[S.IN_QUEUE], to=S.IN_PROGRESS, status=S.IN_PROGRESS
    )
    assert moved is not None and moved.status is S.IN_PROGRESS
    with pytest.raises(ValueError):
        await store.transition(job.id, from_statuses=[S.IN_PROGRESS], to=S.FAILED, status=S.LOST)
    with pytest.raises(ValueError):
        await store.transition(job.id, from_statuses=[S.IN_PROGRESS], to=S.FAILED, nope=1)


# --- Transactions ----------------------------------------------------------------------


async def test_a_failed_transaction_takes_no_other_tasks_write_with_it(store: JobStore) -> None:
    """Other tasks' statements never join a transaction: its rollback leaves them be."""
    job = await store.create(new_job())
    assert job.id is not None
    inside = asyncio.Event()

    async def failing() -> None:
        async with store.db.transaction():
            await store.db.execute("UPDATE jobs SET prompt = 'inside' WHERE id = $1", job.id)
            inside.set()
            await asyncio.sleep(0.05)
            raise RuntimeError("rolled back")

    async def meanwhile() -> None:
        await inside.wait()
        await store.update(job.id or 0, error="outside")

    failed, _ = await asyncio.gather(failing(), meanwhile(), return_exceptions=True)
    assert isinstance(failed, RuntimeError)
    after = await store.get(job.id)
    assert after is not None and (after.prompt, after.error) == ("waves", "outside")


# --- Reads ------------------------------------------------------------------------------------


async def test_list_for_user_is_newest_first_filtered_and_paged(store: JobStore) -> None:
    for i in range(25):
        status = S.DELIVERED if i % 2 else S.FAILED
        await store.create(new_job(user_id=1, created_at=1000 + i, status=status))
    await store.create(new_job(user_id=2, created_at=5000))
    page = await store.list_for_user(1, limit=10)
    assert [j.created_at for j in page] == [1024 - i for i in range(10)]
    second = await store.list_for_user(1, limit=10, offset=10)
    assert [j.created_at for j in second] == [1014 - i for i in range(10)]
    last = await store.list_for_user(1, limit=10, offset=20)
    assert len(last) == 5 and last[-1].created_at == 1000
    delivered = await store.list_for_user(1, statuses=[S.DELIVERED], limit=50)
    assert len(delivered) == 12 and all(j.status is S.DELIVERED for j in delivered)
    assert await store.list_for_user(1, statuses=[]) == []
    assert all(j.user_id == 1 for j in await store.list_for_user(1, limit=100))
    with pytest.raises(ValueError):
        await store.list_for_user(1, limit=-1)


async def test_same_second_jobs_are_ordered_by_id(store: JobStore) -> None:
    ids = [(await store.create(new_job(created_at=7.0))).id for _ in range(3)]
    assert [j.id for j in await store.list_for_user(1)] == ids[::-1]


async def test_active_jobs_are_the_unfinished_ones_oldest_first(store: JobStore) -> None:
    for age, status in enumerate(JobStatus):
        await store.create(new_job(user_id=age, created_at=100.0 - age, status=status))
    active = await store.active_jobs()
    assert {j.status for j in active} == set(ACTIVE_STATUSES)
    assert [j.created_at for j in active] == sorted(j.created_at for j in active)


async def test_counts_and_quota_queries(store: JobStore) -> None:
    now = 1_000_000.0
    for status in JobStatus:
        await store.create(new_job(user_id=1, created_at=now, status=status))
    await store.create(new_job(user_id=1, created_at=now - 86_400, status=S.DELIVERED))
    await store.create(new_job(user_id=2, created_at=now - 90_000, status=S.IN_QUEUE))
    assert await store.count_active(1) == len(ACTIVE_STATUSES)
    assert await store.count_active() == len(ACTIVE_STATUSES) + 1
    assert await store.count_for_user(1) == len(JobStatus) + 1
    assert await store.count_for_user(1, statuses=[S.FAILED, S.LOST]) == 2
    # Only charged jobs count (not the cancelled one, not the one failed before it was sent).
    charged = sum(is_charged(status, None) for status in JobStatus)
    assert charged == len(JobStatus) - 2
    # The window includes its start: the job exactly a day old still counts.
    assert await count_created_since(store, 1, now - 86_400) == charged + 1
    assert await count_created_since(store, 1, now - 86_399) == charged
    assert await count_created_since(store, 2, now - 86_400) == 0
    assert await oldest_created_since(store, 1, now - 86_400) == now - 86_400
    assert await oldest_created_since(store, 3, 0) is None
    usage = await store.quota_usage(1, since=now - 86_399)
    assert (usage.user_active, usage.user_since, usage.oldest_since, usage.all_active) == (
        len(ACTIVE_STATUSES),
        charged,
        now,
        len(ACTIVE_STATUSES) + 1,
    )
    assert (await store.quota_usage(3, since=0)).oldest_since is None


async def test_a_job_is_created_only_within_its_quotas(store: JobStore) -> None:
    now = 1_000_000.0
    limits = QuotaLimits(user_concurrent=2, user_daily=3, global_concurrent=4, since=now - 10)

    async def create(user_id: int, status: JobStatus = S.SUBMITTING) -> Job | None:
        return await store.create_within(new_job(user_id, created_at=now, status=status), limits)

    first, second = await create(1), await create(1)
    assert first is not None and second is not None and first.id != second.id
    assert await store.get(first.id or 0) is not None
    assert await create(1) is None  # two running: the user's concurrency
    assert await store.count_for_user(1) == 2  # and nothing written
    await store.update(first.id or 0, status=S.DELIVERED)
    third = await create(1)
    assert third is not None
    await store.update(third.id or 0, status=S.CANCELLED)  # a cancel is not charged
    await store.update(second.id or 0, status=S.DELIVERED)
    assert await create(1) is not None  # the third charged job of the day
    assert await create(1) is None  # a fourth: the daily quota, with one slot running free
    assert await create(2) is not None and await create(3) is not None
    assert await store.count_active() == 3
    assert await create(4) is not None  # the fourth running job of all
    assert await create(5) is None  # everybody's concurrency
    assert await store.count_for_user(5) == 0


async def test_recent_durations_of_one_kind(store: JobStore) -> None:
    kind = job_fields(resolution="720p", duration=5, generate_audio=True)

    async def finished(status: JobStatus, took: float, at: float, **other: object) -> None:
        await store.create(
            new_job(status=status, submitted_at=at - took, finished_at=at, **other)  # type: ignore[arg-type]
        )

    await finished(S.DELIVERED, 30, at=100, **kind, started_at=80)
    await finished(S.COMPLETED, 31, at=300, **kind)  # done, not delivered: counts
    await finished(S.DELIVERED, 32, at=200, **kind, started_at=190)
    await finished(S.FAILED, 400, at=500, **kind)
    await finished(S.DELIVERED, 99, at=600, **job_fields(resolution="720p", duration=6))
    await finished(S.DELIVERED, 98, at=700, **job_fields(resolution="1080p", duration=5))
    silent = job_fields(resolution="720p", duration=5, generate_audio=False)
    await finished(S.DELIVERED, 15, at=750, **silent)  # another kind: no audio
    await store.create(new_job(status=S.DELIVERED, **kind, finished_at=800.0))  # no submit
    eta = kind["kind"]
    assert await store.recent_durations(kind=eta) == [31, 32, 30]
    assert await store.recent_durations(kind=eta, limit=2) == [31, 32]
    # From the first `in_progress` seen: only jobs that were seen rendering.
    assert await store.recent_durations(kind=eta, from_start=True) == [10, 20]
    assert await store.recent_durations(kind=silent["kind"]) == [15]
    unseen = job_fields(resolution="480p", duration=5, generate_audio=True)["kind"]
    assert await store.recent_durations(kind=unseen) == []


async def test_recent_durations_leave_out_a_cohort_still_running(store: JobStore) -> None:
    # 1,000 jobs sent at once: their short renders finish first. A sample of the
    # latest finished ones would say renders are short while the long ones still
    # run; only jobs started before the oldest one still running form a whole cohort.
    kind = job_fields(resolution="720p", duration=5, generate_audio=True)
    eta = kind["kind"]
    for started, took in ((100.0, 60.0), (110.0, 70.0)):  # yesterday's, all finished
        await store.create(
            new_job(
                status=S.DELIVERED,
                **kind,
                submitted_at=started - 10,
                started_at=started,
                finished_at=started + took,
            )
        )
    for took in (20.0, 21.0, 22.0):  # today's burst: the short ones are done...
        await store.create(
            new_job(
                status=S.DELIVERED,
                **kind,
                submitted_at=990.0,
                started_at=1000.0,
                finished_at=1000.0 + took,
            )
        )
    # ...and the long ones still render (another kind's running job does not matter).
    await store.create(new_job(status=S.IN_PROGRESS, **kind, submitted_at=990.0, started_at=1000.0))
    await store.create(new_job(status=S.IN_PROGRESS, submitted_at=5.0, started_at=6.0))
    assert sorted(await store.recent_durations(kind=eta, from_start=True)) == [60, 70]
    assert sorted(await store.recent_durations(kind=eta)) == [70, 80]
    # Once the cohort is done, all of it counts.
    await store.create(
        new_job(
            status=S.DELIVERED,
            **kind,
            submitted_at=990.0,
            started_at=1000.0,
            finished_at=1090.0,
        )
    )
    for job in await store.active_jobs():
        if job.kind == eta and job.id is not None:
            await store.transition(job.id, from_statuses=[S.IN_PROGRESS], to=S.FAILED)
    assert sorted(await store.recent_durations(kind=eta, from_start=True)) == [
        20,
        21,
        22,
        60,
        70,
        90,
    ]


async def test_deletes_touch_only_their_rows(store: JobStore) -> None:
    old_final = await store.create(
        new_job(user_id=1, status=S.DELIVERED, created_at=5, delivered_at=10)
    )
    await store.create(new_job(user_id=1, status=S.IN_QUEUE, created_at=10))  # active: stays
    await store.create(new_job(user_id=2, status=S.FAILED, created_at=10, finished_at=20))
    # Created long ago, but delivered recently: not "finished before".
    await store.create(new_job(user_id=2, status=S.DELIVERED, created_at=10, delivered_at=500))
    assert await store.purge_finished_before(100) == 2
    assert old_final.id is not None and await store.get(old_final.id) is None
    assert await store.count_for_user(1) == 1 and await store.count_for_user(2) == 1
    # Delivered "before" it was created (a clock step back): not purged, since a
    # purge must never free a daily slot of a job created inside the window.
    await store.create(new_job(user_id=3, status=S.DELIVERED, created_at=500, delivered_at=50))
    assert await store.purge_finished_before(100) == 0


# --- Indexes ----------------------------------------------------------------------------------


async def plans_of(store: JobStore, call: Awaitable[object]) -> list[tuple[str, str]]:
    """The query plan of every statement `call` really runs."""
    async with statements_run(store) as statements:
        await call
    return [(sql, " | ".join(await store.db.explain(sql))) for sql in statements]


async def test_hot_queries_use_indexes_not_scans(sqlite_store: JobStore) -> None:
    store = sqlite_store
    for i in range(20):
        await store.create(
            new_job(user_id=i % 3, created_at=float(i), status=list(JobStatus)[i % 9])
        )
    job = await store.create(new_job(status_message_id=77, request_id="r-77"))
    assert job.id is not None
    calls: dict[str, Awaitable[object]] = {
        "history": store.list_for_user(1, limit=10, offset=10),
        "history by status": store.list_for_user(1, statuses=[S.DELIVERED, S.FAILED]),
        "active": store.active_jobs(),
        "count active": store.count_active(),
        "count active of a user": store.count_active(1),
        "count for user": store.count_for_user(1),
        "daily quota": count_created_since(store, 1, 5.0),
        "quota frees up": oldest_created_since(store, 1, 5.0),
        "quota in one query": store.quota_usage(1, since=5.0),
        "admission in one statement": store.create_within(
            new_job(created_at=60.0),
            QuotaLimits(user_concurrent=5, user_daily=20, global_concurrent=50, since=5.0),
        ),
        "eta": store.recent_durations(kind=job_fields(generate_audio=True)["kind"]),
        "render times": store.recent_durations(
            kind=job_fields(generate_audio=False)["kind"], from_start=True
        ),
        "learned prices": store.recent_costs(job_fields()["kind"], limit=10),
        "operator's daily spend": store.spend_since(5.0),
        "get": store.get(job.id),
        "by request": find_by_request_id(store, "r-77"),
        "by status message": store.find_by_status_message(77),
        "transition": store.transition(job.id, from_statuses=[S.SUBMITTING], to=S.IN_QUEUE),
        "update": store.update(job.id, queue_position=2),
        "clear for user": store.clear_for_user(2, now=50.0),
        "count clearable": store.count_clearable(2),
        "get shown": store.get_shown(job.id),
    }
    for name, call in calls.items():
        plans = await plans_of(store, call)
        assert plans, name
        for sql, plan in plans:
            context = (name, sql, plan)
            # "SCAN jobs" alone is a full table scan; a temp B-tree is a sort.
            assert re.search(r"(SEARCH|SCAN) jobs USING|INTEGER PRIMARY KEY", plan), context
            assert not re.search(r"SCAN jobs($| \|)", plan), context
            assert "TEMP B-TREE" not in plan, context


def index_sql(dialect: str, name: str) -> str:
    """The statement creating index `name` (its last version), whitespace folded."""
    made = [
        sql
        for step in migrations.steps(dialect)
        for sql in step.statements
        if f"INDEX {name} ON" in " ".join(sql.split())
    ]
    assert made, (dialect, name)
    return " ".join(made[-1].split())


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_active_predicate_matches_the_models(dialect: str) -> None:
    """The partial index's WHERE is frozen in migration 1; FINAL_STATUSES must agree."""
    assert set(re.findall(r"'(\w+)'", ACTIVE_SQL)) == {str(s) for s in FINAL_STATUSES}
    assert ACTIVE_SQL in index_sql(dialect, "jobs_active")
    assert ACTIVE_SQL in index_sql(dialect, "jobs_active_by_user")


async def test_clear_hides_and_scrubs_finished_rows_and_keeps_what_quotas_count(
    store: JobStore,
) -> None:
    now = 1_000_000.0
    for status in JobStatus:
        await store.create(
            new_job(
                user_id=1,
                created_at=now,
                status=status,
                request_id=f"r-{status}",
                image_url="https://cdn.example/in.png",
                video_url="https://cdn.example/v.mp4",
                error="private detail",
                cost=0.12,
                estimate_usd=0.2,
                guild_id=9,
                body=seedance().body("waves", "https://cdn.example/in.png", options()),
            )
        )
    other = await store.create(new_job(user_id=2, created_at=now, status=S.DELIVERED))
    before = await store.quota_usage(1, since=now - 10)
    assert await store.count_clearable(1) == len(FINAL_STATUSES)

    assert await store.clear_for_user(1, now=now + 5) == len(FINAL_STATUSES)
    assert await store.quota_usage(1, since=now - 10) == before
    assert await store.count_clearable(1) == 0
    assert await store.clear_for_user(1, now=now + 6) == 0  # nothing left to clear
    shown = await store.list_for_user(1, limit=50)
    assert {j.status for j in shown} == set(ACTIVE_STATUSES)
    assert await store.count_for_user(1) == len(ACTIVE_STATUSES)
    assert all(j.prompt == "waves" and j.video_url for j in shown)  # active: untouched
    rows = await store_rows(
        store,
        "SELECT status, prompt, image_json, image_url, video_url, error, cost, guild_id, "
        "request_id, created_at, cleared_at, body_json, model_id, options_json, estimate_usd "
        "FROM jobs WHERE user_id = 1",
    )
    for (
        status,
        prompt,
        image,
        image_url,
        video_url,
        error,
        cost,
        guild,
        rid,
        created,
        cleared,
        body,
        model_id,
        options_json,
        estimate,
    ) in rows:
        # What spend reports and the kind of a job need stays, cleared or not.
        assert (model_id, json.loads(str(options_json)), estimate) == (SEEDANCE_15, options(), 0.2)
        if JobStatus(status).is_final:
            # The body sent holds the prompt and the image's URL: it goes too.
            assert (prompt, image_url, video_url, error, body) == ("", None, None, None, None)
            assert "a.png" not in str(image) and "800" not in str(image)
            assert (cost, guild, rid, created, cleared) == (0.12, 9, f"r-{status}", now, now + 5)
            job = await find_by_request_id(store, rid)
            assert job is not None and job.id is not None
            assert await store.get_shown(job.id) is None
        else:
            assert cleared is None and prompt == "waves" and "waves" in str(body)
    assert other.id is not None and await store.get_shown(other.id) is not None


def test_charged_predicate_matches_the_model_and_its_index() -> None:
    """`CHARGED_SQL` is `is_charged` in SQL, and the `jobs_charged` index's WHERE."""
    with sqlite3.connect(":memory:") as db:
        for status in JobStatus:
            for request_id in (None, "r-1"):
                (got,) = db.execute(
                    f"SELECT {CHARGED_SQL} FROM (SELECT ? AS status, ? AS request_id)",
                    (str(status), request_id),
                ).fetchone()
                assert bool(got) is is_charged(status, request_id), (status, request_id)
    for dialect in ("sqlite", "postgres"):
        assert CHARGED_SQL in index_sql(dialect, "jobs_charged")
        assert SHOWN_SQL in index_sql(dialect, "jobs_history")
        for kind in ("jobs_by_kind_started", "jobs_by_kind_submitted"):
            assert FINISHED_SQL in index_sql(dialect, kind)


async def test_a_jobs_locale_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await JobStore.open(path) as store:
        created = await store.create(new_job().model_copy(update={"locale": "fr"}))
    assert created.id is not None
    async with await JobStore.open(path) as again:
        reread = await again.get(created.id)
    assert reread is not None and reread.locale == "fr"


# --- Guild settings and usage (/admin) ----------------------------------------------------


async def test_guild_settings_round_trip_and_usage(open_store_at: OpenStore) -> None:
    from bot.domain import GuildSettings

    store = await open_store_at()
    assert await store.guild_settings(5) == GuildSettings(guild_id=5)
    saved = GuildSettings(
        guild_id=5,
        paused=True,
        pause_reason="maintenance",
        allowed_channel_ids=(2**62, 7),
        user_concurrent=1,
        user_daily=3,
        daily_spend_cap_usd=2.5,
        default_model_id=SEEDANCE_15,
        allowed_model_ids=(SEEDANCE_15, "vendor/other/image-to-video"),
        language="fr",
        updated_by=2**63 - 1,
        updated_at=12.5,
    )
    await save_guild_settings(store, saved)
    assert await store.guild_settings(5) == saved
    # Read back from the database, not from the store's memory.
    assert await (await open_store_at()).guild_settings(5) == saved
    await save_guild_settings(store, saved.model_copy(update={"paused": False}))
    assert (await store.guild_settings(5)).paused is False
    now = 1000.0
    # Each at its estimate when admitted; the delivered one's known cost replaces it.
    for status, cost, estimate in (
        (S.DELIVERED, 0.5, 0.4),
        (S.FAILED, None, 0.3),  # refused at submit (no request id): never charged
        (S.IN_QUEUE, None, 0.24),
    ):
        await store.create(
            new_job(
                user_id=1,
                guild_id=5,
                created_at=now,
                status=status,
                cost=cost,
                estimate_usd=estimate,
            )
        )
    await store.create(
        new_job(user_id=2, guild_id=5, created_at=now, status=S.CANCELLED, estimate_usd=0.24)
    )
    await store.create(new_job(user_id=1, guild_id=6, created_at=now, status=S.DELIVERED, cost=9.0))
    usage = await store.guild_usage(5, 1, since=now - 1)
    # The member's day counts charged jobs: the delivered and the queued one.
    assert (usage.user_active, usage.user_since, usage.oldest_since) == (1, 2, now)
    # Known cost plus the estimates of charged jobs without one; other servers' apart.
    assert usage.committed_usd == pytest.approx(0.5 + 0.24)
    assert await store.spend_since(now - 1) == pytest.approx(0.5 + 0.24 + 9.0)
    assert await store.spend_since(now + 1) == 0.0
    report = await store.usage_report(5, since=now - 1)
    assert (report.jobs, report.delivered, report.failed, report.cancelled, report.active) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert report.spend_usd == 0.5 and [u.user_id for u in report.top_users] == [1, 2]
    assert report.by_model == [
        ModelSpend(model_id=SEEDANCE_15, jobs=4, spend_usd=0.5, estimated_usd=0.24)
    ]
    assert await store.count_active_by_status() == {"in_queue": 1}


# --- PostgreSQL's own ---------------------------------------------------------------------


def test_both_dialects_have_the_same_migrations() -> None:
    """A migration added to one dialect only fails here: same numbers and names on both."""
    sqlite, postgres = migrations.steps("sqlite"), migrations.steps("postgres")
    assert [(s.number, s.name) for s in sqlite] == [(s.number, s.name) for s in postgres]
    assert len(sqlite) == LATEST_MIGRATION
    assert all(step.statements for step in (*sqlite, *postgres))


def test_migration_files_split_into_their_statements() -> None:
    text = "-- why; in a comment\nCREATE TABLE a (x TEXT);\n\n-- and\nCREATE INDEX i\n  ON a (x);\n"
    assert migrations.statements(text) == ("CREATE TABLE a (x TEXT)", "CREATE INDEX i\n  ON a (x)")


async def test_postgres_migrates_once_when_processes_start_together(pg_url: str) -> None:
    stores = await asyncio.gather(*(JobStore.open(pg_url, max_size=2) for _ in range(4)))
    try:
        assert {await schema_version(s) for s in stores} == {LATEST_MIGRATION}
        job = await stores[0].create(new_job())
        assert job.id is not None and await stores[3].get(job.id) == job
    finally:
        for opened in stores:
            await opened.close()
    async with await JobStore.open(pg_url) as again:
        assert await schema_version(again) == LATEST_MIGRATION
        assert await again.count_for_user(1) == 1


async def test_state_is_kept_per_key_and_replaced(open_store_at: OpenStore) -> None:
    store = await open_store_at()
    assert await store.state("commands") is None
    await store.set_state("commands", "abc", now=1.0)
    await store.set_state("model:x", '{"a": 1}', now=2.0)
    await store.set_state("commands", "def", now=3.0)
    assert await store.state("commands") == "def"
    assert await store.state("model:x") == '{"a": 1}'
