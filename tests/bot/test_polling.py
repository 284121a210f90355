"""The polling policies: few requests and little lag, bounded delays, the expected render."""

from __future__ import annotations

import random
import statistics

import pytest

from bot.polling import PollPolicy, expected_render_seconds
from tests.bot.polling_simulation import simulate


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
    assert 7.5 <= policy.next_delay(now=0, expected_end=None, rng=rng) <= 22.5


def test_polls_with_no_deadline_spread_wide_at_the_same_mean() -> None:
    # Jobs sent in one burst poll in waves at max_delay: a tenth of jitter takes many
    # polls to spread them, and each wave holds up the polls that are due.
    policy = PollPolicy(min_delay=2.0, max_delay=15.0)
    rng = random.Random(4)
    delays = [policy.next_delay(now=0, expected_end=None, rng=rng) for _ in range(2000)]
    assert statistics.fmean(delays) == pytest.approx(15.0, rel=0.03)
    assert min(delays) < 9 and max(delays) > 21
    # Converging on an ETA keeps the narrow jitter: there the timing is the point.
    near = [policy.next_delay(now=0, expected_end=20.0, rng=rng) for _ in range(200)]
    assert min(near) >= 9 and max(near) <= 11


def test_expected_render_is_the_median_of_enough_past_jobs() -> None:
    assert expected_render_seconds([], default=120) == 120
    assert expected_render_seconds([10, 20], default=120) == 120
    assert expected_render_seconds([10, 20, 30, 400], default=120) == 25
