"""Delivery claims on both backends: which process posts a completed job's video.

Each store stands for a bot process; `now` is passed explicitly, so lapses are exact.
"""

from __future__ import annotations

import asyncio
import re

from bot.domain import JobStatus
from bot.store import JobStore
from bot.store.leases import DeliveryClaim
from tests.bot.store.helpers import new_job, plans_of
from tests.stores import OpenStore

S = JobStatus
HOLD = 20.0  # lease_hold(30)
CLAIM = 120.0  # a delivery claim: 4 × LEASE_SECONDS


async def pair(open_store_at: OpenStore) -> tuple[JobStore, JobStore]:
    a = await open_store_at(owner="proc-a", lease_hold=HOLD)
    b = await open_store_at(owner="proc-b", lease_hold=HOLD)
    return a, b


async def test_one_process_claims_a_completed_jobs_post(open_store_at: OpenStore) -> None:
    a, b = await pair(open_store_at)
    assert a.delivery_hold == CLAIM
    job = await a.create(new_job(created_at=100.0, status=S.COMPLETED))
    assert job.id is not None
    claimed = await a.claim_delivery(job.id, now=200.0)
    assert claimed is not None and claimed.id == job.id and claimed.status is S.COMPLETED
    assert await a.delivery_claim(job.id) == DeliveryClaim(S.COMPLETED, "proc-a", 320.0, "proc-a")
    # Another process may not, while the claim runs, even holding the job's lease.
    assert [j.id for j in await b.claim(now=500.0, until=520.0, own=False)] == [job.id]
    assert await b.claim_delivery(job.id, now=319.0) is None
    # Its claimant may again (a retry that records what it posted, a restart).
    assert await a.claim_delivery(job.id, now=250.0) is not None
    # A claim that lapsed (its process died mid-post) is anybody's; the lease comes with it.
    assert await b.claim_delivery(job.id, now=371.0) is not None
    assert await b.delivery_claim(job.id) == DeliveryClaim(S.COMPLETED, "proc-b", 491.0, "proc-b")
    assert await a.claim_delivery(job.id, now=372.0) is None


async def test_only_a_completed_job_can_be_claimed(open_store_at: OpenStore) -> None:
    a, _ = await pair(open_store_at)
    for status in (S.IN_PROGRESS, S.DELIVERED, S.FAILED, S.CANCELLED):
        job = await a.create(new_job(status=status))
        assert job.id is not None
        assert await a.claim_delivery(job.id, now=100.0) is None, status
        assert await a.claim_delivery(job.id, now=100.0, force=True) is None, status
    assert await a.claim_delivery(12345, now=100.0) is None
    assert await a.delivery_claim(12345) is None


async def test_force_claims_whoever_holds_it(open_store_at: OpenStore) -> None:
    # SQLite's single process: a claim left by its previous run never holds it up.
    a, b = await pair(open_store_at)
    job = await a.create(new_job(status=S.COMPLETED))
    assert job.id is not None
    await a.claim_delivery(job.id, now=100.0)
    assert await b.claim_delivery(job.id, now=101.0) is None
    assert await b.claim_delivery(job.id, now=101.0, force=True) is not None
    unowned = await open_store_at()  # a store opened without a process id (some tests)
    assert await unowned.claim_delivery(job.id, now=102.0, force=True) is not None
    assert (await unowned.delivery_claim(job.id)) == DeliveryClaim(
        S.COMPLETED, None, 102.0 + unowned.delivery_hold, "proc-b"
    )


async def test_racing_claims_give_the_post_to_one(open_store_at: OpenStore) -> None:
    stores = [await open_store_at(owner=f"proc-{i}", lease_hold=HOLD) for i in range(4)]
    for round_ in range(5):
        job = await stores[0].create(new_job(status=S.COMPLETED))
        assert job.id is not None
        claims = await asyncio.gather(
            *(s.claim_delivery(job.id, now=100.0 + round_) for s in stores)
        )
        winners = [s.owner for s, c in zip(stores, claims, strict=True) if c is not None]
        assert len(winners) == 1, winners
        claim = await stores[0].delivery_claim(job.id)
        assert claim is not None and claim.by == winners[0] == claim.owner


async def test_claims_are_renewed_by_their_claimant_whoever_holds_the_lease(
    open_store_at: OpenStore,
) -> None:
    a, b = await pair(open_store_at)
    posting = await a.create(new_job(status=S.COMPLETED))
    theirs = await b.create(new_job(status=S.COMPLETED))
    assert posting.id is not None and theirs.id is not None
    await a.claim_delivery(posting.id, now=100.0)
    await b.claim_delivery(theirs.id, now=100.0)
    # B takes A's lease (A stalled), but A, posting, keeps its claim alive.
    await b.claim(now=500.0, until=520.0, own=False)
    asked = {posting.id, theirs.id, 999}
    assert await a.renew_deliveries(asked, now=200.0) == {posting.id}
    assert await a.delivery_claim(posting.id) == DeliveryClaim(
        S.COMPLETED, "proc-a", 200.0 + CLAIM, "proc-b"
    )
    assert await b.claim_delivery(posting.id, now=200.0 + CLAIM - 1) is None
    assert await a.renew_deliveries(set(), now=300.0) == set()
    await a.transition(posting.id, from_statuses=[S.COMPLETED], to=S.DELIVERED)
    assert await a.renew_deliveries({posting.id}, now=300.0) == set()  # done: nothing to hold


async def test_a_clean_stop_gives_its_cut_posts_back(open_store_at: OpenStore) -> None:
    a, b = await pair(open_store_at)
    cut = await a.create(new_job(status=S.COMPLETED))
    delivered = await a.create(new_job(status=S.COMPLETED))
    theirs = await b.create(new_job(status=S.COMPLETED))
    assert cut.id is not None and delivered.id is not None and theirs.id is not None
    for job_id in (cut.id, delivered.id):
        await a.claim_delivery(job_id, now=100.0)
    await b.claim_delivery(theirs.id, now=100.0)
    await a.transition(delivered.id, from_statuses=[S.COMPLETED], to=S.DELIVERED)
    assert await a.release_deliveries() == 1
    assert await b.claim_delivery(cut.id, now=101.0) is not None  # at once, not in 2 minutes
    done = await a.delivery_claim(delivered.id)
    assert done is not None and done.by == "proc-a"  # a delivered row keeps who posted it
    still = await b.delivery_claim(theirs.id)
    assert still is not None and still.by == "proc-b"


async def test_claim_statements_read_one_row_by_its_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with await JobStore.open(tmp_path / "bot.db", owner="proc-a") as store:
        for i in range(20):
            await store.create(new_job(created_at=float(i), status=list(JobStatus)[i % 9]))
        job = await store.create(new_job(status=S.COMPLETED))
        assert job.id is not None
        calls = {
            "claim": store.claim_delivery(job.id, now=1.0),
            "renew": store.renew_deliveries({job.id}, now=2.0),
            "read": store.delivery_claim(job.id),
            "release": store.release_deliveries(),
        }
        for name, call in calls.items():
            for sql, plan in await plans_of(store, call):
                assert re.search(r"(SEARCH|SCAN) jobs USING|INTEGER PRIMARY KEY", plan), (name, sql)
                assert not re.search(r"SCAN jobs($| \|)", plan), (name, sql, plan)
