"""What a video will cost, as the bot shows it ("≈") and as spend caps count it. Discord-free.

Per kind (a model and the options that change its render: resolution, duration,
audio): once the bot has delivered a few videos of a kind with RunComfy's reported
`cost`, the highest of the latest decides; before that, `bot.models.estimate` errs high,
never low. A job's estimate is written with it and counts against the caps until its
real cost is known; a job that ends without one (timed out, lost) keeps counting it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from bot.domain import Scalar
from bot.models.estimate import first_estimate
from bot.models.model import VideoModel
from bot.past_jobs import SharedRefresh

# Delivered costs of a kind the bot waits for before they decide (few: prices move).
LEARNED_AFTER = 3
LEARNED_FROM = 10
CACHE_SECONDS = 60.0


class CostStore(Protocol):
    async def recent_costs(self, kind: str, *, limit: int, since: float = 0.0) -> list[float]: ...


class Pricing:
    def __init__(
        self, store: CostStore, price_since: Callable[[str], float] = lambda _: 0.0
    ) -> None:
        self.store = store
        # Since when a model has had its current price: costs billed before it do not
        # decide (a tenfold rise let a budget admit ten times what it holds).
        self.price_since = price_since
        self._learned: SharedRefresh[tuple[str, float], float | None] = SharedRefresh(
            self._load, lambda _: CACHE_SECONDS
        )

    async def estimate(self, model: VideoModel, options: Mapping[str, Scalar]) -> float | None:
        """A video's expected cost in US dollars; None when nothing honest can be said."""
        learned = await self._learned.get((model.kind(options), self.price_since(model.model_id)))
        return learned if learned is not None else first_estimate(model, options)

    async def quote(self, model: VideoModel) -> float | None:
        """What a video with the model's defaults costs (shown beside its name)."""
        return await self.estimate(model, model.defaults())

    async def _load(self, key: tuple[str, float]) -> float | None:
        kind, since = key
        costs = await self.store.recent_costs(kind, limit=LEARNED_FROM, since=since)
        learned = max(costs) if len(costs) >= LEARNED_AFTER else None
        # Videos reported free (credits, or nonsense) say nothing of what the next cost.
        return learned if learned is not None and learned > 0 else None
