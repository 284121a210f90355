"""The process pool that re-encodes videos, off the bot's process and at a lower priority."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.queues import SimpleQueue
from pathlib import Path

from bot.video.fitting import FitFailure, FitResult, fit

log = logging.getLogger(__name__)

POOL_GRACE_SECONDS = 10.0
# Workers yield the CPU to the bot process: acks and tracking beat a faster encode.
WORKER_NICENESS = 10


class VideoWorkers:
    """A few worker processes for `fit`, so encoding never blocks the event loop.

    At most `workers` videos encode at once (the rest wait their turn, off the
    clock); each gets `timeout_seconds`, enforced inside the worker between
    packets, with a grace period here in case a worker hangs inside FFmpeg.
    """

    def __init__(self, workers: int, timeout_seconds: float) -> None:
        self.workers = workers
        self.timeout_seconds = timeout_seconds
        self._slots = asyncio.Semaphore(workers)
        self._pool: ProcessPoolExecutor | None = None
        # Each worker sends its pid at start: the executor has no public way to stop a
        # running call, so close() terminates the workers by pid.
        self._worker_pids: SimpleQueue[int] | None = None

    async def fit(self, src: Path, dest: Path, limit_bytes: int) -> FitResult:
        async with self._slots:
            if self._pool is None:
                # spawn, not fork: the bot has threads (aiosqlite, to_thread) a fork would copy.
                context = multiprocessing.get_context("spawn")
                self._worker_pids = context.SimpleQueue()
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=context,
                    initializer=_start_worker,
                    initargs=(self._worker_pids,),
                )
            loop = asyncio.get_running_loop()
            call = loop.run_in_executor(
                self._pool, _fit_in_worker, str(src), str(dest), limit_bytes, self.timeout_seconds
            )
            try:
                return await asyncio.wait_for(call, self.timeout_seconds + POOL_GRACE_SECONDS)
            except TimeoutError:
                log.warning("Fitting %s did not finish in time", src.name)
                return FitResult(ok=False, failure=FitFailure.TIMEOUT)
            except BrokenProcessPool:
                # A worker died (killed, out of memory): the next video gets a fresh pool.
                log.error("A video worker died while fitting %s", src.name)
                self._pool = None
                return FitResult(ok=False, failure=FitFailure.UNREADABLE)

    def close(self) -> None:
        """Stop the workers now, mid-encode too: the job stays `completed` and a restart
        fits it again, which beats holding the shutdown for minutes."""
        pool, self._pool = self._pool, None
        pids, self._worker_pids = self._worker_pids, None
        if pool is None or pids is None:
            return
        pool.shutdown(wait=False, cancel_futures=True)
        while not pids.empty():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pids.get(), signal.SIGTERM)
        pool.shutdown(wait=True)
        pids.close()


def _start_worker(pids: SimpleQueue[int]) -> None:
    pids.put(os.getpid())
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


def _fit_in_worker(src: str, dest: str, limit_bytes: int, timeout_seconds: float) -> FitResult:
    return fit(Path(src), Path(dest), limit_bytes, timeout_seconds=timeout_seconds)
