"""Latest-state-wins updates, at most one per key per interval.

Status messages are edited through Discord, which allows about 5 edits per 5 s
per channel and 50 requests/s per bot. A job may change state faster than
that; only the newest state matters, so intermediate ones are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """Sends the latest value per key, no more often than `interval` seconds."""

    def __init__(
        self,
        send: Callable[[K, V], Awaitable[None]],
        *,
        interval: float,
        hold: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._send = send
        self._interval = interval
        # Awaited before each update that is not a key's last word (see bot/arrivals.py).
        self._hold = hold
        self._pending: dict[K, V] = {}
        self._last_sent: dict[K, float] = {}
        self._workers: dict[K, asyncio.Task[None]] = {}

    def submit(self, key: K, value: V) -> None:
        """Queue `value` for `key`, replacing any value not yet sent."""
        self._pending[key] = value
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._drain(key), name=f"coalesce:{key}")

    async def flush(self, key: K, value: V) -> None:
        """Send `value` now, cancelling any queued one; the key's last word.

        Final states must not wait, and nothing follows them: the key's state is
        dropped once sent, so finished keys cost nothing for the life of the process.
        """
        self._pending.pop(key, None)
        worker = self._workers.pop(key, None)
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        try:
            await self._deliver(key, value)
        finally:
            self._last_sent.pop(key, None)

    async def _drain(self, key: K) -> None:
        try:
            while key in self._pending:
                wait = self._last_sent.get(key, -1e9) + self._interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if self._hold is not None:
                    await self._hold()
                value = self._pending.pop(key, None)
                if value is None:
                    break
                await self._deliver(key, value)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]

    async def _deliver(self, key: K, value: V) -> None:
        self._last_sent[key] = time.monotonic()
        try:
            await self._send(key, value)
        except Exception:
            # One failed edit must not stop later ones; the sender decides fallbacks.
            log.exception("Update for %s failed", key)

    def forget(self, key: K) -> None:
        """Drop everything held for `key`, a queued value included."""
        self._pending.pop(key, None)
        self._last_sent.pop(key, None)
        worker = self._workers.pop(key, None)
        if worker is not None:
            worker.cancel()

    def keys(self) -> set[K]:
        """Keys with any state held: a queued value, a worker, or a recent send."""
        return self._pending.keys() | self._last_sent.keys() | self._workers.keys()

    def live_entries(self) -> int:
        return len(self.keys())

    async def close(self) -> None:
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        self._pending.clear()
