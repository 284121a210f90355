"""Leases on both backends: two stores on one database, two owner ids, one clock we set.

Each store stands for a bot process; `now` is passed explicitly, so expiry is exact.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.domain import GuildSettings, Job, JobStatus
from bot.jobs import JobService
from bot.models.registry import Models
from bot.quotas import QuotaExceeded
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore, lease_hold, open_store
from bot.store.postgres import PostgresDatabase
from tests.bot.jobs.harness import IMAGE, make_settings
from tests.bot.store.helpers import new_job
from tests.fakes.runcomfy import FakeRunComfy
from tests.models import options, seedance
from tests.stores import OpenStore, save_guild_settings

S = JobStatus
HOLD = 20.0  # lease_hold(30): what LEASE_SECONDS=30 gives


def test_a_lease_is_two_thirds_of_the_period() -> None:
    # Renewed every third, it lapses at most 2/3 after death, and is taken as it lapses.
    assert lease_hold(30) == HOLD


async def test_a_new_row_is_leased_to_its_creator(open_store_at: OpenStore) -> None:
    a = await open_store_at(owner="proc-a", lease_hold=HOLD)
    b = await open_store_at(owner="proc-b", lease_hold=HOLD)
    job = await a.create(new_job(created_at=100.0, status=S.SUBMITTING))
    assert job.id is not None
    assert await a.lease_of(job.id) == ("proc-a", 100.0 + HOLD)
    # Not another process's while the lease runs, even mid-submit.
    assert await b.claim(now=100.0 + HOLD - 0.01, until=200.0) == []
    assert await a.lease_of(job.id) == ("proc-a", 100.0 + HOLD)


async def test_an_expired_lease_is_taken_over_once(open_store_at: OpenStore) -> None:
    a = await open_store_at(owner="proc-a", lease_hold=HOLD)
    b = await open_store_at(owner="proc-b", lease_hold=HOLD)
    jobs = [await a.create(new_job(created_at=100.0 + i, status=S.IN_QUEUE)) for i in range(3)]
    await a.create(new_job(created_at=100.0, status=S.DELIVERED))  # final: never claimed
    now = 104.0 + HOLD  # past every lease
    taken = await b.claim(now=now, until=now + HOLD, own=False)
    assert [j.id for j in taken] == [j.id for j in jobs]  # oldest first
    assert all(isinstance(j, Job) and j.status is S.IN_QUEUE for j in taken)
    for job in jobs:
        assert job.id is not None and await b.lease_of(job.id) == ("proc-b", now + HOLD)
    # B holds them now: nobody else gets them, and A's renewal no longer covers them.
    assert await a.claim(now=now + 1, until=now + HOLD, own=True) == []
    assert await a.renew(until=now + 50) == set()
    assert await b.renew(until=now + 60) == {j.id for j in jobs}


async def test_renewal_keeps_jobs_from_a_take_over(open_store_at: OpenStore) -> None:
    a = await open_store_at(owner="proc-a", lease_hold=HOLD)
    b = await open_store_at(owner="proc-b", lease_hold=HOLD)
    job = await a.create(new_job(created_at=100.0, status=S.IN_PROGRESS))
    assert job.id is not None
    assert await a.renew(until=100.0 + 2 * HOLD) == {job.id}
    assert await b.claim(now=100.0 + HOLD + 1, until=500.0) == []  # renewed: still A's
    assert await b.claim(now=100.0 + 2 * HOLD + 1, until=500.0) != []  # A stopped renewing


async def test_renewing_by_ids_leaves_our_other_rows_to_lapse(open_store_at: OpenStore) -> None:
    # A row of ours whose tracker let go is not renewed: it lapses and is taken up again.
    a = await open_store_at(owner="proc-a", lease_hold=HOLD)
    b = await open_store_at(owner="proc-b", lease_hold=HOLD)
    tracked = await a.create(new_job(created_at=100.0, status=S.IN_PROGRESS))
    untracked = await a.create(new_job(created_at=100.0, status=S.IN_QUEUE))
    done = await a.create(new_job(created_at=100.0, status=S.DELIVERED))
    theirs = await b.create(new_job(created_at=150.0, status=S.IN_QUEUE))
    asked = {tracked.id, done.id, theirs.id, 12345}
    assert await a.renew_jobs(asked, until=100.0 + 2 * HOLD) == {tracked.id}  # type: ignore[arg-type]
    assert await a.renew_jobs(set(), until=200.0) == set()
    assert untracked.id is not None and await a.lease_of(untracked.id) == ("proc-a", 100.0 + HOLD)
    assert theirs.id is not None and await b.lease_of(theirs.id) == ("proc-b", 150.0 + HOLD)
    taken = await b.claim(now=100.0 + HOLD + 1, until=500.0, own=False)
    assert [j.id for j in taken] == [untracked.id]
    many = [await a.create(new_job(created_at=300.0, status=S.IN_QUEUE)) for _ in range(3)]
    ids = {j.id for j in many if j.id is not None} | set(range(10_000, 11_200))  # past a batch
    assert await a.renew_jobs(ids, until=900.0) == {j.id for j in many}


async def test_a_clean_stop_releases_at_once(open_store_at: OpenStore) -> None:
    a = await open_store_at(owner="proc-a", lease_hold=HOLD)
    b = await open_store_at(owner="proc-b", lease_hold=HOLD)
    active = await a.create(new_job(created_at=100.0, status=S.COMPLETED))
    done = await a.create(new_job(created_at=100.0, status=S.FAILED))
    assert await a.release() == 1  # the final row keeps its history as it was
    assert active.id is not None and await a.lease_of(active.id) == (None, None)
    assert done.id is not None and (await a.lease_of(done.id))[0] == "proc-a"
    # Long before the lease would have run out.
    assert [j.id for j in await b.claim(now=101.0, until=121.0, own=False)] == [active.id]


async def test_the_next_lapse_is_the_first_foreign_lease_to_end(open_store_at: OpenStore) -> None:
    a = await open_store_at(owner="proc-a", lease_hold=HOLD)
    b = await open_store_at(owner="proc-b", lease_hold=HOLD)
    assert await b.next_lapse() is None  # nothing to take
    await a.create(new_job(created_at=105.0, status=S.IN_QUEUE))
    await a.create(new_job(created_at=100.0, status=S.IN_PROGRESS))
    await a.create(new_job(created_at=90.0, status=S.DELIVERED))  # final: never taken
    await b.create(new_job(created_at=50.0, status=S.IN_QUEUE))  # b's own
    assert await b.next_lapse() == 100.0 + HOLD
    assert await a.next_lapse() == 50.0 + HOLD
    await a.release()
    assert await b.next_lapse() == 0.0  # released: free now


async def test_own_rows_only_at_start_and_force_takes_all(open_store_at: OpenStore) -> None:
    a = await open_store_at(owner="proc-a", lease_hold=HOLD)
    b = await open_store_at(owner="proc-b", lease_hold=HOLD)
    mine = await a.create(new_job(created_at=100.0, status=S.SUBMITTING))
    theirs = await b.create(new_job(created_at=101.0, status=S.IN_QUEUE))
    # The running scan never takes back a row this process is submitting.
    assert await a.claim(now=101.0, until=130.0, own=False) == []
    # A restart under the same PROCESS_ID resumes its own jobs at once.
    assert [j.id for j in await a.claim(now=101.0, until=130.0)] == [mine.id]
    # SQLite's single process takes everything, whoever held it.
    forced = await a.claim(now=101.0, until=130.0, force=True)
    assert [j.id for j in forced] == [mine.id, theirs.id]
    assert theirs.id is not None and await a.lease_of(theirs.id) == ("proc-a", 130.0)


async def test_racing_claims_never_share_a_job(open_store_at: OpenStore) -> None:
    stores = [await open_store_at(owner=f"proc-{i}", lease_hold=HOLD) for i in range(3)]
    ids = set()
    for i in range(60):
        job = await stores[0].create(new_job(created_at=float(i), status=S.IN_QUEUE))
        ids.add(job.id)
    for round_ in range(5):
        now = 10_000.0 + round_ * 100  # every lease expired again
        claims = await asyncio.gather(*(s.claim(now=now, until=now + 1, own=False) for s in stores))
        got = [j.id for claim in claims for j in claim]
        assert len(got) == len(set(got))  # no job claimed twice
        assert set(got) == ids  # and none left behind
        owners = {j.id: s.owner for s, claim in zip(stores, claims, strict=True) for j in claim}
        for job_id, owner in owners.items():
            assert job_id is not None
            assert (await stores[0].lease_of(job_id))[0] == owner


# --- Settings and the choice of backend ----------------------------------------------------


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, discord_token="x", runcomfy_api_token="y", **values
    )


def test_shard_settings_are_checked(tmp_path: Path) -> None:
    assert settings(tmp_path, shard_count=3, shard_ids="0, 2").shard_ids == [0, 2]
    for bad in ({"shard_ids": "1"}, {"shard_count": 2, "shard_ids": "2"}):
        with pytest.raises(ValidationError):
            settings(tmp_path, **bad)


def test_every_process_gets_its_own_default_id(tmp_path: Path) -> None:
    assert settings(tmp_path).process_id != settings(tmp_path).process_id


async def test_open_store_picks_the_backend_from_the_url(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    chosen = settings(tmp_path, database_url=f"sqlite://{path}", process_id="p", lease_seconds=9)
    async with await open_store(chosen) as store:
        assert not store.shared and store.owner == "p" and store.lease_hold == 6
        await store.create(new_job())
    assert path.is_file()
    async with await open_store(settings(tmp_path, database_path=path)) as same:
        assert await same.count_for_user(1) == 1


async def test_open_store_on_postgres(tmp_path: Path, pg_url: str) -> None:
    async with await open_store(settings(tmp_path, database_url=pg_url)) as store:
        assert store.shared and isinstance(store.db, PostgresDatabase)
        assert pg_url not in repr(settings(tmp_path, database_url=pg_url))  # a secret


# --- Quotas across processes ------------------------------------------------------------------


async def test_two_processes_cannot_pass_one_users_quota_together(
    tmp_path: Path, pg_url: str
) -> None:
    # Each process checked a user's quota under its own lock: two commands at one moment
    # (two servers on two shards) each saw the other's slot free, and both started.
    settings = make_settings(tmp_path, "http://127.0.0.1:9", quota_user_concurrent=1)
    http = make_http_client(settings.runcomfy_base_url, settings.runcomfy_api_token, 1.0)
    stores = [await JobStore.open(pg_url, owner=f"proc-{i}", max_size=4) for i in range(2)]
    runcomfy = RunComfyClient(http)
    services = [
        JobService(
            settings=settings,
            store=store,
            runcomfy=runcomfy,
            # Never read: nothing is submitted (RunComfy is unreachable here).
            models=Models(runcomfy, store, settings.model_ids),
        )
        for store in stores
    ]
    try:
        results = await asyncio.gather(
            *(
                service.create(
                    user_id=7,
                    guild_id=None,
                    channel_id=20,
                    prompt="p",
                    model=seedance(),
                    options=options(),
                    image=IMAGE,
                )
                for service in services
                for _ in range(3)
            ),
            return_exceptions=True,
        )
        created = [r for r in results if isinstance(r, Job)]
        assert len(created) == 1, results
        assert all(isinstance(r, QuotaExceeded) for r in results if not isinstance(r, Job))
    finally:
        for service in services:
            await service.close()
        for store in stores:
            await store.close()
        await http.aclose()


async def test_a_pause_saved_by_another_process_counts_at_once(pg_url: str) -> None:
    # SQLite keeps a server's settings once read (its one process makes every change);
    # on PostgreSQL another process may change them, so each admission reads them.
    stores = [await JobStore.open(pg_url, owner=f"proc-{i}", max_size=1) for i in range(2)]
    try:
        assert not (await stores[0].guild_settings(42)).paused
        await save_guild_settings(stores[1], GuildSettings(guild_id=42, paused=True))
        assert (await stores[0].guild_settings(42)).paused
    finally:
        for store in stores:
            await store.close()


# --- The lease keeper ---------------------------------------------------------------------------


async def test_a_lapsed_lease_is_taken_over_when_it_lapses(
    tmp_path: Path, runcomfy_fake: FakeRunComfy, pg_url: str
) -> None:
    # The keeper only looked every third of LEASE_SECONDS: a lease lapsing just after a
    # look waited for the next one, so a dead process's jobs sat for up to a full
    # period (and longer on a loaded machine) instead of two thirds of it.
    period = 6.0  # looks every 2 s
    settings = make_settings(tmp_path, runcomfy_fake.base_url, lease_seconds=period)
    http = make_http_client(settings.runcomfy_base_url, settings.runcomfy_api_token, 1.0)
    dead = await JobStore.open(pg_url, owner="proc-a", lease_hold=2.3, max_size=1)
    live = await JobStore.open(pg_url, owner="proc-b", lease_hold=4.0, max_size=2)
    runcomfy = RunComfyClient(http)
    service = JobService(
        settings=settings,
        store=live,
        runcomfy=runcomfy,
        # Tracking only: no submit needs a model's schema.
        models=Models(runcomfy, live, settings.model_ids),
    )
    try:
        job = await dead.create(new_job(created_at=time.time(), status=S.IN_QUEUE))
        assert job.id is not None
        _, lapses_at = await dead.lease_of(job.id)
        assert lapses_at is not None
        await service.resume()  # the keeper's first look is 2 s away: 0.3 s too early
        taken_at = None
        for _ in range(120):  # at most 6 s
            if (await live.lease_of(job.id))[0] == "proc-b":
                taken_at = time.time()
                break
            await asyncio.sleep(0.05)
        assert taken_at is not None
        assert taken_at - lapses_at < 0.8, taken_at - lapses_at  # not at the next look, 1.7 s on
    finally:
        await service.close()
        await dead.close()
        await live.close()
        await http.aclose()
