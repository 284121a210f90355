"""How many RunComfy requests may be in flight: Little's law on the base round trip.

Carrying `rate` requests per second over a round trip of `rtt` seconds takes
`rate * rtt` requests in flight: a fixed number starves a RunComfy far away, and
more than needed nearby only makes answers come in bigger batches.

So the round trip that counts is the smallest seen over the last minute: the
distance to RunComfy, not a queue in our event loop or at RunComfy, which more
requests in flight would only lengthen. A round trip measured while our event loop
ran late says how busy we are, not how far RunComfy is (`LATE_SHARE`), and the first
ones open connections (`MIN_SAMPLES`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 60.0
BUCKETS = 6  # the window slides a sixth at a time
# A round trip is not counted when the loop ran this share of it late or more.
LATE_SHARE = 0.25
# Round trips in the window before the limit moves: the first ones open connections.
MIN_SAMPLES = 32
LATENESS_PERIOD = 0.1  # seconds between two looks at the event loop's lateness


@dataclass(slots=True)
class _Bucket:
    """A sixth of the window: its smallest round trip and how many were counted."""

    index: int
    smallest: float
    counted: int = 1


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
        self._buckets: deque[_Bucket] = deque()
        self._counted = 0  # round trips in the window

    def observe(self, rtt: float, *, lateness: float = 0.0) -> int | None:
        """Count one round trip; the new limit when it changes, else None.

        `lateness`: how late the event loop ran lately (`Lateness`).
        """
        if lateness >= rtt * LATE_SHARE:
            return None
        index = int(self._clock() // self._width)
        buckets = self._buckets
        self._counted += 1
        if buckets and buckets[-1].index == index:
            last = buckets[-1]
            last.counted += 1
            # The common case: no new minimum, nothing to do (unless the count has
            # just become enough to decide by).
            if rtt >= last.smallest and self._counted != MIN_SAMPLES:
                return None
            last.smallest = min(last.smallest, rtt)
        else:
            buckets.append(_Bucket(index, rtt))
            while buckets[0].index <= index - BUCKETS:
                self._counted -= buckets.popleft().counted
        if self._counted < MIN_SAMPLES:
            return None
        self.base_rtt = min(b.smallest for b in buckets)
        wanted = min(self.ceiling, max(self.floor, math.ceil(self.rate * self.base_rtt)))
        if wanted == self.limit:
            return None
        self.limit = wanted
        return wanted


class Lateness:
    """How late the event loop runs a timer, looked at every LATENESS_PERIOD s.

    `watch` on each request keeps it looking; a period without one stops it.
    """

    def __init__(self, period: float = LATENESS_PERIOD) -> None:
        self.period = period
        self.last = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._asked = False

    def watch(self) -> None:
        self._asked = True
        if self._handle is None:
            self._next(asyncio.get_running_loop())

    def _next(self, loop: asyncio.AbstractEventLoop) -> None:
        due = loop.time() + self.period
        self._handle = loop.call_at(due, self._tick, loop, due)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        # A peak that fades over a few looks: one on-time timer in a busy stretch
        # must not make its round trips count.
        self.last = max(loop.time() - due, self.last / 2)
        if self._asked:
            self._asked = False
            self._next(loop)
        else:
            self._handle = None  # idle: no timer left behind
