"""Higher resolutions of a job: another value of its model's resolution option, or a
sibling model whose id names a higher one (`.../720p` -> `.../1080p`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain import Options, Scalar
from bot.models.model import VideoModel

RESOLUTION = re.compile(r"^(\d{3,4}p|[248]k)$", re.IGNORECASE)
_K_LINES = {"2k": 1440, "4k": 2160, "8k": 4320}


def lines(resolution: object) -> int | None:
    """ "720p" -> 720, "4k" -> 2160; None for what is not a resolution."""
    if not isinstance(resolution, str) or not RESOLUTION.match(resolution):
        return None
    text = resolution.lower()
    return _K_LINES.get(text) or int(text[:-1])


@dataclass(frozen=True)
class Rendition:
    """A job again at another resolution: its model (maybe a sibling) and options."""

    resolution: str
    model: VideoModel
    options: Options


def current(model: VideoModel, options: Mapping[str, Scalar]) -> str | None:
    value = model.value(options, "resolution")
    return value if isinstance(value, str) else model.resolution_in_id


def higher(
    model: VideoModel, options: Mapping[str, Scalar], offered: Sequence[VideoModel]
) -> list[Rendition]:
    """The renditions above the job's resolution, lowest first, among `offered` models."""
    now = lines(current(model, options))
    if now is None:
        return []
    found: dict[str, Rendition] = {}
    option = model.option("resolution")
    if option is not None:
        for value in option.choices:
            if isinstance(value, str) and (lines(value) or 0) > now:
                found[value.lower()] = Rendition(value, model, {**options, option.field: value})
    else:
        for sibling in _siblings(model, offered):
            resolution = sibling.resolution_in_id
            if resolution is not None and (lines(resolution) or 0) > now:
                found.setdefault(resolution, Rendition(resolution, sibling, sibling.carry(options)))
    return sorted(found.values(), key=lambda r: lines(r.resolution) or 0)


def at(
    model: VideoModel,
    options: Mapping[str, Scalar],
    resolution: str,
    offered: Sequence[VideoModel],
) -> Rendition | None:
    """The job again at `resolution`, if a model offered here makes it."""
    return next(
        (r for r in higher(model, options, offered) if r.resolution == resolution.lower()), None
    ) or next((r for r in higher(model, options, offered) if r.resolution == resolution), None)


def _siblings(model: VideoModel, offered: Sequence[VideoModel]) -> list[VideoModel]:
    """Models whose ids differ from `model`'s only by the resolution at their end."""
    family = model.model_id.rsplit("/", 1)[0]
    return [
        m
        for m in offered
        if m.model_id != model.model_id
        and m.model_id.rsplit("/", 1)[0] == family
        and m.resolution_in_id is not None
    ]
