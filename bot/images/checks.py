"""What the bytes really are: opened with our four formats only, decoded, measured.

Everything is decided from the bytes; the declared content type and the filename
are never trusted (they only pick a friendlier wording). Pillow work is kept cheap:
header facts and the pixel cap come from `Image.open` before any decoding.
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass, replace
from fractions import Fraction

from PIL import Image, ImageFile

from bot.images.bounds import (
    FORMATS,
    MAX_DOWNLOAD_BYTES,
    MAX_PIXELS,
    MIN_FITTABLE_SIDE,
    ImageBounds,
)
from bot.images.rejections import (
    DECLARED_KINDS,
    Figure,
    ImageRejected,
    aspect_digits,
    bomb,
    damaged,
    empty,
    not_image,
    ratio_figure,
    refusing_for,
    too_large_download,
    unreadable,
    unsupported,
)

log = logging.getLogger(__name__)

# What Pillow may raise on a file it cannot open or decode.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes PIL.UnidentifiedImageError and "image file is truncated"
    SyntaxError,  # Pillow's "broken PNG file" and friends
    ValueError,
    TypeError,
    IndexError,
    EOFError,
    struct.error,
)
_BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)

DECODE_BLOCK_BYTES = 4 << 20
_ORIENTATION_TAG = 0x0112
# The shapes an aspect refusal says fit (16:9, 4:3, 1:1, 3:4 and 9:16), when they all do.
COMMON_SHAPES = tuple(Fraction(w, h) for w, h in ((16, 9), (4, 3), (1, 1), (3, 4), (9, 16)))
_SWAPS_SIDES = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class ImageInfo:
    """What the bytes really are (first frame; pixel sizes as stored)."""

    format: str  # a key of FORMATS
    width: int
    height: int
    size_bytes: int
    mode: str
    frames: int
    orientation: int = 1  # EXIF orientation, 1 when absent

    @property
    def animated(self) -> bool:
        return self.frames > 1

    @property
    def display_size(self) -> tuple[int, int]:
        """The size as people see it, EXIF orientation applied."""
        if self.orientation in _SWAPS_SIDES:
            return self.height, self.width
        return self.width, self.height


# --- Declared metadata -------------------------------------------------------------


def precheck_metadata(
    *,
    filename: str,
    content_type: str | None,
    size: int,
    width: int | None,
    height: int | None,
    bounds: ImageBounds,
) -> None:
    """Refuse, before any download, what no fitting into `bounds` could fix.

    These are Discord's declared facts: good enough to save a pointless download,
    never enough to accept a file (the bytes are checked later).
    """
    with refusing_for(bounds):
        if size <= 0:
            raise empty()
        declared = (content_type or "").split(";", 1)[0].strip().lower()
        if declared and not declared.startswith("image/"):
            raise not_image(filename)
        if not width or not height:
            # Discord found no picture in it; name the type when it is a known one.
            kind = DECLARED_KINDS.get(declared)
            raise unsupported(filename, kind) if kind else not_image(filename)
        if size > MAX_DOWNLOAD_BYTES:
            raise too_large_download(size, bounds)
        check_geometry(width, height, bounds)


# --- The real bytes ----------------------------------------------------------------


def validate_image_bytes(data: bytes) -> ImageInfo:
    """Inspect and fully decode the first frame; refuse non-images, damage and bombs.

    Does not judge sizes or aspect: `prepare_image` does, since those may be fitted.
    """
    check_length(data, ImageBounds())
    with open_image(data) as img:
        info = read_header(img, len(data))
        decode(img, info)
        return replace(info, orientation=exif_orientation(img))


# --- Opening and decoding ------------------------------------------------------------


def check_length(data: bytes, bounds: ImageBounds) -> None:
    if not data:
        raise empty()
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise too_large_download(len(data), bounds)


def open_image(data: bytes, filename: str = "") -> Image.Image:
    """Open (header only) with our four formats' plugins and nothing else."""
    try:
        # Limiting the plugins keeps exotic decoders (EPS, PSD, ...) out of reach.
        img = Image.open(io.BytesIO(data), formats=tuple(FORMATS))
    except _BOMB_ERRORS:
        raise bomb(filename, None) from None
    except _DECODE_ERRORS:
        raise unreadable(data, filename) from None
    if img.width * img.height > MAX_PIXELS:
        size = img.size
        img.close()
        raise bomb(filename, size)
    return img


def read_header(img: Image.Image, size_bytes: int) -> ImageInfo:
    fmt = img.format or ""
    frames = getattr(img, "n_frames", 1)
    if fmt == "MPO":
        # Multi-picture JPEG (phones, 3D cameras): the first picture is a plain JPEG
        # that everything displays; the others are not animation frames.
        fmt, frames = "JPEG", 1
    return ImageInfo(
        format=fmt,
        width=img.width,
        height=img.height,
        size_bytes=size_bytes,
        mode=img.mode,
        frames=frames,
        orientation=exif_orientation(img),
    )


def decode(img: Image.Image, info: ImageInfo, filename: str = "") -> None:
    """Decode the first frame for real: a damaged file fails here, not at RunComfy."""
    # Bigger decoder blocks: Pillow takes the GIL back between blocks, and beside a busy
    # event loop each take waits a switch interval (the bytes are in memory already).
    if isinstance(img, ImageFile.ImageFile):
        img.decodermaxblock = max(img.decodermaxblock, DECODE_BLOCK_BYTES)
    try:
        img.load()
    except _BOMB_ERRORS:
        raise bomb(filename, (info.width, info.height)) from None
    except _DECODE_ERRORS:
        raise damaged(filename, info.format) from None


def check_content(
    img: Image.Image, info: ImageInfo, data: bytes, filename: str, *, fitting: bool
) -> None:
    """Find damage: a plain PNG by its chunks' checksums, any other image by decoding.

    Each PNG chunk carries a CRC-32 and the file must reach IEND, so `verify()` finds a
    truncated or altered PNG without the cost of decoding its pixels. Left to RunComfy, which fails
    the job: a PNG written broken by its encoder, with valid checksums. Decoded
    anyway: a PNG being fitted (its pixels are needed) or with an eXIf chunk, which may
    follow the pixels and is only read while decoding them.
    """
    if info.format == "PNG" and not fitting and b"eXIf" not in data:
        try:
            img.verify()
        except _DECODE_ERRORS:
            raise damaged(filename, info.format) from None
        return
    decode(img, info, filename)


def exif_orientation(img: Image.Image) -> int:
    """EXIF orientation 1..8 (1 when absent or unreadable), without forcing a decode."""
    if img.format == "PNG" and "exif" not in img.info:
        return 1  # Pillow would decode the whole PNG to look for a late eXIf chunk
    try:
        value = img.getexif().get(_ORIENTATION_TAG, 1)
    except _DECODE_ERRORS:
        log.debug("Unreadable EXIF ignored", exc_info=True)
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# --- Geometry ------------------------------------------------------------------------


def check_geometry(width: int, height: int, bounds: ImageBounds) -> None:
    """Refuse what fitting cannot fix: the aspect ratio, and sides far too small."""
    ratio = Fraction(width, height)
    if not bounds.aspect_ok(ratio):
        raise _aspect_refused(width, height, ratio, bounds)
    short_side = min(width, height)
    if short_side <= bounds.side_above and short_side < MIN_FITTABLE_SIDE:
        raise ImageRejected(
            "too_small",
            "image.rejected.too_small",
            width=width,
            height=height,
            min_side=bounds.side_above,
            min_fittable=MIN_FITTABLE_SIDE,
        )


def _aspect_refused(width: int, height: int, ratio: Fraction, bounds: ImageBounds) -> ImageRejected:
    low, high = bounds.min_aspect, bounds.max_aspect
    exact = ratio in (low, high)
    values: dict[str, object] = {"width": width, "height": height}
    values["ratio"] = ratio_figure(ratio, bounds)
    if low is not None:
        values["min_aspect"] = Figure(float(low), aspect_digits(low))
    if high is not None:
        values["max_aspect"] = Figure(float(high), aspect_digits(high))
    if low is not None and high is not None:
        key = "image.rejected.aspect_exact" if exact else "image.rejected.aspect"
        if not all(bounds.aspect_ok(shape) for shape in COMMON_SHAPES):
            key += "_narrow"  # the usual text says 16:9 ... 9:16 all fit
    else:
        key = "image.rejected.aspect_above" if low is not None else "image.rejected.aspect_below"
    return ImageRejected("aspect", key, **values)
