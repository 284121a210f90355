"""A token bucket: at most `rate` starts per second, shared by every caller.

Used for Discord's global 50 requests/s (paced on the wire by the composition root)
and for the RunComfy request budget (the client), so 1,000 live jobs flood neither.
Waiters are served in two lanes: an `urgent` caller (a `/result`, a poll that is
due now) never waits behind sparse ones; within a lane, first come first served.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque


class RateBudget:
    """A token bucket shared by every sender: at most `rate` starts per second."""

    def __init__(self, rate: float, *, burst: int = 10) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._sparse: deque[asyncio.Future[None]] = deque()
        # A timer, not a task: nothing is left running when nobody waits.
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return len(self._urgent) + len(self._sparse)

    async def acquire(self, *, urgent: bool = False) -> None:
        """Wait for a token; urgent callers go before every sparse one."""
        self._refill()
        ahead = len(self._urgent) if urgent else self.waiting
        if not ahead and self._tokens >= 1:
            self._tokens -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._sparse).append(waiter)
        self._schedule()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._tokens += 1  # granted as we were cancelled: give it back
            else:
                for lane in (self._urgent, self._sparse):
                    with contextlib.suppress(ValueError):
                        lane.remove(waiter)
            self._grant()
            raise

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def _grant(self) -> None:
        self._refill()
        for lane in (self._urgent, self._sparse):
            while lane and self._tokens >= 1:
                waiter = lane.popleft()
                if not waiter.done():
                    self._tokens -= 1
                    waiter.set_result(None)
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.waiting:
            delay = max(0.0, (1 - self._tokens) / self.rate)
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._grant()
