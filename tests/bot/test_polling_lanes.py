"""The request budget's lanes: urgent polls first, sparse ones never starved."""

from __future__ import annotations

import asyncio
import contextlib
import time

from bot.ratelimit import RateBudget


async def test_urgent_callers_never_wait_behind_sparse_ones() -> None:
    budget = RateBudget(rate=40, burst=1)
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await budget.acquire(urgent=urgent)
        order.append(name)

    sparse = [asyncio.create_task(take(f"sparse{i}", False)) for i in range(8)]
    await asyncio.sleep(0.01)  # the sparse ones queue first
    urgent = asyncio.create_task(take("urgent", True))
    await asyncio.wait_for(asyncio.gather(*sparse, urgent), 5)
    # One sparse had the only token; the urgent one goes next, before the 7 others.
    assert order.index("urgent") <= 2
    assert len(order) == 9


async def test_a_sparse_caller_is_not_starved_by_a_steady_urgent_stream() -> None:
    """At a burst's peak urgent polls never stop: a sparse one still goes within patience."""
    budget = RateBudget(rate=1000, burst=1000, concurrency=1, sparse_patience=0.2)
    stop = asyncio.Event()

    async def urgent_caller() -> None:
        while not stop.is_set():
            await budget.acquire(urgent=True)
            await asyncio.sleep(0.01)  # the request
            budget.release()

    flood = [asyncio.create_task(urgent_caller()) for _ in range(4)]
    await asyncio.sleep(0.05)
    began = time.monotonic()
    await asyncio.wait_for(budget.acquire(), 5)
    waited = time.monotonic() - began
    budget.release()
    stop.set()
    await asyncio.gather(*flood)
    assert 0.15 < waited < 0.5  # behind urgent ones first, but not for as long as they come


async def test_callers_arriving_faster_than_tokens_still_get_the_full_rate() -> None:
    """A waiter arriving every 2 ms must not push the refill back each time (starvation)."""
    budget = RateBudget(rate=100, burst=1)
    served: list[float] = []

    async def take() -> None:
        await budget.acquire()
        served.append(time.monotonic())

    began = time.monotonic()
    takers = []
    for _ in range(150):  # 0.3 s of arrivals at 500/s
        takers.append(asyncio.create_task(take()))
        await asyncio.sleep(0.002)
    await asyncio.wait_for(asyncio.gather(*takers), 5)
    # At 100/s, about 30 are served while they keep arriving (not ~1).
    assert sum(1 for at in served if at - began < 0.3) >= 15


async def test_a_cancelled_waiter_frees_its_place() -> None:
    budget = RateBudget(rate=20, burst=1)
    await budget.acquire()
    waiter = asyncio.create_task(budget.acquire())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    assert budget.waiting == 0
    await asyncio.wait_for(budget.acquire(urgent=True), 1)  # the bucket still works
