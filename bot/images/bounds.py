"""What an input image must meet: a model's bounds (read from its schema), and our own limits.

`ImageBounds` is what the model layer derives from an image field's `validations`; the
checks and the fitting take it as an argument. Our own limits protect the bot itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class ImageBounds:
    """A model's rules for its input image, every bound read literally.

    Sides are whole pixels: each side more than `side_above` and less than `side_below`
    (a `>=` or `<=` rule is stored as the integer bound it means). Width and height share
    them: a schema with different rules for each keeps the stricter, so an image we send
    always passes. Aspect limits are exact fractions; `max_file_bytes` is exclusive.
    """

    side_above: int = 0
    side_below: int | None = None
    min_aspect: Fraction | None = None
    max_aspect: Fraction | None = None
    min_aspect_inclusive: bool = False
    max_aspect_inclusive: bool = False
    max_file_bytes: int | None = None

    def sides_ok(self, width: int, height: int) -> bool:
        below = self.side_below
        return all(
            side > self.side_above and (below is None or side < below) for side in (width, height)
        )

    def aspect_ok(self, ratio: Fraction) -> bool:
        low, high = self.min_aspect, self.max_aspect
        if low is not None and (ratio < low or (ratio == low and not self.min_aspect_inclusive)):
            return False
        return high is None or not (
            ratio > high or (ratio == high and not self.max_aspect_inclusive)
        )

    def fits(self, width: int, height: int) -> bool:
        return self.sides_ok(width, height) and self.aspect_ok(Fraction(width, height))

    def file_ok(self, size_bytes: int) -> bool:
        return self.max_file_bytes is None or size_bytes < self.max_file_bytes

    def admits_an_image(self) -> bool:
        """Whether any image meets every bound: a schema may state a minimum above its
        maximum, or shapes its sides cannot make."""
        low_side = self.side_above + 1
        high_side = None if self.side_below is None else self.side_below - 1
        if high_side is not None and high_side < low_side:
            return False
        # The shapes the sides can make (from the tallest to the widest), within the limits.
        lo = self.min_aspect or Fraction(0)
        hi = self.max_aspect
        if high_side is not None:
            lo = max(lo, Fraction(low_side, high_side))
            hi = (
                Fraction(high_side, low_side)
                if hi is None
                else min(hi, Fraction(high_side, low_side))
            )
        return hi is None or lo < hi or (lo == hi and self.aspect_ok(lo))


# --- Our own limits ---------------------------------------------------------------
# Attachments above this are not even downloaded (30..50 MB gets re-encoded below 30).
MAX_DOWNLOAD_BYTES = 50_000_000
# A side below this is too small to enlarge into something worth animating.
MIN_FITTABLE_SIDE = 150
# Decompression-bomb cap, checked from the header before decoding: our own number, so
# we never depend on Pillow's global default.
MAX_PIXELS = 64_000_000
# Fitting targets, kept inside a model's bounds: no model makes videos past 1920 px, so
# 2560 loses nothing, keeps the re-hosted file small and lets draft() decode a large JPEG
# at reduced scale.
FIT_MAX_SIDE = 2560
FIT_MIN_SIDE = 320

FORMATS: dict[str, str] = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
