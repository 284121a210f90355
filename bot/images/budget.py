"""Memory for decoded pixels, shared by every image check in the process.

A file of a few kB can decode to hundreds of MB: each check reserves what it will hold
at its peak before decoding (its header says how much), waits in turn for room, and
gives it back when done. Waits happen on the event loop, never in a worker thread, so
the threads stay free for the work (and for DNS lookups, which use the same pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

# Bytes of decoded pixels held at once, all checks together: one image at the 64 Mpx
# header cap, stored in 4 bytes a pixel and fitted (about 400 MB), so eight bombs at
# once keep the bot under 600 MB; smaller images share it several at a time. Not a
# setting: less would refuse images the header cap lets through, more buys only
# parallel decodes of huge images, which are rare.
DECODE_BUDGET_BYTES = 420_000_000
# How long a check waits for room before the author is asked to try again.
BUDGET_WAIT_SECONDS = 60.0
# A check that held more hands its freed memory back to the system as it ends: glibc
# keeps what a thread freed in that thread's arena, so each thread of the pool would
# keep the largest image it ever decoded, and the budget would not be the truth.
GIVE_BACK_ABOVE_BYTES = 32 << 20


@dataclass
class _Waiter:
    size: int
    granted: asyncio.Future[None]


class PixelBudget:
    """Bytes reserved by the checks running now, at most `capacity`.

    Waiters are served in arrival order, so a big image is not overtaken forever by
    small ones. Used from one event loop at a time; not bound to any one loop.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0
        self._queue: deque[_Waiter] = deque()

    def fits(self, size: int) -> bool:
        """Could `size` ever be reserved (with nothing else held)?"""
        return size <= self.capacity

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @contextlib.asynccontextmanager
    async def reserve(self, size: int, *, within: float) -> AsyncIterator[None]:
        """Hold `size` bytes for the block; TimeoutError when no room came `within` s."""
        if not self.fits(size):
            raise ValueError(f"{size} bytes can never fit a budget of {self.capacity}")
        await self._acquire(size, within)
        try:
            yield
        finally:
            self._release(size)

    async def _acquire(self, size: int, within: float) -> None:
        if not self._queue and self.held + size <= self.capacity:
            self.held += size
            return
        waiter = _Waiter(size, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        try:
            async with asyncio.timeout(within):
                await waiter.granted
        except BaseException:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._release(size)  # granted as it gave up: pass it on
            else:
                self._queue.remove(waiter)
                self._grant()  # it may have been first in line, holding others back
            raise

    def _release(self, size: int) -> None:
        self.held -= size
        self._grant()

    def _grant(self) -> None:
        while self._queue and self.held + self._queue[0].size <= self.capacity:
            waiter = self._queue.popleft()
            self.held += waiter.size  # reserved on its behalf until it wakes
            waiter.granted.set_result(None)


def give_back_freed_memory() -> None:
    """Return the free pages of every malloc arena to the system (glibc; else nothing)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to give back
        return None
    return trim


# The process's one budget: every image check shares it.
DECODING = PixelBudget(DECODE_BUDGET_BYTES)
