"""Reading jobs back: a user's list, the active ones, counts and quotas, recent durations."""

from __future__ import annotations

import pytest

from bot.domain import ACTIVE_STATUSES, Job, JobStatus, is_charged
from bot.store import JobStore, QuotaLimits
from tests.bot.store.helpers import S, new_job
from tests.models import job_fields
from tests.stores import count_created_since, oldest_created_since


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
