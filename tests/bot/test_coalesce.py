"""Coalesced status updates: latest state wins, one send per key per interval."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.coalesce import Coalescer
from bot.ratelimit import RateBudget


async def test_latest_value_wins_and_rate_is_limited() -> None:
    sent: list[tuple[str, int, float]] = []

    async def send(key: str, value: int) -> None:
        sent.append((key, value, time.monotonic()))

    updates: Coalescer[str, int] = Coalescer(send, interval=0.1)
    for value in range(10):
        updates.submit("job", value)
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.25)
    await updates.close()

    values = [value for _, value, _ in sent]
    assert values[0] == 0  # the first change shows at once
    assert values[-1] == 9  # and the last one is never lost
    assert len(values) <= 3  # intermediate states were dropped
    gaps = [b[2] - a[2] for a, b in itertools.pairwise(sent)]
    assert all(gap >= 0.09 for gap in gaps)


async def test_flush_sends_now_and_drops_pending() -> None:
    sent: list[int] = []

    async def send(key: str, value: int) -> None:
        sent.append(value)

    updates: Coalescer[str, int] = Coalescer(send, interval=10)
    updates.submit("job", 1)
    await asyncio.sleep(0.01)
    updates.submit("job", 2)  # would wait 10 s
    await updates.flush("job", 3)
    await updates.close()
    assert sent == [1, 3]


async def test_keys_are_independent_and_failures_do_not_stop_later_sends() -> None:
    sent: list[tuple[str, int]] = []

    async def send(key: str, value: int) -> None:
        if value == 0:
            raise RuntimeError("discord is down")
        sent.append((key, value))

    updates: Coalescer[str, int] = Coalescer(send, interval=0.05)
    updates.submit("a", 0)
    updates.submit("b", 1)
    await asyncio.sleep(0.01)
    updates.submit("a", 2)
    await asyncio.sleep(0.15)
    await updates.close()
    assert sorted(sent) == [("a", 2), ("b", 1)]


async def test_rate_budget_caps_starts_per_second() -> None:
    budget = RateBudget(rate=100, burst=5)
    start = time.monotonic()
    for _ in range(25):
        await budget.acquire()
    elapsed = time.monotonic() - start
    # 5 from the burst, 20 more at 100/s: at least ~0.2 s.
    assert elapsed >= 0.18


async def test_a_flushed_key_leaves_no_state_behind() -> None:
    sent: list[int] = []

    async def send(key: int, value: int) -> None:
        sent.append(value)

    updates: Coalescer[int, int] = Coalescer(send, interval=10)
    for key in range(100):
        updates.submit(key, 1)
        await asyncio.sleep(0)  # its worker sends it at once
        updates.submit(key, 2)  # queued behind the interval
        await updates.flush(key, 3)  # the final state: the key's last word
    assert sent == [1, 3] * 100
    assert updates.live_entries() == 0

    updates.submit(7, 1)
    await asyncio.sleep(0.01)
    updates.submit(7, 2)
    updates.forget(7)  # a job forgotten with an edit still queued
    await asyncio.sleep(0.01)
    assert updates.live_entries() == 0 and 2 not in sent[200:]
    await updates.close()
