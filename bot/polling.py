"""When to ask RunComfy again: ETA-aware polling with jitter.

RunComfy has no webhooks, so this policy sets both the delivery lag and the
number of requests a job costs. Far from the expected end we poll sparsely;
near it densely, down to `min_delay`; past it, less densely the longer it
runs over, so a job that outlives its estimate does not cost 30 requests a minute.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

OVERDUE_FRACTION = 4  # past the ETA, wait a quarter of the overrun


@dataclass(frozen=True)
class PollPolicy:
    min_delay: float
    max_delay: float
    jitter: float = 0.1  # +/- fraction, so 1,000 jobs do not poll in lockstep

    def next_delay(self, *, now: float, expected_end: float | None, rng: random.Random) -> float:
        """Delay before the next status request.

        Halving the remaining time converges on the expected end in a few
        requests (60 s render: ~5 requests to get there). Once the job is due,
        a quarter of the time it has run over: the lag stays within a quarter
        of the overrun (and `min_delay` near the end), at a few requests.
        """
        if expected_end is None:
            base = self.max_delay
        elif now < expected_end:
            base = (expected_end - now) / 2
        else:
            base = (now - expected_end) / OVERDUE_FRACTION
        base = min(self.max_delay, max(self.min_delay, base))
        spread = base * self.jitter
        return max(self.min_delay * (1 - self.jitter), base + rng.uniform(-spread, spread))


def expected_render_seconds(past: Sequence[float], default: float) -> float:
    """Median of past renders of the same kind; the default when there are too few."""
    usable = [d for d in past if d > 0]
    if len(usable) < 3:
        return default
    return statistics.median(usable)
