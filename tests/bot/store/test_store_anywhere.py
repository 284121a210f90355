"""What the store keeps for jobs started anywhere: users' own settings, Post to channel's
claim, and a server's counts left to what its own install started. Both backends."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain import ImageFacts, Job, JobStatus, Reach, UserSettings, Visibility
from bot.store import JobStore
from tests.models import job_fields
from tests.stores import OpenStore

IMAGE = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1234)


def new_job(**fields: object) -> Job:
    values: dict[str, object] = {"user_id": 1, "created_at": 1000.0, **job_fields(), **fields}
    return Job(prompt="waves", image=IMAGE, **values)  # type: ignore[arg-type]


@pytest.fixture
async def store(open_store_at: OpenStore) -> JobStore:
    return await open_store_at()


async def test_a_users_settings_default_then_change(store: JobStore) -> None:
    assert await store.user_settings(7) == UserSettings(user_id=7, private=False)
    await store.change_user_settings(7, private=True, at=1.0)
    assert await store.user_settings(7) == UserSettings(user_id=7, private=True)
    await store.change_user_settings(7, private=False, at=2.0)
    assert (await store.user_settings(7)).private is False
    assert (await store.user_settings(8)).private is False  # another user's untouched


async def test_post_to_channel_is_claimed_once_and_only_when_delivered(store: JobStore) -> None:
    queued = await store.create(new_job(status=JobStatus.IN_QUEUE, visibility=Visibility.PRIVATE))
    assert queued.id is not None
    assert not await store.claim_share(queued.id, 5.0)
    job = await store.create(new_job(status=JobStatus.DELIVERED, visibility=Visibility.PRIVATE))
    assert job.id is not None
    claims = await asyncio.gather(*(store.claim_share(job.id, 5.0) for _ in range(4)))
    assert sorted(claims) == [False, False, False, True]
    assert (await store.get(job.id)).shared_at == 5.0  # type: ignore[union-attr]
    await store.release_share(job.id)  # the post failed: it may be pressed again
    assert await store.claim_share(job.id, 6.0)


async def test_an_extend_claim_whose_start_was_cut_is_taken_over_once_stale(
    store: JobStore,
) -> None:
    source = await store.create(new_job(status=JobStatus.DELIVERED))
    assert source.id is not None
    claims = await asyncio.gather(
        *(store.claim_extend(source.id, 10.0, stale_before=0.0) for _ in range(4))
    )
    assert sorted(claims) == [False, False, False, True]
    # Still starting (claimed after `stale_before`): held.
    assert not await store.claim_extend(source.id, 20.0, stale_before=5.0)
    # No extension ever got a row (a crash cut it): taken over once stale, by one press.
    claims = await asyncio.gather(
        *(store.claim_extend(source.id, 30.0, stale_before=15.0) for _ in range(3))
    )
    assert sorted(claims) == [False, False, True]
    # Its extension exists: extended for good, however old the claim.
    await store.create(
        new_job(status=JobStatus.DELIVERED, extends_job_id=source.id, created_at=31.0)
    )
    assert not await store.claim_extend(source.id, 99.0, stale_before=98.0)
    assert await store.release_cut_extends(before=99.0) == 0


async def test_extend_claims_cut_before_a_start_are_released_then(store: JobStore) -> None:
    cut = await store.create(new_job(status=JobStatus.DELIVERED))
    extended = await store.create(new_job(status=JobStatus.DELIVERED))
    fresh = await store.create(new_job(status=JobStatus.DELIVERED))
    assert cut.id and extended.id and fresh.id
    for job in (cut, extended):
        assert await store.claim_extend(job.id, 10.0, stale_before=0.0)  # type: ignore[arg-type]
    await store.create(
        new_job(status=JobStatus.IN_QUEUE, extends_job_id=extended.id, created_at=11.0)
    )
    assert await store.claim_extend(fresh.id, 50.0, stale_before=0.0)
    assert await store.release_cut_extends(before=40.0) == 1
    assert (await store.get(cut.id)).extended_at is None  # type: ignore[union-attr]
    assert (await store.get(extended.id)).extended_at == 10.0  # type: ignore[union-attr]
    assert (await store.get(fresh.id)).extended_at == 50.0  # type: ignore[union-attr]


async def test_a_servers_counts_leave_out_its_members_own_installs(store: JobStore) -> None:
    for reach, cost in ((Reach.CHANNEL, 0.5), (Reach.TOKEN, 3.0)):
        await store.create(new_job(guild_id=5, status=JobStatus.DELIVERED, cost=cost, reach=reach))
    usage = await store.guild_usage(5, 1, since=0.0)
    assert (usage.user_since, usage.committed_usd) == (1, pytest.approx(0.5))
    report = await store.usage_report(5, since=0.0)
    assert (report.jobs, report.spend_usd) == (1, 0.5)
    # The operator's budget counts every job, wherever it was started.
    assert await store.spend_since(0.0) == pytest.approx(3.5)
