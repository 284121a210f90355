"""A job polled in simulation: how many polls, and how late its video is seen."""

from __future__ import annotations

import random

from bot.polling import PollPolicy


def simulate(render_seconds: float, expected: float, policy: PollPolicy) -> tuple[int, float]:
    """Polls needed and delivery lag for a job that ends at `render_seconds`."""
    rng = random.Random(7)
    now = 0.0
    for polls in range(1, 1000):
        if now >= render_seconds:
            return polls, now - render_seconds
        now += policy.next_delay(now=now, expected_end=expected, rng=rng)
    raise AssertionError("never finished")
