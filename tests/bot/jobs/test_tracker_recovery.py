"""A tracker never dies quietly (issue 27, item 9).

An unexpected error in a job's tracker (a dropped database connection, a failover, a
full disk) ended its task while the lease kept being renewed: the job sat until a
restart and no other process took it. Trackers now retry, a sweep adopts this
process's live rows that have no tracker, and only tracked jobs keep their lease.

The failures come from the real store behind a thin wrapper that makes chosen calls
raise, as a lost connection would; everything else is the real service, both store
backends and the loopback RunComfy fake.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from bot.domain import JobStatus
from bot.jobs import JobService
from bot.models.registry import Models
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore, lease_hold
from tests.bot.jobs.harness import TOKEN, Harness, RecordingObserver, make_settings
from tests.bot.store.helpers import new_job
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import SEEDANCE_15
from tests.stores import OpenStore

Match = Callable[..., bool]


@dataclass
class _Rule:
    method: str
    when: Match
    remaining: int


class FailingStore:
    """The real store; the calls a rule names raise as over a lost database connection."""

    def __init__(self, store: JobStore) -> None:
        self.real = store
        self.rules: list[_Rule] = []
        self.raised = 0

    def fail(self, method: str, *, times: int = 1, when: Match = lambda *a, **k: True) -> None:
        self.rules.append(_Rule(method, when, times))

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.real, name)
        if not any(rule.method == name for rule in self.rules):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            for rule in self.rules:
                if rule.method == name and rule.remaining > 0 and rule.when(*args, **kwargs):
                    rule.remaining -= 1
                    self.raised += 1
                    raise ConnectionResetError("the connection to the database was lost")
            return await attr(*args, **kwargs)

        return call


@dataclass
class Rig:
    h: Harness
    store: FailingStore


@pytest.fixture
async def rig(
    open_store_at: OpenStore, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Rig]]]:
    built: list[tuple[JobService, Any, FakeRunComfy]] = []

    async def build(**overrides: object) -> Rig:
        fake = FakeRunComfy(token=TOKEN)
        await fake.start()
        settings = make_settings(tmp_path, fake.base_url, **overrides)
        http = make_http_client(fake.base_url, settings.runcomfy_api_token, 2.0)
        real = await open_store_at(owner="proc-a", lease_hold=lease_hold(settings.lease_seconds))
        store = FailingStore(real)
        client = RunComfyClient(http, backoff_base=0.01)
        models = Models(client, real, settings.model_ids)
        await models.load()
        service = JobService(
            settings=settings, store=cast(JobStore, store), runcomfy=client, models=models
        )
        service.observer = observer = RecordingObserver()
        built.append((service, http, fake))
        return Rig(Harness(service, observer, fake), store)

    yield build
    for service, http, fake in reversed(built):
        await service.close()
        await http.aclose()
        await fake.close()


def moving_to(status: JobStatus) -> Match:
    return lambda *args, **kwargs: kwargs.get("to") is status


async def test_a_tracker_that_loses_the_database_once_carries_on_and_delivers(
    rig: Callable[..., Awaitable[Rig]],
) -> None:
    r = await rig()
    r.store.fail("transition", when=moving_to(JobStatus.IN_PROGRESS))
    r.h.fake.script(Timeline(queue_seconds=0.2, run_seconds=0.2))
    job = await r.h.start_job()
    assert job.id is not None

    done = await r.h.wait_status(job.id, JobStatus.DELIVERED)
    assert r.store.raised == 1
    assert done.started_at is not None  # the render's start was stored on the retry
    assert len(r.h.observer.delivered) == 1 and r.h.observer.ended == []
    assert r.h.fake.count("submit") == 1


async def test_a_tracker_that_gives_up_is_adopted_again_once_the_database_is_back(
    rig: Callable[..., Awaitable[Rig]],
) -> None:
    # Down longer than a tracker's retries: it gives up (and says so), the job stays
    # live, and the sweep (SQLite) or the lapsed lease (PostgreSQL) picks it up again.
    r = await rig(lease_seconds=0.6)
    await r.h.service.resume()
    r.h.fake.script(Timeline(manual=True))
    job = await r.h.start_job()
    assert job.id is not None and job.request_id is not None
    down = True
    for method in ("transition", "get"):
        r.store.fail(method, times=10_000, when=lambda *a, **k: down)
    r.h.fake.set_state(job.request_id, "completed")
    await asyncio.sleep(2.0)  # several times a tracker's retries in these settings
    stuck = await r.store.real.get(job.id)
    assert stuck is not None and stuck.status is JobStatus.IN_QUEUE
    assert any(f"job {job.id}" in alert.lower() for alert in r.h.observer.alerts)

    down = False
    await r.h.wait_status(job.id, JobStatus.DELIVERED)
    assert len(r.h.observer.delivered) == 1
    assert r.h.fake.count("submit") == 1


async def test_our_live_row_without_a_tracker_is_adopted_and_its_lease_not_renewed(
    rig: Callable[..., Awaitable[Rig]], backend: str
) -> None:
    # A row of ours that no tracker follows is what a dead tracker leaves. PostgreSQL:
    # the keeper renewed every row of ours, so nobody (us included) took it up again.
    r = await rig(lease_seconds=3.0)  # renewed every 1 s; a lease holds 2 s
    await r.h.service.resume()
    submitted = await r.h.service.runcomfy.submit(
        SEEDANCE_15, {"prompt": "p", "first_frame_image_url": "https://cdn.example/cat.png"}
    )
    now = time.time()
    row = await r.store.create(
        new_job(
            created_at=now,
            submitted_at=now,
            status=JobStatus.IN_QUEUE,
            request_id=submitted.request_id,
            guild_id=10,
            channel_id=20,
        )
    )
    assert row.id is not None
    owner, until = await r.store.lease_of(row.id)
    assert owner == "proc-a" and until is not None
    if backend == "postgres":
        await asyncio.sleep(1.4)  # a renewal round has gone by
        assert await r.store.lease_of(row.id) == ("proc-a", until)  # not renewed

    done = await r.h.wait_status(row.id, JobStatus.DELIVERED, within=8)
    assert done.delivered_message_id is not None
    assert r.h.fake.count("submit") == 1


async def test_a_delivery_whose_record_fails_is_recorded_again_not_posted_again(
    rig: Callable[..., Awaitable[Rig]],
) -> None:
    # The video reached Discord, then the database failed before the delivery was
    # written: the tracker's retry must record it, not post the video a second time.
    r = await rig()
    r.store.fail("transition", when=moving_to(JobStatus.DELIVERED))
    r.h.fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    job = await r.h.start_job()
    assert job.id is not None
    done = await r.h.wait_status(job.id, JobStatus.DELIVERED)
    assert r.store.raised == 1
    assert len(r.h.observer.delivered) == 1
    assert done.delivered_message_id == 9001
