"""The hazard-aware polling policy: sparse early, dense where past renders ended."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from bot.jobs import POLL_COST_FRACTION
from bot.polling import MIN_SAMPLES, MIN_SIGMA, HazardPolicy, PollPolicy, RenderTimes
from tests.bot.polling_simulation import simulate


def lognormal_renders(median: float, sigma: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [median * math.exp(rng.gauss(0, sigma)) for _ in range(n)]


def uniform_renders(low: float, high: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(n)]


def fitted(samples: list[float]) -> RenderTimes:
    times = RenderTimes.fit(samples)
    assert times is not None
    return times


# Production's, in job time.
POLICY = HazardPolicy(min_delay=2.0, max_delay=15.0, poll_cost=2.0 * POLL_COST_FRACTION)


def simulate_hazard(
    renders: list[float], times: RenderTimes, policy: HazardPolicy = POLICY, seed: int = 5
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


def p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * len(values))]


def test_render_times_need_a_handful_of_samples() -> None:
    assert RenderTimes.fit([30.0] * (MIN_SAMPLES - 1)) is None
    assert RenderTimes.fit([0.0, -1.0] + [30.0] * (MIN_SAMPLES - 1)) is None  # junk ignored
    times = fitted(lognormal_renders(60, 0.3, 400, seed=1))
    assert times.count == 400
    assert 55 < times.median < 65 and 0.25 < times.sigma < 0.35
    assert times.quantile(0.05) < times.median < times.quantile(0.95) < times.longest
    # Identical samples still leave some spread (no infinite hazard spike).
    same = fitted([40.0] * 10)
    assert same.sigma == MIN_SIGMA and math.isfinite(same.hazard(40.0))


def test_hazard_is_nil_before_the_first_renders_and_high_where_they_end() -> None:
    times = fitted(lognormal_renders(60, 0.3, 50, seed=2))
    assert times.hazard(0) == 0 and times.hazard(10) < 1e-4
    assert times.hazard(30) < times.hazard(60) and times.hazard(60) > 0.02
    # Renders that start sharply (none under 20 s, then as many each second): the
    # hazard follows the samples, not a bell curve, and is real from 20 s on.
    sharp = fitted(uniform_renders(20, 90, 50, seed=3))
    assert sharp.hazard(12) < 0.2 * sharp.hazard(22)
    assert sharp.hazard(22) > 0.5 / 70


def test_interval_follows_one_over_root_hazard() -> None:
    times = fitted(lognormal_renders(60, 0.3, 50, seed=2))
    policy = HazardPolicy(min_delay=0.5, max_delay=15.0, poll_cost=0.2, jitter=0.0)
    rng = random.Random(1)
    for elapsed in range(0, int(times.longest), 3):  # past it, the overrun rule
        delay = policy.next_delay(elapsed=float(elapsed), times=times, rng=rng)
        hazard = times.hazard(elapsed)
        ideal = math.sqrt(2 * 0.2 / hazard) if hazard > 0 else math.inf
        # Never longer than ideal now (a later, busier moment can only shorten it)...
        bound = 15.0 + min(15.0, max(0.0, times.first_end - elapsed))  # see the next test
        assert delay <= max(0.5, min(bound, ideal)) + 1e-9, elapsed
    # ...and where the hazard is flat, it is sqrt(2c/h).
    elapsed = times.median
    delay = policy.next_delay(elapsed=elapsed, times=times, rng=rng)
    hazard = max(times.hazard(elapsed + s / 10 * delay) for s in range(11))
    assert delay == pytest.approx(math.sqrt(2 * 0.2 / hazard), rel=0.15)


def test_hazard_policy_is_sparse_early_dense_near_the_end_and_bounded() -> None:
    times = fitted(lognormal_renders(60, 0.3, 50, seed=2))
    rng = random.Random(2)
    assert POLICY.next_delay(elapsed=1.0, times=times, rng=rng) >= 13.5  # cannot be done yet
    assert POLICY.next_delay(elapsed=60.0, times=times, rng=rng) <= 4.0  # usually ends now
    for elapsed in range(0, 2000, 13):
        delay = POLICY.next_delay(elapsed=float(elapsed), times=times, rng=rng)
        assert 1.8 <= delay <= (33.0 if elapsed < times.first_end else 16.5), elapsed


def test_before_any_render_of_the_kind_could_end_the_wait_runs_to_where_they_start() -> None:
    past = uniform_renders(20, 90, 50, seed=3)
    times = fitted(past)
    assert 15.0 < times.first_end < min(past)
    policy = HazardPolicy(min_delay=2.0, max_delay=15.0, poll_cost=0.2, jitter=0.0)
    rng = random.Random(4)
    first = policy.next_delay(elapsed=0.0, times=times, rng=rng)
    # Past max_delay (a poll at 15 s could only have said "still rendering"), but
    # asked again before the shortest render seen could have ended.
    assert 15.0 < first < min(past)
    # Seen queued 8 s before seen rendering: it may have run 8 s more than it seems,
    # so the quiet stretch ends 8 s sooner (and the wait never passes the shortest render).
    unsure = policy.next_delay(elapsed=0.0, times=times, rng=rng, elapsed_at_most=8.0)
    assert unsure <= times.first_end - 8.0 + 15.0 and unsure < min(past)
    # Unsure by more than the quiet stretch: none left, the hazard alone decides.
    quiet_gone = policy.next_delay(elapsed=0.0, times=times, rng=rng, elapsed_at_most=30.0)
    assert quiet_gone <= 15.0
    # Renders of 10 minutes: still polled at least every twice max_delay.
    slow = fitted(lognormal_renders(600, 0.1, 50, seed=2))
    assert policy.next_delay(elapsed=0.0, times=slow, rng=rng) == 2 * 15.0


def test_a_job_past_every_past_render_backs_off_with_the_overrun() -> None:
    times = fitted(lognormal_renders(60, 0.1, 50, seed=2))  # narrow: a steep tail hazard
    rng = random.Random(3)
    elapsed, polls = times.longest, 0
    while elapsed < times.longest + 600:  # stuck for 10 minutes
        elapsed += POLICY.next_delay(elapsed=elapsed, times=times, rng=rng)
        polls += 1
    assert polls <= 60  # 30 a minute at min_delay would be 300
    late = POLICY.next_delay(elapsed=times.longest + 40, times=times, rng=rng)
    assert late >= 40 / 4 * 0.9


def test_hazard_policy_meets_the_issue_targets_in_simulation() -> None:
    """p50 lag <= 2 s, p99 <= 8 s, 10-13 render polls: log-σ up to 0.3, or a sharp start."""
    cases = {
        f"log-normal σ {sigma}": (
            lognormal_renders(60, sigma, 50, 3),
            lognormal_renders(60, sigma, 500, 4),
        )
        for sigma in (0.1, 0.2, 0.3)
    }
    cases["uniform 20-90 s"] = (uniform_renders(20, 90, 50, 3), uniform_renders(20, 90, 500, 4))
    for name, (past, renders) in cases.items():
        polls, lags = simulate_hazard(renders, fitted(past))
        assert statistics.median(lags) <= 2.0, name
        assert p99(lags) <= 8.0, name
        # The ETA-halving policy aimed at the median: about as many polls, a worse tail.
        old = [
            simulate(r, expected=statistics.median(past), policy=PollPolicy(2, 15)) for r in renders
        ]
        assert statistics.fmean(polls) <= statistics.fmean(p for p, _ in old) + 2, name
        assert statistics.fmean(polls) <= 13.5, name
        assert p99(lags) < p99([lag for _, lag in old]), name


def test_jitter_breaks_lockstep() -> None:
    times = fitted(lognormal_renders(60, 0.3, 50, seed=2))
    rng = random.Random(3)
    delays = {round(POLICY.next_delay(elapsed=50.0, times=times, rng=rng), 6) for _ in range(20)}
    assert len(delays) == 20
