"""An image's pixels in a web mode (L, RGB, RGBA) at the size to send, in bands of rows.

Decoding holds an image in its own mode (a palette's pixel is one byte). Converting all
of it to RGBA before resizing held four more bytes a pixel, and the resize another copy.
Here each band of rows is converted, box-reduced and resized across on its own, and only
the narrowed rows wait for the resize down: the steps `Image.resize` takes with a
`reducing_gap`, in its order, so the pixels are the same.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageCms

log = logging.getLogger(__name__)

# A box reduce to within twice the target first, then Lanczos: several times faster on
# big images than Lanczos alone, and visually the same.
REDUCING_GAP = 2.0
# Source rows converted at once: small next to a big image, yet few turns of Python.
BAND_BYTES = 4 << 20
# Pillow stores these modes in one or two bytes a pixel, every other one in four.
_STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_WITH_ALPHA = frozenset({"P", "PA", "LA", "La", "RGBA", "RGBa"})
_GREY_WITH_ALPHA = frozenset({"LA", "La"})


def stored_bytes(mode: str) -> int:
    """Bytes a pixel of `mode` takes in memory once decoded."""
    return _STORED_BYTES.get(mode, 4)


def reducing_factors(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """The box reduce `Image.resize` does first with our gap (1: none)."""
    return tuple(  # type: ignore[return-value]
        int(side / wanted / REDUCING_GAP) or 1 for side, wanted in zip(size, target, strict=True)
    )


def band_rows(width: int, factor_y: int) -> int:
    """Rows in a band: about BAND_BYTES of RGBA, a whole number of reduce boxes."""
    rows = max(1, BAND_BYTES // (4 * width))
    return max(factor_y, rows // factor_y * factor_y)


def working_bytes(size: tuple[int, int], mode: str, target: tuple[int, int]) -> int:
    """What `web_frame` holds beside the decoded image, at most (bytes)."""
    width, height = size
    _factor_x, factor_y = reducing_factors(size, target)
    rows = band_rows(width, factor_y)
    # A band: cropped, converted to RGBA, premultiplied (the reduced copies are smaller).
    band = width * rows * (stored_bytes(mode) + 4 + 4)
    narrowed = target[0] * math.ceil(height / factor_y) * 4
    # The frame at its size, and its copy in the final mode.
    frames = 2 * target[0] * target[1] * 4
    return band + narrowed + frames


@dataclass(frozen=True)
class _Conversion:
    """How a band of the source becomes the mode the frame is resized in."""

    convert: Callable[[Image.Image], Image.Image]
    icc: bytes | None  # the profile still valid for the result


def web_frame(img: Image.Image, target: tuple[int, int]) -> tuple[Image.Image, bytes | None]:
    """`img` (decoded) at `target` in L, RGB or RGBA; the ICC profile still valid for it.

    Transparency is judged on every source pixel: an opaque image comes out in L or RGB.
    """
    conversion = _conversion(img)
    width, height = img.size
    resizing = img.size != target
    alpha = img.mode in _WITH_ALPHA
    factor_x, factor_y = reducing_factors(img.size, target) if resizing else (1, 1)
    rows = band_rows(width, factor_y)
    # Image.resize resizes RGBA premultiplied (RGBa): so do we, then convert back.
    working = ("RGBa" if resizing else "RGBA") if alpha else None
    narrowed: Image.Image | None = None
    opaque = True
    for top in range(0, height, rows):
        band = conversion.convert(img.crop((0, top, width, min(height, top + rows))))
        if alpha:
            low, _high = band.getchannel("A").getextrema()
            opaque = opaque and low == 255
            band = band.convert(working) if working != band.mode else band
        if resizing:
            if factor_x > 1 or factor_y > 1:
                band = band.reduce((factor_x, factor_y))
            across = (0, 0, width / factor_x, band.height)
            band = band.resize((target[0], band.height), Image.Resampling.LANCZOS, box=across)
        if narrowed is None:
            narrowed = Image.new(band.mode, (band.width, math.ceil(height / factor_y)))
        narrowed.paste(band, (0, top // factor_y))
        del band
    assert narrowed is not None  # an image has at least one row
    frame = narrowed
    if resizing:
        down = (0, 0, target[0], height / factor_y)
        frame = narrowed.resize(target, Image.Resampling.LANCZOS, box=down)
    del narrowed
    if not alpha:
        return frame, conversion.icc
    frame = frame.convert("RGBA") if frame.mode != "RGBA" else frame
    grey = img.mode in _GREY_WITH_ALPHA
    if opaque:
        return frame.convert("L" if grey else "RGB"), conversion.icc
    # A grey profile does not describe an RGBA result; RGB ones still do.
    return frame, None if grey else conversion.icc


def _conversion(img: Image.Image) -> _Conversion:
    """Per mode: a band of it to L, RGB or RGBA, and the profile still valid then."""
    mode = img.mode
    icc = img.info.get("icc_profile") or None
    if mode == "CMYK":
        return _Conversion(_cmyk_to_srgb(icc), None)
    if mode.startswith("I") or mode == "F":
        # 16/32-bit grey: scale to 8 bits (a plain convert would clip at 255).
        return _Conversion(lambda band: band.point(lambda v: v * (1 / 256)).convert("L"), icc)
    if mode in ("1", "L"):
        return _Conversion(lambda band: band.convert("L"), icc)
    if mode == "RGB":
        return _Conversion(lambda band: band, icc)
    if mode in _WITH_ALPHA:
        return _Conversion(lambda band: band.convert("RGBA"), icc)
    return _Conversion(lambda band: band.convert("RGB"), None)  # YCbCr, LAB, HSV


def _cmyk_to_srgb(icc: bytes | None) -> Callable[[Image.Image], Image.Image]:
    """Through the embedded profile when there is one; a naive convert loses colours."""
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            transform = ImageCms.buildTransform(source, srgb, "CMYK", "RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            log.debug("Unusable CMYK profile; converting without it", exc_info=True)
        else:
            return lambda band: ImageCms.applyTransform(band, transform) or band.convert("RGB")
    return lambda band: band.convert("RGB")
