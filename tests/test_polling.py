"""The ETA-aware polling policy."""

from __future__ import annotations

import random

from bot.polling import PollPolicy, expected_render_seconds


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
