"""Writing jobs on both backends: the round trip, updates, compare-and-set, transactions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.domain import ImageFacts, Job, Reach, Visibility
from bot.store import JobStore
from tests.bot.store.helpers import IMAGE, S, new_job
from tests.models import job_fields, options, seedance
from tests.stores import OpenStore, find_by_request_id


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


async def test_a_jobs_locale_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await JobStore.open(path) as store:
        created = await store.create(new_job().model_copy(update={"locale": "fr"}))
    assert created.id is not None
    async with await JobStore.open(path) as again:
        reread = await again.get(created.id)
    assert reread is not None and reread.locale == "fr"


async def test_state_is_kept_per_key_and_replaced(open_store_at: OpenStore) -> None:
    store = await open_store_at()
    assert await store.state("commands") is None
    await store.set_state("commands", "abc", now=1.0)
    await store.set_state("model:x", '{"a": 1}', now=2.0)
    await store.set_state("commands", "def", now=3.0)
    assert await store.state("commands") == "def"
    assert await store.state("model:x") == '{"a": 1}'
