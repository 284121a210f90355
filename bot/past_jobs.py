"""What the finished jobs of a kind say about the next one. Discord-free.

A kind is a model and the options that change its render time (`Job.kind`, made by
`bot.models`: resolution, duration, audio where the model has them). Its past jobs give
the ETA a status message shows (median submit to finish; median render) and the
render-time distribution the polling follows (`RenderTimes`). Every poll and every
status edit asks, and the answers move slowly, so each kind's answer is cached and
refreshed by one query at a time: the trackers that find it stale together share that
query and its fit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.polling import RenderTimes, expected_render_seconds
from bot.store import JobStore

CACHE_SECONDS = 60.0
# Too few renders of a kind yet: look again soon, the first ones are finishing.
SPARSE_CACHE_SECONDS = 5.0

Kind = str
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class _Renders:
    median: float  # seconds, the default while there are too few
    times: RenderTimes | None  # None while there are too few


class SharedRefresh(Generic[K, V]):
    """A per-key cache whose stale entries are reloaded once, however many ask.

    `ttl(value)` says how long a value stays fresh. Callers arriving during a reload
    wait for it (shielded: one caller's cancel does not cancel the others' reload);
    a reload that fails fails its waiters and leaves nothing cached.
    """

    def __init__(
        self,
        load: Callable[[K], Awaitable[V]],
        ttl: Callable[[V], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._values: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Task[V]] = {}

    async def get(self, key: K) -> V:
        cached = self._values.get(key)
        if cached is not None and self._clock() - cached[0] < self._ttl(cached[1]):
            return cached[1]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._reload(key))
            # Its waiters may all be gone (a stop): its failure is theirs, not a warning.
            task.add_done_callback(_retrieve)
            self._loading[key] = task
        return await asyncio.shield(task)

    async def _reload(self, key: K) -> V:
        try:
            value = await self._load(key)
            self._values[key] = (self._clock(), value)
            return value
        finally:
            del self._loading[key]


def _retrieve(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()


class PastJobs:
    """ETA and render-time distribution per kind, from the store, cached per kind."""

    def __init__(self, store: JobStore, default_eta: float) -> None:
        self.store = store
        self.default_eta = default_eta
        self._durations: SharedRefresh[Kind, float] = SharedRefresh(
            self._load_duration, lambda _: CACHE_SECONDS
        )
        self._renders: SharedRefresh[Kind, _Renders] = SharedRefresh(
            self._load_renders,
            lambda renders: SPARSE_CACHE_SECONDS if renders.times is None else CACHE_SECONDS,
        )

    async def expected_duration(self, kind: Kind) -> float:
        """Median time from submit to finish of recent jobs of the kind (queue and render)."""
        return await self._durations.get(kind)

    async def expected_render(self, kind: Kind) -> float:
        """Median render of recent jobs of the kind, first `in_progress` seen to finish."""
        return (await self._renders.get(kind)).median

    async def render_times(self, kind: Kind) -> RenderTimes | None:
        """The render-time distribution of the kind; None while there are too few."""
        return (await self._renders.get(kind)).times

    async def _load_duration(self, kind: Kind) -> float:
        past = await self.store.recent_durations(kind=kind)
        return expected_render_seconds(past, self.default_eta)

    async def _load_renders(self, kind: Kind) -> _Renders:
        past = await self.store.recent_durations(kind=kind, from_start=True)
        return _Renders(expected_render_seconds(past, self.default_eta), RenderTimes.fit(past))
