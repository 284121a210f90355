"""Fitting an image into the model's bounds: the size to send, then a re-encode under a cap."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from PIL import Image

from bot.domain import ImageFacts
from bot.images.bands import REDUCING_GAP, web_frame
from bot.images.bounds import FIT_MAX_SIDE, FIT_MIN_SIDE, FORMATS, ImageBounds
from bot.images.checks import ImageInfo
from bot.images.rejections import Figure, ImageRejected

log = logging.getLogger(__name__)

# EXIF orientation -> the transposition that shows the image upright (as ImageOps does).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class PreparedImage:
    facts: ImageFacts
    data: bytes | None  # re-encoded bytes when fitted (re-host them); None: send the original
    content_type: str  # of `data` if fitted, else of the original bytes
    changes: tuple[str, ...] = ()  # why it was re-encoded, e.g. ("resized",); empty if not

    @property
    def fitted(self) -> bool:
        return self.data is not None


def fit_sides(bounds: ImageBounds) -> tuple[int, int]:
    """The sides fitting aims for (shortest, longest): our targets, inside the bounds."""
    low = bounds.side_above + 1
    high = None if bounds.side_below is None else bounds.side_below - 1
    longest = FIT_MAX_SIDE if high is None else min(FIT_MAX_SIDE, high)
    shortest = min(max(FIT_MIN_SIDE, low), longest)
    return shortest, longest


def target_size(
    width: int, height: int, bounds: ImageBounds, *, reencoding: bool
) -> tuple[int, int]:
    """The size to send: unchanged when in bounds, else scaled to a margin inside them.

    An image re-encoded anyway (rotated, first frame...) is also brought down to the
    longest fitting side: the model gains nothing from more, and the file is smaller.
    """
    long_side, short_side = max(width, height), min(width, height)
    shortest, longest = fit_sides(bounds)
    below = bounds.side_below
    if (below is not None and long_side >= below) or (reencoding and long_side > longest):
        return _scaled(width, height, longest / long_side, bounds)
    if short_side <= bounds.side_above:
        return _scaled(width, height, shortest / short_side, bounds)
    return width, height


def _scaled(width: int, height: int, scale: float, bounds: ImageBounds) -> tuple[int, int]:
    """Scale keeping the aspect ratio, then nudge by a pixel if rounding hit a bound."""
    # Limit the scale rather than clamp a side: clamping one side would distort.
    low = bounds.side_above + 1
    high = None if bounds.side_below is None else bounds.side_below - 1
    long_side, short_side = max(width, height), min(width, height)
    scale = max(scale, low / short_side)
    if high is not None:
        scale = min(scale, high / long_side)
    w, h = (max(round(side * scale), low) for side in (width, height))
    if high is not None:
        w, h = min(w, high), min(h, high)
    for _ in range(4):  # rounding moves the ratio by < 1 px: one nudge suffices
        if bounds.aspect_ok(Fraction(w, h)):
            break
        if bounds.min_aspect is not None and Fraction(w, h) <= bounds.min_aspect:
            w, h = (w + 1, h) if high is None or w + 1 <= high else (w, h - 1)
        else:
            w, h = (w, h + 1) if high is None or h + 1 <= high else (w - 1, h)
    if not bounds.fits(w, h):  # unreachable for images that passed check_geometry
        raise ValueError(f"cannot fit {width}x{height} at scale {scale}")
    return w, h


def plan(info: ImageInfo, bounds: ImageBounds) -> tuple[tuple[int, int], list[str]]:
    """The size to send (stored orientation), and why the original cannot go as is."""
    changes = []
    if not bounds.file_ok(info.size_bytes):
        changes.append("file too large")
    if info.animated:
        changes.append("first frame")  # send the still we checked, not the animation
    if info.orientation != 1:
        changes.append("rotated upright")  # EXIF rotation: raw pixels differ from display
    if info.mode in _FOREIGN_MODES:
        changes.append("converted to RGB")  # CMYK, 16-bit...: not safe for every decoder
    target = target_size(info.width, info.height, bounds, reencoding=bool(changes))
    if target != (info.width, info.height):
        changes.insert(0, "resized")
    return target, changes


# Modes re-encoded even when nothing else needs changing (PNG's 8-bit "1", L, LA, P,
# RGB, RGBA and JPEG's L and RGB are safe to pass as they are).
_FOREIGN_MODES = frozenset(
    {"CMYK", "YCbCr", "LAB", "HSV", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"}
)


# --- Fitting -------------------------------------------------------------------------


def fit(
    img: Image.Image,
    info: ImageInfo,
    target: tuple[int, int],
    changes: list[str],
    filename: str,
    *,
    bounds: ImageBounds,
    size_limit: int,
) -> PreparedImage:
    """Re-encode `img` (decoded) at `target`; its pixels are released once shrunk."""
    frame, icc = web_frame(img, target)
    img.close()  # the copies made while encoding need not sit beside the decoded image
    transpose = _TRANSPOSE.get(info.orientation)
    if transpose is not None:
        frame = frame.transpose(transpose)
    data, fmt, frame = _encode(frame, icc, bounds, size_limit)
    original = info.display_size
    facts = ImageFacts(
        filename=filename,
        format=fmt,
        width=frame.width,
        height=frame.height,
        size_bytes=len(data),
        fitted=True,
        original_width=original[0],
        original_height=original[1],
    )
    return PreparedImage(facts=facts, data=data, content_type=FORMATS[fmt], changes=tuple(changes))


def _encode(
    frame: Image.Image, icc: bytes | None, bounds: ImageBounds, size_limit: int
) -> tuple[bytes, str, Image.Image]:
    """Encode below `size_limit`, lowering quality, then size, until it fits."""
    for attempt, candidate in enumerate(_shrinking(frame, bounds)):
        for fmt, params in _encoders(candidate):
            out = io.BytesIO()
            if icc:
                params = {**params, "icc_profile": icc}
            candidate.save(out, format=fmt, **params)
            if out.tell() < size_limit:
                if attempt:
                    log.debug("Shrunk to %dx%d to fit %d bytes", *candidate.size, size_limit)
                return out.getvalue(), fmt, candidate
    raise ImageRejected(
        "too_large_file", "image.rejected.too_large_file", megabytes=Figure(size_limit / 1e6, 1)
    )


def _encoders(frame: Image.Image) -> Iterator[tuple[str, dict[str, Any]]]:
    """JPEG for opaque images; PNG, then lossy WebP, when there is transparency."""
    if frame.mode == "RGBA":
        yield "PNG", {"compress_level": 6}
        for quality in (90, 80, 70):
            yield "WEBP", {"quality": quality, "method": 4}
    else:
        for quality in (90, 80, 70, 60):
            yield "JPEG", {"quality": quality}


def _shrinking(frame: Image.Image, bounds: ImageBounds) -> Iterator[Image.Image]:
    """The frame, then smaller and smaller copies while they stay in bounds."""
    yield frame
    for _ in range(8):
        size = _scaled(frame.width, frame.height, 0.75, bounds)
        if size == frame.size:
            return
        frame = frame.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        yield frame
