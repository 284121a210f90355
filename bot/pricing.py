"""What the configured model costs, and whether RunComfy still hosts it. Discord-free.

Read at start and refreshed every hour (RunComfy's own nodes read the price fresh:
prices change). The price is never guessed: until RunComfy has given one, there is
no estimate, and the bot shows none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.runcomfy import ModelInfo, RunComfyClient, RunComfyError

log = logging.getLogger(__name__)

# RunComfy's "bad model id"; a retired model answers it (with HTTP 404 or 400).
MODEL_MISSING_CODE = 400001


def is_missing_model(exc: RunComfyError) -> bool:
    return exc.error_code == MODEL_MISSING_CODE or exc.status_code == 404


def missing_model_alert(model_id: str) -> str:
    """Operator-facing: what is wrong and which setting fixes it."""
    return (
        f"RunComfy does not host the model {model_id!r} (any more): /animate refuses new jobs. "
        "Set RUNCOMFY_MODEL_ID to a model RunComfy hosts (check its schema matches) "
        "and restart the bot."
    )


class PriceWatch:
    """The model's price and presence, as RunComfy last said."""

    def __init__(
        self,
        runcomfy: RunComfyClient,
        *,
        model_id: str,
        refresh_seconds: float,
        alert: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.runcomfy = runcomfy
        self.model_id = model_id
        self.refresh_seconds = refresh_seconds
        # Where the operator hears of a missing model besides the log (the admin channel).
        self.alert = alert
        self.info: ModelInfo | None = None
        self.model_missing = False

    def estimate(self, duration: int) -> float | None:
        """What one video of `duration` seconds should cost; None when unknown."""
        if self.model_missing or self.info is None:
            return None
        return self.info.price_for(duration)

    async def refresh(self) -> None:
        """Ask RunComfy once. A transient failure keeps what was known."""
        try:
            info = await self.runcomfy.model()
        except RunComfyError as exc:
            if is_missing_model(exc):
                await self._now_missing()
            else:
                log.warning(
                    "Could not read the price of %s (%s); keeping the last", self.model_id, exc
                )
            return
        if self.model_missing:
            log.info("RunComfy hosts %s again; /animate accepts jobs", self.model_id)
        self.model_missing = False
        self.info = info
        log.info(
            "Price of %s: %s USD per %s",
            self.model_id,
            info.base_price_usd,
            info.price_unit or "unknown unit",
        )

    async def _now_missing(self) -> None:
        already = self.model_missing
        self.model_missing = True
        self.info = None
        if already:
            return  # told once, not every hour
        text = missing_model_alert(self.model_id)
        log.error("%s", text)
        if self.alert is not None:
            try:
                await self.alert(text)
            except Exception:
                log.warning("Could not post the missing-model alert to the admin channel")

    async def run(self) -> None:
        """Refresh every `refresh_seconds` until cancelled (the first read is at start)."""
        while True:
            await asyncio.sleep(self.refresh_seconds)
            await self.refresh()
