"""In a burst, commands waiting for their first status message go before background work.

One event loop serves everything: in a burst of commands, the last status message
would wait behind the submits and status edits of the jobs before it. While a burst
is arriving, work that can wait a little (a status edit that is not final, a submit
whose own message is up, the poll of a job far back in the queue) waits for it, never
more than `max_hold` seconds, so a steady stream starves nothing. Polls of rendering or
next-in-line jobs do not wait: a render start seen late skews every later poll of the
job, a render end seen late is lag."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable, Iterator

MAX_HOLD_SECONDS = 8.0
# Fewer commands on their way than this hold nothing: the loop has time for them, and
# one user's slow image download must not slow every job's polls.
BURST = 8


class Arrivals:
    def __init__(self, max_hold: float = MAX_HOLD_SECONDS, burst: int = BURST) -> None:
        self.max_hold = max_hold
        self.burst = burst
        self._arriving: set[Hashable] = set()
        self._clear = asyncio.Event()
        self._clear.set()

    @property
    def arriving(self) -> int:
        return len(self._arriving)

    def arrive(self, key: Hashable) -> None:
        """A command (by its key) is on its way to its status message."""
        self._arriving.add(key)
        if len(self._arriving) >= self.burst:
            self._clear.clear()

    def arrived(self, key: Hashable) -> None:
        """Its status message is up, or it will have none; again is harmless."""
        self._arriving.discard(key)
        if len(self._arriving) < self.burst:
            self._clear.set()

    @contextlib.contextmanager
    def arriving_command(self, key: Hashable) -> Iterator[None]:
        """`arrive` for the block; `arrived` when it ends, whichever way, if not before."""
        self.arrive(key)
        try:
            yield
        finally:
            self.arrived(key)

    async def let_through(self) -> None:
        """Return at once, or when the burst has arrived, or after `max_hold` seconds."""
        if not self._clear.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.max_hold):
                    await self._clear.wait()
