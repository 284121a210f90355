"""Whose image is read now: one at a time per user, a few at a time in all.

Images are downloaded a few at a time (up to 50 MB each; decoding is bounded by the
process's decoding budget, `budget.py`). A user's next image waits for their previous
one before the download and the shared slots, so a burst of theirs holds no memory and
delays only them; it waits rather than being refused, since two pictures sent in a row
should both be animated.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

from bot.images.rejections import busy

# Images read at once, all users together.
PREPARING_AT_ONCE = 8
# A user's next image waits this long for their previous ones (each bounded by the
# download timeout and the decoding budget's wait) before they are asked to try again.
IMAGE_TURN_WAIT_SECONDS = 120.0


class ImageTurns:
    """One image at a time per user, at most `at_once` in all."""

    def __init__(
        self, *, at_once: int = PREPARING_AT_ONCE, turn_wait: float = IMAGE_TURN_WAIT_SECONDS
    ) -> None:
        self.turn_wait = turn_wait
        self._slots = asyncio.Semaphore(at_once)
        # A user's lock lives while one of their images is read or waits for its turn.
        self._turns: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def users(self) -> int:
        """Users with an image being read or waiting for its turn now."""
        return len(self._turns)

    @contextlib.asynccontextmanager
    async def reading(self, user_id: int) -> AsyncIterator[None]:
        """Hold `user_id`'s turn, then a shared slot, for the block.

        Raises `ImageRejected` ("busy") when their turn did not come within `turn_wait`.
        """
        async with self._turn(user_id), self._slots:
            yield

    @contextlib.asynccontextmanager
    async def _turn(self, user_id: int) -> AsyncIterator[None]:
        turn = self._turns.setdefault(user_id, asyncio.Lock())
        try:
            async with asyncio.timeout(self.turn_wait):
                await turn.acquire()
        except TimeoutError:
            raise busy() from None
        try:
            yield
        finally:
            turn.release()
