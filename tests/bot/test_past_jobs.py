"""What past jobs of a kind say: one query per kind however many ask, and the right rows."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from bot.domain import ImageFacts, Job, JobStatus
from bot.past_jobs import PastJobs, SharedRefresh
from bot.store import JobStore
from tests.models import job_fields

FACTS = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1000)


def finished(render: float, *, audio: bool = True, queue: float = 100.0) -> Job:
    return Job(
        user_id=5,
        prompt="p",
        image=FACTS,
        **job_fields(audio=audio),
        status=JobStatus.DELIVERED,
        created_at=1000.0 - queue,
        submitted_at=1000.0 - queue,  # a queue before each: not part of the render
        started_at=1000.0,
        finished_at=1000.0 + render,
    )


def kind(**picked: object) -> str:
    """The kind of a seed-model job with `picked`."""
    return str(job_fields(**picked)["kind"])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_past_renders_count_from_the_render_start_and_match_the_audio(
    tmp_path: Path,
) -> None:
    async with await JobStore.open(tmp_path / "bot.db") as store:
        for render, audio in ((10.0, True), (12.0, True), (14.0, True), (40.0, False)):
            await store.create(finished(render, audio=audio))
        past = PastJobs(store, default_eta=99.0)
        assert await past.expected_render(kind(generate_audio=True)) == 12.0
        assert await past.expected_duration(kind(generate_audio=True)) == 112.0
        assert await past.expected_render(kind(generate_audio=False)) == 99.0  # too few
        assert await past.expected_render(kind(resolution="720p")) == 99.0
        assert await past.render_times(kind(generate_audio=True)) is None  # not 5 yet


async def test_many_trackers_asking_at_once_share_one_query_per_kind(tmp_path: Path) -> None:
    async with await JobStore.open(tmp_path / "bot.db") as store:
        for render in range(20, 30):
            await store.create(finished(float(render)))
        statements: list[str] = []
        await store.db.trace(statements.append)
        past = PastJobs(store, default_eta=99.0)
        audio_on = kind(generate_audio=True)
        asked = await asyncio.gather(
            *(past.render_times(audio_on) for _ in range(200)),
            *(past.expected_render(audio_on) for _ in range(200)),
            *(past.expected_duration(audio_on) for _ in range(200)),
        )
        history_queries = [s for s in statements if "finished_at -" in s]
        assert len(history_queries) == 2  # renders, and submit to finish
        fits = {id(times) for times in asked[:200]}
        assert len(fits) == 1 and asked[0] is not None and asked[0].count == 10
        assert set(asked[200:400]) == {24.5} and set(asked[400:]) == {124.5}


async def test_a_stale_value_is_reloaded_once_for_all_who_ask() -> None:
    clock = Clock()
    loads: list[str] = []
    gate = asyncio.Event()

    async def load(key: str) -> int:
        loads.append(key)
        await gate.wait()
        return len(loads)

    cache: SharedRefresh[str, int] = SharedRefresh(load, lambda _: 60.0, clock)
    gate.set()
    assert await cache.get("a") == 1
    clock.now = 59.0
    assert await cache.get("a") == 1 and loads == ["a"]  # fresh: no load
    clock.now = 61.0
    gate.clear()
    waiting = [asyncio.ensure_future(cache.get("a")) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    assert set(await asyncio.gather(*waiting)) == {2} and loads == ["a", "a"]


async def test_a_failed_load_fails_its_waiters_and_the_next_ask_tries_again() -> None:
    attempts = 0

    async def load(key: str) -> int:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        if attempts == 1:
            raise OSError("database is locked")
        return 7

    cache: SharedRefresh[str, int] = SharedRefresh(load, lambda _: 60.0)
    first = await asyncio.gather(cache.get("a"), cache.get("a"), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in first) and attempts == 1
    assert await cache.get("a") == 7 and attempts == 2


async def test_one_caller_cancelled_does_not_cancel_the_load_the_others_wait_for() -> None:
    gate = asyncio.Event()

    async def load(key: str) -> int:
        await gate.wait()
        return 3

    cache: SharedRefresh[str, int] = SharedRefresh(load, lambda _: 60.0)
    impatient = asyncio.ensure_future(cache.get("a"))
    patient = asyncio.ensure_future(cache.get("a"))
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    gate.set()
    assert await asyncio.wait_for(patient, 1.0) == 3


async def test_a_load_that_fails_after_its_waiters_left_is_not_reported_as_unretrieved() -> None:
    # A stop cancels every tracker while one reload is out; the reload then fails
    # (the store closed under it): nobody is left to read the error, and asyncio must
    # not log "Task exception was never retrieved" for it.
    gate = asyncio.Event()
    reported: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))

    async def load(key: str) -> int:
        await gate.wait()
        raise OSError("the store is closed")

    cache: SharedRefresh[str, int] = SharedRefresh(load, lambda _: 60.0)
    waiter = asyncio.ensure_future(cache.get("a"))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.set()
    for _ in range(3):
        await asyncio.sleep(0)
    del waiter
    gc.collect()
    loop.set_exception_handler(None)
    assert reported == []
