"""How many RunComfy requests may be in flight: Little's law on the base round trip.

Carrying `rate` requests per second over a round trip of `rtt` seconds takes
`rate * rtt` requests in flight. A fixed 16 carried 320 requests/s over loopback
but 107/s to a RunComfy 150 ms away, less than 1,000 live jobs ask at their
busiest: their polls queued, and the lag went from p50 1.8 / p99 4.9 s to 2.4 /
8.2 s (`benchmarks.live_jobs --time-scale 1.0 --runcomfy-latency 0.15`). More in
flight over loopback made it worse (p50 2.3 s at 16, 2.7-3.2 s at 48): answers came
in bigger batches, and the event loop served them before the deliveries.

So the round trip that counts is the smallest seen over the last minute: the
distance to RunComfy, not a queue in our event loop or at RunComfy, which more
requests in flight would only lengthen.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
BUCKETS = 6  # the window slides a sixth at a time


class InFlightSizer:
    """The in-flight limit for a request rate, from the round trips it is told of."""

    def __init__(
        self,
        rate: float,
        *,
        floor: int,
        ceiling: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.floor = min(floor, ceiling)
        self.ceiling = ceiling
        self.limit = self.floor
        self.base_rtt: float | None = None
        self._clock = clock
        self._width = WINDOW_SECONDS / BUCKETS
        self._minima: deque[tuple[int, float]] = deque()  # (bucket, its smallest round trip)

    def observe(self, rtt: float) -> int | None:
        """Count one round trip; the new limit when it changes, else None."""
        bucket = int(self._clock() // self._width)
        minima = self._minima
        if minima and minima[-1][0] == bucket:
            if rtt >= minima[-1][1]:
                return None  # the common case: no new minimum, nothing to do
            minima[-1] = (bucket, rtt)
        else:
            minima.append((bucket, rtt))
            while minima[0][0] <= bucket - BUCKETS:
                minima.popleft()
        self.base_rtt = min(smallest for _, smallest in minima)
        wanted = min(self.ceiling, max(self.floor, math.ceil(self.rate * self.base_rtt)))
        if wanted == self.limit:
            return None
        self.limit = wanted
        return wanted
