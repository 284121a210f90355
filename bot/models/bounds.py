"""An image field's `validations`, read literally into the bounds the image checks use.

Rules such as `width_pixels< 6000`, `height_pixels> 300`, `width/height> 0.4`,
`file_size_mb< 30`: strict where the rule is strict, inclusive where it says `<=`/`>=`.
A rule the bot does not know is returned apart, so `check` can say it was ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import replace
from fractions import Fraction

from bot.images.bounds import ImageBounds
from bot.models.schema import Validation

_SIDE = re.compile(r"^(width|height)_?(?:pixels|px)(<=|>=|<|>)$")
_ASPECT = re.compile(r"^(width/height|height/width)(<=|>=|<|>)$")
_FILE = re.compile(r"^file_?size_?(mb|kb|bytes|b)(<=|<)$")
_FILE_UNITS = {"mb": 1_000_000, "kb": 1_000, "bytes": 1, "b": 1}
_FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def image_bounds(rules: Iterable[Validation]) -> tuple[ImageBounds, tuple[str, ...]]:
    """The bounds the rules state, and the rules it could not read (as written)."""
    bounds = ImageBounds()
    unknown: list[str] = []
    for rule in rules:
        updated = _apply(bounds, rule)
        if updated is None:
            unknown.append(f"{rule.rule} {rule.value:g}")
        else:
            bounds = updated
    return bounds, tuple(unknown)


def _apply(bounds: ImageBounds, rule: Validation) -> ImageBounds | None:
    if not math.isfinite(rule.value) or rule.value < 0:
        return None
    if side := _SIDE.match(rule.rule):
        return _side(bounds, side.group(2), rule.value)
    if aspect := _ASPECT.match(rule.rule):
        if rule.value == 0:
            return None
        op, value = aspect.group(2), Fraction(str(rule.value))
        if aspect.group(1) == "height/width":
            op, value = _FLIPPED[op], 1 / value
        return _aspect(bounds, op, value)
    if size := _FILE.match(rule.rule):
        limit = int(rule.value * _FILE_UNITS[size.group(1)])
        exclusive = limit if size.group(2) == "<" else limit + 1
        current = bounds.max_file_bytes
        return replace(
            bounds, max_file_bytes=exclusive if current is None else min(current, exclusive)
        )
    return None


def _side(bounds: ImageBounds, op: str, value: float) -> ImageBounds:
    """Width and height share one range: each rule narrows it (the stricter wins)."""
    if op in (">", ">="):
        above = math.floor(value) if op == ">" else math.ceil(value) - 1
        return replace(bounds, side_above=max(bounds.side_above, above))
    below = math.ceil(value) if op == "<" else math.floor(value) + 1
    current = bounds.side_below
    return replace(bounds, side_below=below if current is None else min(current, below))


def _aspect(bounds: ImageBounds, op: str, value: Fraction) -> ImageBounds:
    inclusive = op in ("<=", ">=")
    if op in (">", ">="):
        low = bounds.min_aspect
        if low is None or value > low or (value == low and not inclusive):
            return replace(bounds, min_aspect=value, min_aspect_inclusive=inclusive)
        return bounds
    high = bounds.max_aspect
    if high is None or value < high or (value == high and not inclusive):
        return replace(bounds, max_aspect=value, max_aspect_inclusive=inclusive)
    return bounds
