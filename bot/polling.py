"""When to ask RunComfy again: ETA-aware polling with jitter.

RunComfy has no webhooks, so this policy sets both the delivery lag and the
number of requests a job costs. Far from the expected end we poll sparsely;
near it (and past it) densely, at `min_delay`.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    min_delay: float
    max_delay: float
    jitter: float = 0.1  # +/- fraction, so 1,000 jobs do not poll in lockstep

    def next_delay(self, *, now: float, expected_end: float | None, rng: random.Random) -> float:
        """Delay before the next status request.

        Halving the remaining time converges on the expected end in a few
        requests (60 s render: ~5 requests to get there), then `min_delay`
        bounds the lag once the job is due.
        """
        base = self.max_delay if expected_end is None else (expected_end - now) / 2
        base = min(self.max_delay, max(self.min_delay, base))
        spread = base * self.jitter
        return max(self.min_delay * (1 - self.jitter), base + rng.uniform(-spread, spread))


def expected_render_seconds(past: Sequence[float], default: float) -> float:
    """Median of past renders of the same kind; the default when there are too few."""
    usable = [d for d in past if d > 0]
    if len(usable) < 3:
        return default
    return statistics.median(usable)
