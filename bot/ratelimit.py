"""A token bucket: at most `rate` starts per second, shared by every caller.

Used for Discord's global 50 requests/s (paced on the wire by the composition root)
and for the RunComfy request budget (the client), so 1,000 live jobs flood neither.
"""

from __future__ import annotations

import asyncio
import time


class RateBudget:
    """A token bucket shared by every sender: at most `rate` starts per second."""

    def __init__(self, rate: float, *, burst: int = 10) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)
