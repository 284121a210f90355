"""What a video should cost before the bot has seen any of its kind: an estimate that errs high.

RunComfy gives a model's `base_price_usd` per `second` of video or per `output`, and says
that resolution, audio and duration change the bill, with no way to quote it exactly.
Seedance-like models bill tokens in proportion to width × height × duration, so the base
price is taken as the cheapest resolution's and a higher one scales by its pixels
(720p ≈ 2.25×, 1080p ≈ 5.1× a 480p video: above the 2.2× and 4.8× of the frame sizes).
Audio's share is unknown on RunComfy (about 2× on other hosts): it doubles the estimate.
Once the bot has delivered costs of a kind, those decide (`bot.pricing`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.domain import Scalar
from bot.models.model import VideoModel

AUDIO_FACTOR = 2.0
_LINES = re.compile(r"^(\d{3,4})p$", re.IGNORECASE)
_K = {"2k": 1440, "4k": 2160, "8k": 4320}


def first_estimate(model: VideoModel, options: Mapping[str, Scalar]) -> float | None:
    """The estimate in US dollars; None when the model gives no price the bot can use."""
    price, unit = model.base_price_usd, model.price_unit
    # No hosted video is free: a zero price is a catalog's slip, and estimating $0 would
    # let every budget admit without end.
    if price is None or price <= 0 or unit not in ("second", "output"):
        return None
    estimate = price
    if unit == "second":
        seconds = model.value(options, "duration")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            return None  # the video's length is unknown: no honest estimate
        estimate *= float(seconds)
    estimate *= _resolution_factor(model, options)
    if model.value(options, "audio") is True:
        estimate *= AUDIO_FACTOR
    return estimate


def _resolution_factor(model: VideoModel, options: Mapping[str, Scalar]) -> float:
    option = model.option("resolution")
    if option is None:
        return 1.0  # the price is the model's own (a resolution in its id, or none)
    lines = [n for n in (_lines(c) for c in option.choices) if n is not None]
    if not lines:
        return 1.0
    chosen = _lines(options.get(option.field))
    cheapest = min(lines)
    top = max(lines) if chosen is None else chosen
    return (top / cheapest) ** 2


def _lines(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text in _K:
        return _K[text]
    match = _LINES.match(text)
    return int(match.group(1)) if match else None
