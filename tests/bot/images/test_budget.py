"""The process's budget of decoded pixels: room, turns, bounded waits, and no leaks."""

from __future__ import annotations

import asyncio

import pytest

from bot.images.budget import PixelBudget


async def holding(
    budget: PixelBudget, size: int, release: asyncio.Event, *, within: float = 5
) -> None:
    async with budget.reserve(size, within=within):
        await release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_reservations_within_capacity_run_at_once_and_give_back() -> None:
    budget = PixelBudget(100)
    async with budget.reserve(60, within=0.01), budget.reserve(40, within=0.01):
        assert budget.held == 100
    assert budget.held == 0


async def test_an_error_inside_gives_the_room_back() -> None:
    budget = PixelBudget(100)
    with pytest.raises(RuntimeError):
        async with budget.reserve(80, within=1):
            raise RuntimeError("decoder broke")
    assert budget.held == 0
    async with budget.reserve(100, within=0.01):
        pass


async def test_a_reservation_waits_for_room_then_runs() -> None:
    budget = PixelBudget(100)
    release = asyncio.Event()
    first = asyncio.create_task(holding(budget, 70, release))
    await settle()
    second = asyncio.create_task(holding(budget, 50, asyncio.Event()))
    await settle()
    assert budget.waiting == 1 and budget.held == 70
    release.set()
    await first
    await settle()
    assert budget.waiting == 0 and budget.held == 50
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert budget.held == 0


async def test_a_wait_is_bounded_and_leaves_nothing_behind() -> None:
    budget = PixelBudget(100)
    release = asyncio.Event()
    first = asyncio.create_task(holding(budget, 70, release))
    await settle()
    with pytest.raises(TimeoutError):
        async with budget.reserve(50, within=0.05):
            pytest.fail("no room was made")
    assert budget.waiting == 0 and budget.held == 70
    release.set()
    await first
    assert budget.held == 0


async def test_a_big_image_first_in_line_is_not_overtaken_by_small_ones() -> None:
    budget = PixelBudget(100)
    release = asyncio.Event()
    first = asyncio.create_task(holding(budget, 60, release))
    await settle()
    big = asyncio.create_task(holding(budget, 90, asyncio.Event()))
    await settle()
    # 30 would fit beside the first, but the big one came before it.
    with pytest.raises(TimeoutError):
        async with budget.reserve(30, within=0.05):
            pass
    release.set()
    await first
    await settle()
    assert budget.held == 90
    big.cancel()
    with pytest.raises(asyncio.CancelledError):
        await big
    assert budget.held == 0


async def test_the_first_in_line_giving_up_lets_the_next_in() -> None:
    budget = PixelBudget(100)
    release = asyncio.Event()
    first = asyncio.create_task(holding(budget, 60, release))
    await settle()
    big = asyncio.create_task(holding(budget, 90, asyncio.Event(), within=0.05))
    await settle()
    small = asyncio.create_task(holding(budget, 30, release))
    await settle()
    assert budget.waiting == 2
    with pytest.raises(TimeoutError):
        await big
    await settle()
    assert budget.waiting == 0 and budget.held == 90  # the small one got in beside the first
    release.set()
    await asyncio.gather(first, small)
    assert budget.held == 0


async def test_a_waiter_cancelled_just_as_it_is_granted_passes_the_room_on() -> None:
    budget = PixelBudget(100)
    release = asyncio.Event()
    first = asyncio.create_task(holding(budget, 100, release))
    await settle()
    waiter = asyncio.create_task(holding(budget, 100, asyncio.Event()))
    await settle()
    release.set()
    await first  # grants the waiter...
    waiter.cancel()  # ...which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert budget.held == 0 and budget.waiting == 0


async def test_what_can_never_fit_is_an_error_not_a_wait() -> None:
    budget = PixelBudget(100)
    assert not budget.fits(101)
    with pytest.raises(ValueError):
        async with budget.reserve(101, within=60):
            pass
    assert budget.held == 0


def test_one_budget_serves_one_event_loop_after_another() -> None:
    """The process's budget outlives a loop (tests, restarts): it is bound to none."""
    budget = PixelBudget(100)

    async def contended() -> None:
        release = asyncio.Event()
        first = asyncio.create_task(holding(budget, 100, release))
        await settle()
        second = asyncio.create_task(holding(budget, 100, release))
        await settle()
        assert budget.waiting == 1
        release.set()
        await asyncio.gather(first, second)

    asyncio.run(contended())
    asyncio.run(contended())
    assert budget.held == 0
