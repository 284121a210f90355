"""A token bucket: at most `rate` starts per second, shared by every caller.

Used for Discord's global 50 requests/s (paced on the wire by the composition root)
and for the RunComfy request budget (the client), so 1,000 live jobs flood neither.
Waiters are served in two lanes: an `urgent` caller (a `/result`, a poll that is
due now) never waits behind sparse ones that came within `sparse_patience`; within a
lane, first come first served. A sparse caller waiting longer goes first: at a busy
peak urgent polls never stop, and sparse ones must not starve.
With a `concurrency`, a start also needs a free slot (`release` frees it), so the
lanes order who gets the next free connection too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque

SPARSE_PATIENCE_SECONDS = 1.0


class RateBudget:
    """A token bucket shared by every sender: at most `rate` starts per second."""

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 10,
        concurrency: int | None = None,
        sparse_patience: float = SPARSE_PATIENCE_SECONDS,
    ) -> None:
        self.rate = rate
        self.sparse_patience = sparse_patience
        self.capacity = float(burst)
        self.concurrency = concurrency
        self._in_flight = 0  # started and not released (counted only with a concurrency)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._sparse: deque[asyncio.Future[None]] = deque()
        self._sparse_since: dict[asyncio.Future[None], float] = {}  # when each began to wait
        # A timer, not a task: nothing is left running when nobody waits.
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return len(self._urgent) + len(self._sparse)

    async def acquire(self, *, urgent: bool = False) -> None:
        """Wait for a token; urgent callers go before every sparse one."""
        self._refill()
        ahead = len(self._urgent) if urgent else self.waiting
        if not ahead and self._can_start():
            self._take()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent:
            self._urgent.append(waiter)
        else:
            self._sparse.append(waiter)
            self._sparse_since[waiter] = time.monotonic()
        self._schedule()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._tokens += 1  # granted as we were cancelled: give it back
                self._free_slot()
            else:
                for lane in (self._urgent, self._sparse):
                    with contextlib.suppress(ValueError):
                        lane.remove(waiter)
            self._sparse_since.pop(waiter, None)
            self._grant()
            raise

    def resize(self, concurrency: int) -> None:
        """A new number of starts that may be in flight; more waiters start at once."""
        self.concurrency = concurrency
        self._grant()

    def release(self) -> None:
        """A start made with a concurrency has finished: its slot goes to the next waiter."""
        self._free_slot()
        self._grant()

    def _can_start(self) -> bool:
        free = self.concurrency is None or self._in_flight < self.concurrency
        return free and self._tokens >= 1

    def _take(self) -> None:
        self._tokens -= 1
        if self.concurrency is not None:
            self._in_flight += 1

    def _free_slot(self) -> None:
        if self.concurrency is not None:
            self._in_flight -= 1

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def _grant(self) -> None:
        self._refill()
        while self._can_start():
            waiter = self._next_waiter()
            if waiter is None:
                break
            if not waiter.done():
                self._take()
                waiter.set_result(None)
        self._schedule()

    def _next_waiter(self) -> asyncio.Future[None] | None:
        """The sparse caller out of patience, else urgent ones, else sparse ones."""
        if self._sparse:
            first = self._sparse[0]
            if not self._urgent or (
                time.monotonic() - self._sparse_since.get(first, 0.0) >= self.sparse_patience
            ):
                self._sparse_since.pop(first, None)
                return self._sparse.popleft()
        return self._urgent.popleft() if self._urgent else None

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        # No timer while only the slots are short: `release` hands a slot on.
        if self.waiting and (self._tokens < 1 or self._can_start()):
            delay = max(0.0, (1 - self._tokens) / self.rate)
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._grant()
