"""Background work yields to a burst of arriving commands, within bounds."""

from __future__ import annotations

import asyncio
import time

from bot.arrivals import Arrivals


async def test_a_few_arriving_commands_hold_nothing() -> None:
    arrivals = Arrivals(max_hold=5.0, burst=3)
    arrivals.arrive(1)
    arrivals.arrive(2)
    began = time.monotonic()
    await arrivals.let_through()
    assert time.monotonic() - began < 0.05


async def test_a_burst_holds_work_until_it_has_arrived() -> None:
    arrivals = Arrivals(max_hold=5.0, burst=3)
    for key in range(4):
        arrivals.arrive(key)
    waiting = asyncio.create_task(arrivals.let_through())
    await asyncio.sleep(0.05)
    arrivals.arrived(0)
    arrivals.arrived(0)  # twice is harmless
    await asyncio.sleep(0.05)
    assert not waiting.done()  # still three on their way
    arrivals.arrived(1)
    await asyncio.wait_for(waiting, 1.0)
    assert arrivals.arriving == 2


async def test_a_burst_that_never_arrives_holds_work_at_most_max_hold() -> None:
    arrivals = Arrivals(max_hold=0.2, burst=2)
    arrivals.arrive("a")
    arrivals.arrive("b")
    began = time.monotonic()
    await arrivals.let_through()
    assert 0.15 < time.monotonic() - began < 1.0
