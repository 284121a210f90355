"""The polling policies, the request budget's lanes, and tracking against the fake."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import statistics

import pytest

from bot.polling import (
    MIN_SAMPLES,
    MIN_SIGMA,
    HazardPolicy,
    PollPolicy,
    RenderTimes,
    expected_render_seconds,
)
from bot.ratelimit import RateBudget


def simulate(render_seconds: float, expected: float, policy: PollPolicy) -> tuple[int, float]:
    """Polls needed and delivery lag for a job that ends at `render_seconds`."""
    rng = random.Random(7)
    now = 0.0
    for polls in range(1, 1000):
        if now >= render_seconds:
            return polls, now - render_seconds
        now += policy.next_delay(now=now, expected_end=expected, rng=rng)
    raise AssertionError("never finished")


def test_a_60s_render_costs_few_requests_and_little_lag() -> None:
    policy = PollPolicy(min_delay=2.0, max_delay=15.0)
    polls, lag = simulate(60, expected=60, policy=policy)
    assert polls <= 16
    assert lag <= 2.5


def test_a_render_longer_than_expected_backs_off_with_the_overrun() -> None:
    policy = PollPolicy(min_delay=2.0, max_delay=15.0)
    # Just past the estimate: still dense, so the lag stays small.
    polls, lag = simulate(66, expected=60, policy=policy)
    assert lag <= 2.5
    # Twice the estimate: the lag stays within a quarter of the 60 s overrun, at
    # 13 requests after the ETA where polling at `min_delay` would have cost 30.
    polls, lag = simulate(120, expected=60, policy=policy)
    assert lag <= 60 / 4 + 2
    assert polls <= 25


def test_delays_stay_within_bounds() -> None:
    policy = PollPolicy(min_delay=2.0, max_delay=15.0, jitter=0.1)
    rng = random.Random(1)
    for now in range(0, 500, 7):
        delay = policy.next_delay(now=float(now), expected_end=200.0, rng=rng)
        assert 1.8 <= delay <= 16.5
    assert 13.5 <= policy.next_delay(now=0, expected_end=None, rng=rng) <= 16.5


def test_expected_render_is_the_median_of_enough_past_jobs() -> None:
    assert expected_render_seconds([], default=120) == 120
    assert expected_render_seconds([10, 20], default=120) == 120
    assert expected_render_seconds([10, 20, 30, 400], default=120) == 25


# --- The hazard-aware policy ------------------------------------------------------------------


def lognormal_renders(median: float, sigma: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [median * math.exp(rng.gauss(0, sigma)) for _ in range(n)]


def simulate_hazard(
    renders: list[float], times: RenderTimes, policy: HazardPolicy, seed: int = 5
) -> tuple[list[int], list[float]]:
    """Polls and lag per render, for jobs whose render clock starts at 0."""
    rng = random.Random(seed)
    polls, lags = [], []
    for render in renders:
        elapsed, count = 0.0, 0
        while elapsed < render:
            elapsed += policy.next_delay(elapsed=elapsed, times=times, rng=rng)
            count += 1
        polls.append(count)
        lags.append(elapsed - render)
    return polls, lags


def test_render_times_need_a_handful_of_samples() -> None:
    assert RenderTimes.fit([30.0] * (MIN_SAMPLES - 1)) is None
    assert RenderTimes.fit([0.0, -1.0] + [30.0] * (MIN_SAMPLES - 1)) is None  # junk ignored
    times = RenderTimes.fit(lognormal_renders(60, 0.3, 400, seed=1))
    assert times is not None and times.count == 400
    assert 55 < times.median < 65 and 0.25 < times.sigma < 0.35
    assert times.quantile(0.05) < times.median < times.quantile(0.95)
    # Identical samples still leave some spread (no infinite hazard spike).
    same = RenderTimes.fit([40.0] * 10)
    assert same is not None and same.sigma == MIN_SIGMA


def test_hazard_rises_to_where_renders_end_then_falls_in_the_tail() -> None:
    times = RenderTimes(mu=math.log(60), sigma=0.3, count=50)
    assert times.hazard(0) == 0 and times.hazard(10) < 1e-6
    assert times.hazard(30) < times.hazard(60) < times.hazard(120)
    # Far past every past render the hazard falls again: polling backs off by itself.
    assert times.hazard(10_000) < times.hazard(1_000)


def test_interval_follows_one_over_root_hazard() -> None:
    times = RenderTimes(mu=math.log(60), sigma=0.3, count=50)
    policy = HazardPolicy(min_delay=0.001, max_delay=1e9, poll_cost=0.2, jitter=0.0)
    rng = random.Random(1)
    # Past the mode the hazard changes slowly, so the fixed point is sqrt(2c / h(t)).
    for elapsed in (80.0, 120.0, 200.0):
        delay = policy.next_delay(elapsed=elapsed, times=times, rng=rng)
        hazard = max(times.hazard(elapsed), times.hazard(elapsed + delay))
        assert delay == pytest.approx(math.sqrt(2 * 0.2 / hazard), rel=1e-3)


def test_hazard_policy_is_sparse_early_dense_near_the_end_and_bounded() -> None:
    times = RenderTimes(mu=math.log(60), sigma=0.3, count=50)
    policy = HazardPolicy(min_delay=2.0, max_delay=15.0, poll_cost=0.2, jitter=0.1)
    rng = random.Random(2)
    assert policy.next_delay(elapsed=1.0, times=times, rng=rng) >= 13.5  # cannot be done yet
    assert policy.next_delay(elapsed=60.0, times=times, rng=rng) <= 4.0  # usually ends now
    for elapsed in range(0, 2000, 13):
        assert 1.8 <= policy.next_delay(elapsed=float(elapsed), times=times, rng=rng) <= 16.5
    # Never jumps over the start of the distribution from far before it.
    before = times.quantile(0.01)
    assert 5 + policy.next_delay(elapsed=5.0, times=times, rng=rng) <= before + 15


def test_hazard_policy_finds_renders_sooner_than_the_eta_halving_at_few_polls() -> None:
    """The issue's simulation: p50 lag <= 2 s, p99 <= 8 s, <= 12 render polls, log-σ <= 0.3."""
    for sigma in (0.1, 0.2, 0.3):
        times = RenderTimes.fit(lognormal_renders(60, sigma, 50, seed=3))
        assert times is not None
        renders = lognormal_renders(60, sigma, 500, seed=4)
        polls, lags = simulate_hazard(renders, times, HazardPolicy(2.0, 15.0, poll_cost=0.3))
        assert statistics.median(lags) <= 2.0, sigma
        assert sorted(lags)[int(0.99 * len(lags))] <= 8.0, sigma
        assert statistics.fmean(polls) <= 12, sigma
        old = PollPolicy(2.0, 15.0)
        old_lags = [simulate(r, expected=times.median, policy=old)[1] for r in renders]
        assert statistics.median(lags) < statistics.median(old_lags), sigma


def test_jitter_breaks_lockstep() -> None:
    times = RenderTimes(mu=math.log(60), sigma=0.3, count=50)
    policy = HazardPolicy(2.0, 15.0, poll_cost=0.2, jitter=0.1)
    rng = random.Random(3)
    delays = {round(policy.next_delay(elapsed=50.0, times=times, rng=rng), 6) for _ in range(20)}
    assert len(delays) == 20


# --- The request budget's lanes ---------------------------------------------------------------


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
